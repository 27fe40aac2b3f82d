"""The regular expressions a run compiles, kept compiled in the user cache.

Why: `re` compiles a pattern in Python (parse, then code generation) the first time a
process uses it, and the modules a setup imports compile ~60 of them at import — jinja2's
lexer (its identifier pattern alone takes ~2 ms), tomllib, click, json, email and ours:
about a tenth of the CPU of a small setup, the same again in every process. Only the last
step, `_sre.compile(pattern, flags, code, groups, groupindex, indexgroup)`, is C, and its
arguments are plain data. So they are kept: `preload()`, the first thing the `alliance`
script does, hands them to `_sre.compile` and puts the patterns into `re`'s own cache, where
`re.compile` finds them as if it had compiled them itself; at exit, the arguments of the
patterns the process compiled that the file did not have yet are added to it.

The contract, held by tests/test_patterns.py: a pattern made here is equal to the one `re`
compiles (`Pattern.__eq__` compares the compiled code, not only the text), so it matches
the same. Arguments are stored only after they were checked to rebuild the very pattern `re`
compiled in this process. The file is valid for one build of Python and carries a CRC; a
damaged file, another build's, or code that `_sre` itself rejects as invalid is not used. On
a Python whose `re` this module was not tested with, it does nothing. Like jinja2's bytecode
cache and core/records.py, it trusts the user's own cache folder.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

# `re`'s cache (`re._cache`, the key `(type(pattern), pattern, flags)`) and `re._compiler`
# are the same in these; 3.14's are not checked here yet.
_TESTED = sys.implementation.name == "cpython" and (3, 11) <= sys.version_info[:2] <= (3, 13)
_FORMAT = 1
# `re` keeps 512 patterns and drops the oldest first; the preloaded are the oldest, and half
# of its room is left to what a run compiles itself (a file name's glob pattern, a lexer's).
_KEEP = 256

Key = tuple[type, Any, int]
Entry = tuple[Any, int, tuple[Any, ...]]  # pattern, flags, the arguments of `_sre.compile`

_known: dict[Key, Entry] = {}  # what the file held and this process verified, in order


def preload() -> None:
    """Put the patterns of the cache file into `re`'s cache, and add this process's new
    ones to the file when it ends. Never raises: a cache that cannot be read only costs
    speed."""
    if not _TESTED:
        return
    from designed_alliance.core import userdirs

    try:
        entries = _read(_file().read_bytes())
    except Exception:  # damaged, truncated, another build's: compile as usual
        entries = []
    try:
        import _sre

        made = [(entry, _sre.compile(*entry[2])) for entry in entries]
    except Exception:  # code `_sre` rejects: none of the file is trusted
        made = []
    for (pattern, flags, arguments), compiled in made:
        key = (type(pattern), pattern, flags)
        re._cache.setdefault(key, compiled)  # type: ignore[attr-defined]
        _known[key] = (pattern, flags, arguments)
    userdirs.write_at_exit(_write)


def _file() -> Path:
    from designed_alliance.core import userdirs

    return userdirs.cache() / f"patterns-{sys.implementation.cache_tag}.marshal"


def _stamp() -> tuple[int, str, int]:
    import _sre

    return (_FORMAT, sys.version, _sre.MAGIC)


def _read(blob: bytes) -> list[Entry]:
    import marshal
    import zlib

    if len(blob) < 4 or int.from_bytes(blob[:4], "big") != zlib.crc32(blob[4:]):
        return []
    stamp, entries = marshal.loads(blob[4:])
    if stamp != _stamp():
        return []
    return [(pattern, flags, arguments) for pattern, flags, arguments in entries
            if type(pattern) in (str, bytes) and type(flags) is int
            and type(arguments) is tuple and arguments[:1] == (pattern,)]


def _write() -> None:
    """Add the patterns this process compiled and the file lacked; a run that compiled
    nothing new writes nothing."""
    new = [entry for key in list(re._cache)  # type: ignore[attr-defined]
           if key not in _known and (entry := arguments_of(key)) is not None]
    if not new:
        return
    import marshal
    import zlib

    from designed_alliance.core import userdirs

    entries = [*_known.values(), *new][-_KEEP:]
    body = marshal.dumps((_stamp(), entries))
    userdirs.write_cache(_file(), zlib.crc32(body).to_bytes(4, "big") + body)


def arguments_of(key: Any) -> Entry | None:
    """What `re._compiler.compile` passes to `_sre.compile` for the pattern of `key` in
    `re`'s cache, worked out as it does; None unless they rebuild that very pattern (equal
    code) and are plain data."""
    try:
        kind, pattern, flags = key
        if kind not in (str, bytes) or type(pattern) is not kind or not isinstance(flags, int):
            return None
        flags = int(flags)  # 3.13's re.sub passes a subclass of int for "no flags given"
        import _sre
        import marshal
        from re import _compiler, _parser  # type: ignore[attr-defined]

        parsed = _parser.parse(pattern, flags)
        code = [int(op) for op in _compiler._code(parsed, flags)]
        groupindex = dict(parsed.state.groupdict)
        indexgroup: list[str | None] = [None] * parsed.state.groups
        for name, index in groupindex.items():
            indexgroup[index] = name
        arguments = (pattern, int(flags | parsed.state.flags), code, parsed.state.groups - 1,
                     groupindex, tuple(indexgroup))
        if _sre.compile(*arguments) != re._cache.get(key):  # type: ignore[attr-defined]
            return None
        marshal.dumps(arguments)
    except Exception:  # a pattern `re` made differently is left to `re`
        return None
    return (pattern, flags, arguments)
