"""The user's folders for designed-alliance: config, state and cache.

They are platformdirs' `user_config_path`, `user_state_path` and `user_cache_path` of
"designed-alliance". On Linux, where those are the XDG rules — `$XDG_CONFIG_HOME`,
`$XDG_STATE_HOME`, `$XDG_CACHE_HOME` when absolute, else `~/.config`, `~/.local/state`,
`~/.cache` under an absolute `$HOME` — the rule is applied here, without importing
platformdirs: every command, `--help` included, asks for the cache folder at import
(core/records.py). Anything else (Android, macOS, Windows, no absolute HOME) is
platformdirs' to answer; tests/test_records.py holds the two to the same paths.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

APP = "designed-alliance"


def _xdg(variable: str, under_home: str) -> Path | None:
    if sys.platform != "linux" or ("ANDROID_DATA" in os.environ
                                   and "ANDROID_ROOT" in os.environ):
        return None
    value = os.environ.get(variable, "")
    if os.path.isabs(value):
        return Path(value) / APP
    home = os.environ.get("HOME", "")
    if os.path.isabs(home):
        return Path(home) / under_home / APP
    return None


def _folder(variable: str, under_home: str, platformdirs_name: str) -> Path:
    found = _xdg(variable, under_home)
    if found is None:
        import platformdirs

        found = Path(getattr(platformdirs, platformdirs_name)(APP))
    return found


def cache() -> Path:
    return _folder("XDG_CACHE_HOME", ".cache", "user_cache_path")


def config() -> Path:
    return _folder("XDG_CONFIG_HOME", ".config", "user_config_path")


def state() -> Path:
    return _folder("XDG_STATE_HOME", ".local/state", "user_state_path")


def write_cache(path: Path, data: bytes) -> None:
    """`data` as the cache file `path` (icalendar's answers, compiled record code): written
    whole beside it and renamed into place, readable by the user alone. A cache that cannot
    be written only costs speed, so an OSError is swallowed."""
    import tempfile

    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


_at_exit: set[Callable[[], None]] = set()


def write_at_exit(write: Callable[[], None]) -> None:
    """Run `write` once when the process ends, however often a run asks for it: a cache
    learns a dozen answers in a cold run, and rewriting it after each was a dozen renames."""
    if write not in _at_exit:
        import atexit

        _at_exit.add(write)
        atexit.register(write)
