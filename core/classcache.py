"""Compiled dataclass methods, kept in the user cache folder between runs.

`@dataclass` writes the source of `__init__`, `__repr__`, `__eq__`, `__hash__`,
`__setattr__`… for every class and compiles it when the module is imported: for the ~50
frozen dataclasses a setup imports that was ~0.6 ms a class, a sixth of a small setup's CPU,
paid again on every run (Python's bytecode cache does not cover generated source). Here
dataclasses' `exec` gets the code compiled from the same text from a file instead, which is
what the bytecode cache does for a module.

Nothing else changes: the key is the whole generated text, the code is what `exec` would
have compiled from it (same file name, no inherited `__future__` flags — dataclasses has
none), and `exec` runs it in the same namespaces. The file is stamped with the interpreter's
version (marshal's format and the bytecode belong to it); a file that cannot be read or
written only costs the compile.
"""

from __future__ import annotations

import builtins
import contextlib
import marshal
import os
import sys
from types import CodeType, ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

_FORMAT = 1
_MAX_ENTRIES = 4000  # far above what our modules make; a file never grows without bound
_codes: dict[str, CodeType] = {}
_used: dict[str, CodeType] = {}
_state = {"loaded": False, "loading": False, "dirty": False}


def _path() -> Path | None:
    try:
        from platformdirs import user_cache_path
    except ImportError:
        return None
    return user_cache_path("designed-alliance") / "dataclass-code.marshal"


def _stamp() -> str:
    return f"{_FORMAT} {sys.version} {sys.implementation.cache_tag}"


def _load() -> None:
    _state["loading"] = True  # platformdirs' own import must not come back here
    try:
        path = _path()
        if path is None:
            return
        try:
            stamp, codes = marshal.loads(path.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return
        if stamp == _stamp() and isinstance(codes, dict):
            _codes.update((k, v) for k, v in codes.items()
                          if isinstance(k, str) and isinstance(v, CodeType))
    finally:
        _state["loading"] = False
        _state["loaded"] = True


def _save() -> None:
    if not _state["dirty"]:
        return
    path = _path()
    if path is None:
        return
    # What the file held plus what this run made; if that grew too big, what this run used.
    codes = _codes if len(_codes) <= _MAX_ENTRIES else _used
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp.write_bytes(marshal.dumps((_stamp(), codes)))
        os.replace(tmp, path)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            tmp.unlink()


def cached_exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:
    """`exec`, with the code for a source text compiled once per interpreter version."""
    if not isinstance(source, str) or _state["loading"]:
        return builtins.exec(source, globals, locals)
    if not _state["loaded"]:
        _load()
    code = _codes.get(source)
    if code is None:
        code = compile(source, "<string>", "exec", dont_inherit=True)
        _codes[source] = code
        if not _state["dirty"]:
            import atexit

            atexit.register(_save)
        _state["dirty"] = True
    _used[source] = code
    return builtins.exec(code, globals, locals)


def install(module: ModuleType) -> None:
    """Give `module` (dataclasses, which calls the global name `exec` on the text it writes)
    `cached_exec` as its `exec`."""
    if "exec" not in vars(module):
        module.exec = cached_exec  # type: ignore[attr-defined]


class _InstallOnImport:
    """A meta-path finder that hooks dataclasses when (and only if) it is imported, so a
    command that makes no dataclass (`alliance --help`) does not import it for this."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "dataclasses":
            return None
        from importlib.machinery import PathFinder

        sys.meta_path.remove(self)
        spec = PathFinder.find_spec(name, path)
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        real_exec_module = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            real_exec_module(module)
            install(module)

        # This loader object is dataclasses' own (PathFinder made it just now): it stays the
        # module's __loader__, so inspect and linecache read the source as before.
        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def hook() -> None:
    """Install now if dataclasses is loaded, else when it is. ALLIANCE_NO_CLASS_CACHE=1
    turns it off (the tests compare both)."""
    if os.environ.get("ALLIANCE_NO_CLASS_CACHE"):
        return
    module = sys.modules.get("dataclasses")
    if module is not None:
        install(module)
    elif not any(isinstance(f, _InstallOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _InstallOnImport())
