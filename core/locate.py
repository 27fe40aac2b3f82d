"""Find the line where a TOML key path is written, for error messages.

tomllib gives values without positions, so we scan the text the way a reader would:
table headers set the current path, `[[x]]` counts array entries, `key = value` names a key.
Lines inside multi-line strings and arrays are skipped. A path that cannot be found falls back
to its longest known prefix, so an error inside an inline table still points at its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache

# Every pattern here must run in linear time on any line: a lazy `[^\]]+?` followed by
# `\s*\]` used to try each split of a long run of spaces in a header (36 s for one 100 KB
# line). The header's name is taken greedily up to the first `]` and stripped afterwards.
_BARE = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_BRACKETS = frozenset("[]{}")


@cache
def header_pattern() -> re.Pattern[str]:
    """`[table]` or `[[array]]`, with an optional comment. Compiled when first asked (as the
    others): a file that loads without a problem is never indexed."""
    return re.compile(r"^\s*(\[\[?)([^\]]*)\]\]?\s*(#.*)?$")


@cache
def key_pattern() -> re.Pattern[str]:
    """`key = `, `a.b = `, `"quoted key" = ` at the start of a line."""
    return re.compile(rf"^\s*({_BARE}(?:\s*\.\s*{_BARE})*)\s*=")


@cache
def _key_part() -> re.Pattern[str]:
    return re.compile(_BARE)


def _split_key(text: str) -> list[str]:
    return [part.strip("\"'") for part in _key_part().findall(text)]


def _bracket_balance(text: str) -> int:
    """Net open brackets in a line, ignoring those inside strings and comments."""
    if _BRACKETS.isdisjoint(text):
        return 0  # most lines: no need to walk them character by character
    depth = 0
    quote = ""
    i = 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\" and quote == '"':
                i += 2
                continue
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            break
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        i += 1
    return depth


def index_lines(text: str) -> dict[str, int]:
    """Map every key path written in `text` ("members[1].email", "checkins") to its line."""
    lines: dict[str, int] = {}
    counts: dict[str, int] = {}
    table = ""
    depth = 0
    in_multiline: str | None = None
    header_re, key_re = header_pattern(), key_pattern()
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if raw.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        if depth > 0:
            depth += _bracket_balance(raw)
            continue
        header = header_re.match(raw)
        if header and header.group(2).strip() and not key_re.match(raw):
            names = _split_key(header.group(2))
            base = _join(names, counts, table_path=True)
            if header.group(1) == "[[":
                plain = ".".join(names)
                counts[plain] = counts.get(plain, -1) + 1
                base = _join(names, counts, table_path=True) + f"[{counts[plain]}]"
            table = base
            lines.setdefault(table, number)
            continue
        key = key_re.match(raw)
        if key:
            path = ".".join([table, *_split_key(key.group(1))]) if table else ".".join(
                _split_key(key.group(1)))
            lines.setdefault(path, number)
            rest = raw[key.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_multiline = quote
            if not in_multiline:
                depth = max(0, _bracket_balance(rest))
    return lines


def _join(names: list[str], counts: dict[str, int], *, table_path: bool) -> str:
    """Rebuild a header's path, inserting the current index of enclosing arrays of tables."""
    parts: list[str] = []
    plain = ""
    # The plain prefix grows one name at a time: rebuilding it for each name was quadratic
    # in a header's depth (`[a.a.a.…]`, thousands deep, is valid TOML).
    for name in names[:-1] if table_path else names:
        plain = f"{plain}.{name}" if plain else name
        parts.append(f"{name}[{counts[plain]}]" if plain in counts else name)
    if table_path:
        parts.append(names[-1])
    return ".".join(parts)


class LineIndex(Mapping[str, int]):
    """`index_lines(text)`, made when first read. Every load keeps one for its messages,
    but a file without a problem never asks it, and indexing is a regex scan of every line."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._index: dict[str, int] | None = None

    def _lines(self) -> dict[str, int]:
        if self._index is None:
            self._index = index_lines(self._text)
        return self._index

    def __getitem__(self, path: str) -> int:
        return self._lines()[path]

    def __contains__(self, path: object) -> bool:
        return path in self._lines()

    def __iter__(self) -> Iterator[str]:
        return iter(self._lines())

    def __len__(self) -> int:
        return len(self._lines())

    def __repr__(self) -> str:
        return repr(self._lines())


def find_line(index: Mapping[str, int], path: str) -> int | None:
    """The line of `path`, or of its longest prefix that was written."""
    candidate = path
    while candidate:
        if candidate in index:
            return index[candidate]
        cut = max(candidate.rfind("."), candidate.rfind("["))
        if cut <= 0:
            break
        candidate = candidate[:cut]
    return None
