"""Change the value of a key in TOML text, keeping everything else as the user wrote it.

`alliance pull` writes calendar edits back into the alliance file, which people keep by
hand (comments, order, quoting, blank lines). No TOML library is needed for that: the loader's
own line index (core/locate.py) says where each key is written, and only the text of that
one value is replaced — in the quoting style it had. A key that is absent is added at the
end of its table. The caller checks the result with a real parser (`check_edits`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, time
from typing import Any

from designed_alliance.core.records import dataclass

from .errors import AllianceError
from .locate import header_pattern, index_lines, key_pattern

Value = str | date | time | list[str]
_REST_OF_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)?")
_QUOTED_DATE = re.compile(r"([\"'])\d{4}-\d{2}-\d{2}\1")
_BARE_VALUE = re.compile(r"[^\s#,\]}]+(?: [0-9][^\s#,\]}]*)?")


@dataclass(frozen=True)
class Assign:
    """Set `path` ("checkins.time", "commitments[2].due") to `value`."""

    path: str
    value: Value


def _lines(text: str) -> list[str]:
    # The same line breaks as `index_lines` (str.splitlines), each kept with its line.
    return text.splitlines(keepends=True)


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _string_end(text: str, at: int) -> int:
    """Offset just past the string that starts at `at` (basic, literal, or multi-line)."""
    quote = text[at]
    triple = text.startswith(quote * 3, at)
    close = quote * 3 if triple else quote
    i = at + len(close)
    while i < len(text):
        if quote == '"' and text[i] == "\\":
            i += 2
            continue
        if text.startswith(close, i):
            end = i + len(close)
            while triple and end < len(text) and text[end] == quote:
                end += 1  # up to two quotes may end a multi-line string's content
            return end
        if not triple and text[i] in "\r\n":
            break
        i += 1
    raise ValueError("unterminated string")


def _value_end(text: str, at: int) -> int:
    """Offset just past the TOML value that starts at `at`."""
    if at >= len(text):
        raise ValueError("no value")
    if text[at] in "\"'":
        return _string_end(text, at)
    if text[at] in "[{":
        depth = 0
        i = at
        while i < len(text):
            char = text[i]
            if char in "\"'":
                i = _string_end(text, i)
                continue
            if char == "#":
                while i < len(text) and text[i] not in "\r\n":
                    i += 1
                continue
            if char in "[{":
                depth += 1
            elif char in "]}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        raise ValueError("unclosed bracket")
    match = _BARE_VALUE.match(text, at)
    if not match:
        raise ValueError("no value")
    return match.end()


def _span(text: str, lines: list[str], number: int) -> tuple[int, int]:
    """(start, end) offsets in `text` of the value of the `key = value` on line `number`."""
    offset = sum(len(line) for line in lines[:number - 1])
    line = lines[number - 1]
    key = key_pattern().match(line)
    if key is None:
        raise ValueError("not a key line")
    start = offset + key.end()
    while start < len(text) and text[start] in " \t":
        start += 1
    return start, _value_end(text, start)


def render(value: Value, was: str = "") -> str:
    """`value` as TOML, in the style of the value text it replaces (`was`): a literal
    'string' stays literal, a bare date or time stays bare, a quoted one quoted."""
    if isinstance(value, str) and was.startswith("["):
        value = [value]  # `day = ["monday"]` stays a list of one
    if isinstance(value, list):
        first = was.lstrip("[ \t\r\n")
        return "[" + ", ".join(render(v, first) for v in value) + "]"
    quoted = was[:1] in ("\"", "'")
    if isinstance(value, time):
        if was and not quoted:
            return value.strftime("%H:%M:%S")
        value = value.strftime("%H:%M")
    elif isinstance(value, date):
        # A date stays quoted only where one was quoted: a word it replaces (`on =
        # "deadline"`) makes way for a TOML date, as the documentation writes them.
        if not (quoted and _QUOTED_DATE.fullmatch(was)):
            return value.isoformat()
        value = value.isoformat()
    if was.startswith("'") and not was.startswith("'''") and not re.search(
            r"['\x00-\x08\x0a-\x1f\x7f]", value):
        return f"'{value}'"
    # A JSON string is a TOML basic string: the same escapes (\" \\ \n \uXXXX).
    return json.dumps(value, ensure_ascii=False)


def _table_of(path: str) -> tuple[str, str]:
    table, _, key = path.rpartition(".")
    return table, key


def apply(text: str, assigns: Sequence[Assign]) -> tuple[str, list[str]]:
    """`text` with each assignment made, and the TOML text each value was written as: the
    value text replaced where the key is written, or a `key = value` line added at the end
    of its table (a new table at the end of the file when there is none). Raises
    ValueError when a key cannot be placed (e.g. it is written inside an inline table):
    the caller says to edit by hand."""
    written: list[str] = []
    for assign in assigns:
        text, value = _apply_one(text, assign)
        written.append(value)
    return text, written


def _apply_one(text: str, assign: Assign) -> tuple[str, str]:
    lines = _lines(text)
    index = index_lines(text)
    number = index.get(assign.path)
    if number is not None:
        start, end = _span(text, lines, number)
        value = render(assign.value, text[start:end])
        return text[:start] + value + text[end:], value
    table, key = _table_of(assign.path)
    if not table:
        raise ValueError("only keys inside a table are written")
    newline = _newline(text)
    value = render(assign.value)
    entry = f"{key} = {value}"
    header = index.get(table)
    if header is None:
        if "[" in table or "." in table or table in _top_keys(index):
            raise ValueError(f"{table} is not a table of its own")
        tail = "" if not text or text.endswith(("\n", "\r")) else newline
        return f"{text}{tail}{newline}[{table}]{newline}{entry}{newline}", value
    if not header_pattern().match(lines[header - 1]):
        raise ValueError(f"{table} is written inline")
    # Only keys of this very table: the next header ends it.
    following = [n for n in index.values() if n > header
                 and header_pattern().match(lines[n - 1]) is not None]
    stop = min(following, default=len(lines) + 1)
    inside = [n for p, n in index.items() if p.startswith(f"{table}.") and header < n < stop]
    if not inside:
        after = sum(len(line) for line in lines[:header])
        indent = ""
    else:
        last = max(inside)
        _, end = _span(text, lines, last)
        rest = _REST_OF_LINE.match(text, end)
        assert rest is not None  # the pattern matches anywhere, if only the empty string
        after = rest.end()
        indent = lines[last - 1][:len(lines[last - 1]) - len(lines[last - 1].lstrip(" \t"))]
    before = text[:after]
    if before and not before.endswith(("\n", "\r")):
        before += newline
    return f"{before}{indent}{entry}{newline}{text[after:]}", value


def _top_keys(index: Mapping[str, int]) -> set[str]:
    return {p.split(".")[0].split("[")[0] for p in index}


def expected(data: dict[str, Any], assigns: Sequence[Assign], written: Sequence[str]
             ) -> dict[str, Any]:
    """What tomllib should read from the edited text: `data` with each assignment made,
    each value as tomllib reads the text it was written as."""
    import copy
    import tomllib

    out = copy.deepcopy(data)
    for assign, text in zip(assigns, written, strict=True):
        value = tomllib.loads(f"v = {text}")["v"]
        node: Any = out
        parts = re.findall(r"([^.\[\]]+)(?:\[(\d+)\])?", assign.path)
        for i, (name, position) in enumerate(parts):
            last = i == len(parts) - 1
            if last and not position:
                node[name] = value
                break
            node = node.setdefault(name, {})
            if position:
                node = node[int(position)]
    return out


def check_edits(before: str, after: str, assigns: Sequence[Assign], written: Sequence[str]
                ) -> None:
    """Raise AllianceError unless `after` reads as `before` with exactly these values set
    (parsed by tomllib, a parser other than the one that edited the text)."""
    import tomllib

    try:
        got = tomllib.loads(after.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise AllianceError(f"the edited text would not be TOML ({exc}) — nothing written; "
                            "edit the file by hand") from None
    want = expected(tomllib.loads(before.removeprefix("\ufeff")), assigns, written)
    if got != want:
        raise AllianceError("the edit would change more than the keys pulled — nothing "
                            "written; edit the file by hand: " +
                            ", ".join(f"{a.path} = {render(a.value)}" for a in assigns))
