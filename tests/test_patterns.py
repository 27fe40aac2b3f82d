"""core/patterns.py: the compiled regular expressions kept between runs.

The contract: a preloaded pattern is equal to the one `re` compiles (`Pattern.__eq__`
compares the compiled code), a warm run compiles none of what the file holds, and anything
wrong with the file only means `re` compiles as usual.
"""

from __future__ import annotations

import json
import marshal
import os
import re
import sys
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from designed_alliance.core import patterns

from .conftest import EXAMPLES, run_probed

pytestmark = pytest.mark.skipif(not patterns._TESTED, reason="re's cache is not checked here")

# Patterns unlike each other in what `_sre.compile` gets: groups and names, bytes, flags
# that the parser adds (VERBOSE, inline flags), case folding, lookbehind, repeats.
SHAPES = [
    (r"(?P<year>\d{4})-(?P<month>\d\d)(?:-(\d\d))?", 0),
    (r"(?x) ^ \s* (\w+) \s* = \s* (.*?) \s* $  # a key", 0),
    (r"straße|ǅ", re.IGNORECASE),
    (r"(?<=@)[a-z.-]+\b", 0),
    (br"\r\n|\r|\n", 0),
    (br"(?i)[a-z]{2,}", re.LOCALE),
    (r"^(a|b)*?c{3,5}$", re.MULTILINE | re.DOTALL),
]
SAMPLES = ["2026-12-01", "  key = value  ", "STRASSE Straße ǆ", "sam@example.org",
           "aab ccc", "x\r\ny"]


@pytest.fixture
def cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A cache of the test's own; no writer left for the pytest process's exit."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(patterns, "_known", {})
    from designed_alliance.core import userdirs

    monkeypatch.setattr(userdirs, "write_at_exit", lambda write: None)
    re.purge()  # `re`'s cache holds what a test compiles, and the test's file only that
    yield tmp_path / "cache" / "designed-alliance"
    re.purge()


def _unique(shapes: list[tuple[object, int]]) -> list[tuple[object, int]]:
    """The shapes with an optional group of this test's own, so that they are new to `re`."""
    token = uuid.uuid4().hex
    return [(p + f"(?:{token})?".encode() if isinstance(p, bytes) else f"{p}(?:{token})?", f)
            for p, f in shapes]


def _key(pattern: object, flags: int) -> tuple[type, object, int]:
    return (type(pattern), pattern, int(flags))


def test_preloaded_patterns_are_the_ones_re_compiles(cache_folder: Path) -> None:
    shapes = _unique(SHAPES)
    for pattern, flags in shapes:
        re.compile(pattern, flags)  # type: ignore[call-overload]
    patterns._write()
    re.purge()
    patterns._known.clear()
    patterns.preload()
    for pattern, flags in shapes:
        preloaded = re._cache[_key(pattern, flags)]  # type: ignore[attr-defined]
        assert re.compile(pattern, flags) is preloaded  # type: ignore[call-overload]
        fresh = re._compiler.compile(pattern, int(flags))  # type: ignore[attr-defined]
        assert preloaded == fresh
        assert (preloaded.pattern, preloaded.flags, preloaded.groups, preloaded.groupindex) \
            == (fresh.pattern, fresh.flags, fresh.groups, fresh.groupindex)
        for sample in SAMPLES:
            text = sample.encode() if isinstance(pattern, bytes) else sample
            assert [m.span() for m in preloaded.finditer(text)] \
                == [m.span() for m in fresh.finditer(text)]


def test_a_warm_setup_compiles_no_pattern(tmp_path: Path) -> None:
    """Through the `alliance` entry point, as a user runs it: the second setup (another
    alliance folder, fresh state) finds every pattern it needs in the file."""
    counting = (  # the list is printed at exit, before the script skips the teardown
        "import atexit, re._compiler as c, json\n"
        "made = []\n"
        "atexit.register(lambda: print('COMPILED', json.dumps(made)))\n"
        "real = c.compile\n"
        "def counting(p, flags=0):\n"
        "    made.append(str(p)[:60]); return real(p, flags)\n"
        "c.compile = counting\n")
    made = []
    for run in ("cold", "warm"):
        env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"),
                   XDG_STATE_HOME=str(tmp_path / run / "state"))
        done, _ = run_probed(["setup", str(EXAMPLES / "team-project.toml"), "--yes",
                              "--out", str(tmp_path / run / "out")], env=env, prelude=counting)
        assert done.returncode == 0, done.stderr
        line = next(x for x in done.stdout.splitlines() if x.startswith("COMPILED "))
        made.append(json.loads(line.removeprefix("COMPILED ")))
    assert len(made[0]) >= 30  # jinja2, tomllib, click, json, email, ours
    assert made[1] == []
    held = patterns._read(_file(tmp_path / "cache" / "designed-alliance").read_bytes())
    for pattern, flags, arguments in held:
        import _sre

        assert _sre.compile(*arguments) == re._compiler.compile(pattern, flags)  # type: ignore[attr-defined]


def test_a_run_that_compiled_nothing_new_writes_nothing(cache_folder: Path) -> None:
    shapes = _unique(SHAPES[:2])
    for pattern, flags in shapes:
        re.compile(pattern, flags)  # type: ignore[call-overload]
    patterns._write()
    file = _file(cache_folder)
    written = file.stat().st_ino
    re.purge()
    patterns._known.clear()
    patterns.preload()  # re's cache now holds the file's patterns and nothing else
    patterns._write()
    assert file.stat().st_ino == written  # not replaced
    third = _unique(SHAPES[2:3])[0]
    re.compile(*third)  # type: ignore[call-overload]
    patterns._write()
    assert file.stat().st_ino != written
    assert [e[0] for e in patterns._read(file.read_bytes())] == [p for p, _ in [*shapes, third]]


