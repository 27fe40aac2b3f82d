from designed_alliance.core.cli import main

main()
