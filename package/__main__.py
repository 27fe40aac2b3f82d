"""`python -m designed_alliance` and the `alliance` script.

`--version` is answered here, before click and the CLI module are imported: a version check
from a script or a package manager should cost a bare interpreter start, not the CLI's.
"""

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from designed_alliance import __version__

        print(f"alliance, version {__version__}")  # the words click's version_option prints
        return
    from designed_alliance.core import patterns

    patterns.preload()  # before click, jinja2 and tomllib compile theirs
    from designed_alliance.core.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