def _file(cache_folder: Path) -> Path:
    return cache_folder / f"patterns-{sys.implementation.cache_tag}.marshal"


def _forge(cache_folder: Path, entries: list[object], stamp: object = None) -> None:
    body = marshal.dumps((patterns._stamp() if stamp is None else stamp, entries))
    cache_folder.mkdir(parents=True, exist_ok=True)
    _file(cache_folder).write_bytes(zlib.crc32(body).to_bytes(4, "big") + body)


def _valid_entry() -> tuple[str, int, tuple[object, ...]]:
    pattern, flags = f"{uuid.uuid4().hex}-x", 0
    re.compile(pattern, flags)
    entry = patterns.arguments_of(_key(pattern, flags))
    assert entry is not None
    return entry  # type: ignore[return-value]


@pytest.mark.parametrize("damage", ["truncated", "flipped", "garbage", "empty", "stamp",
                                    "not-a-tuple", "invalid-code", "other-pattern"])
def test_a_damaged_file_is_not_used(cache_folder: Path, damage: str) -> None:
    pattern, flags, arguments = _valid_entry()
    re.purge()
    _forge(cache_folder, [(pattern, flags, arguments)])
    file = _file(cache_folder)
    blob = file.read_bytes()
    if damage == "truncated":
        file.write_bytes(blob[:len(blob) // 2])
    elif damage == "flipped":  # valid code for another text ("...y"), under the old CRC
        code = [121 if op == 120 else op for op in arguments[2]]
        assert pattern.endswith("x") and code != arguments[2]
        body = marshal.dumps((patterns._stamp(), [(pattern, flags, (*arguments[:2], code,
                                                                    *arguments[3:]))]))
        file.write_bytes(blob[:4] + body)
    elif damage == "garbage":
        file.write_bytes(os.urandom(300))
    elif damage == "empty":
        file.write_bytes(b"")
    elif damage == "stamp":
        _forge(cache_folder, [(pattern, flags, arguments)], stamp=(1, "3.0.0", 0))
    elif damage == "not-a-tuple":
        _forge(cache_folder, [[pattern, flags, list(arguments)]])
    elif damage == "invalid-code":  # a CRC that matches, code that `_sre` must refuse
        code = list(arguments[2])
        _forge(cache_folder, [(pattern, flags, (*arguments[:2], code[:len(code) // 2],
                                                *arguments[3:]))])
    elif damage == "other-pattern":  # arguments of another text under this key
        _forge(cache_folder, [(pattern + "x", flags, arguments)])
    patterns.preload()
    assert _key(pattern, flags) not in re._cache  # type: ignore[attr-defined]
    assert patterns._known == {}
    compiled = re.compile(pattern, flags)
    assert compiled == re._compiler.compile(pattern, flags)  # type: ignore[attr-defined]
    patterns._write()  # and the file is made good again
    assert [e[0] for e in patterns._read(file.read_bytes())].count(pattern) == 1


def test_arguments_that_do_not_rebuild_the_pattern_are_not_kept(cache_folder: Path) -> None:
    (pattern, flags), = _unique(SHAPES[:1])
    impostor = re._compiler.compile(pattern + "|other", flags)  # type: ignore[attr-defined]
    re._cache[_key(pattern, flags)] = impostor  # type: ignore[attr-defined]
    try:
        assert patterns.arguments_of(_key(pattern, flags)) is None
        assert patterns.arguments_of(("not", "a key")) is None
        assert patterns.arguments_of((str, b"bytes under str", 0)) is None
    finally:
        re.purge()


def test_the_file_keeps_the_newest_entries(cache_folder: Path) -> None:
    token = uuid.uuid4().hex
    made = [f"{token}-{n}-(\\d+)" for n in range(patterns._KEEP + 40)]
    for text in made:
        re.compile(text)
    patterns._write()
    held = [e[0] for e in patterns._read(_file(cache_folder).read_bytes())]
    assert len(held) == patterns._KEEP
    assert held[-1] == made[-1] and made[0] not in held
    re.purge()


def test_an_unwritable_cache_costs_only_speed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              cache_folder: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    _unique_patterns = _unique(SHAPES[:1])
    re.compile(*_unique_patterns[0])  # type: ignore[call-overload]
    patterns.preload()
    patterns._write()
    assert blocker.read_text() == ""


def test_on_an_untested_python_nothing_is_read_or_written(
        cache_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _forge(cache_folder, [_valid_entry()])
    re.purge()
    registered: list[object] = []
    from designed_alliance.core import userdirs

    monkeypatch.setattr(userdirs, "write_at_exit", registered.append)
    monkeypatch.setattr(patterns, "_TESTED", False)
    patterns.preload()
    assert registered == [] and patterns._known == {}


def test_flags_of_a_subclass_of_int_are_kept_as_int(cache_folder: Path) -> None:
    """3.13's `re.sub` puts a subclass of int ("no flags given") into the cache's key."""
    class Zero(int):
        pass

    (pattern, _), = _unique(SHAPES[:1])
    re.compile(pattern)
    entry = patterns.arguments_of((str, pattern, Zero(0)))
    assert entry is not None and type(entry[1]) is int and entry[1] == 0
    patterns._write()
    assert pattern in [e[0] for e in patterns._read(_file(cache_folder).read_bytes())]
