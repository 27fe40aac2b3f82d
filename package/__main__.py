"""`python -m designed_alliance` and the `alliance` script.

`--version` is answered here, before click and the CLI module are imported: a version check
from a script or a package manager should cost a bare interpreter start, not the CLI's.
Every other command starts with the kept regular expressions (core/patterns.py) and ends
without the interpreter's teardown (`_leave`).
"""

import sys
from typing import NoReturn


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from designed_alliance import __version__

        print(f"alliance, version {__version__}")  # the words click's version_option prints
        return
    from designed_alliance.core import patterns

    patterns.preload()  # before click, jinja2 and tomllib compile theirs
    from designed_alliance.core.cli import main as cli_main

    try:
        cli_main()
    except SystemExit as done:
        _leave(done)


def _leave(done: SystemExit) -> NoReturn:
    """End the process as the interpreter ends it after `done`, without its teardown.

    Why: once a command has finished, the interpreter frees every module and object it
    loaded, one by one — about 38 ms of a small setup's 230 ms of CPU, a sixth, for memory
    the operating system takes back whole when the process ends. What the process must
    still do is done here, as the interpreter does it: the atexit functions run (our cache
    files, logging's flush, coverage's data, temporary folders), stdout and stderr are
    flushed, and the status is the one `sys.exit` would give. Files are closed by the code
    that wrote them, before this; the state database by its finalizer, which is one of the
    exit functions (core/state.py).

    The interpreter's own exit is taken wherever this could end differently: another thread
    still running (the interpreter waits for it), a stream that cannot be flushed (it
    reports that and exits 120), `-i` (an interactive prompt follows), development mode
    (it reports unclosed files while tearing down), or an interpreter without
    `atexit._run_exitfuncs`.
    """
    import atexit
    import os
    import threading

    run_exit_functions = getattr(atexit, "_run_exitfuncs", None)
    if (run_exit_functions is None or threading.active_count() > 1 or sys.flags.inspect
            or sys.flags.dev_mode):
        raise done
    code = done.code
    if code is None:
        status = 0
    elif isinstance(code, int):
        if not -2**31 <= code < 2**31:  # beyond a C int: the interpreter's own rule
            raise done
        status = code
    else:  # what the interpreter does with sys.exit("text")
        print(code, file=sys.stderr)
        status = 1
    run_exit_functions()  # and clears them: the fallback below does not run them twice
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # e.g. a closed pipe: the interpreter's message and status
        raise SystemExit(status) from None
    os._exit(status)


if __name__ == "__main__":
    main()
