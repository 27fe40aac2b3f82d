"""Find the line where a TOML key path is written, for error messages.

tomllib gives values without positions, so we scan the text the way a reader would:
table headers set the current path, `[[x]]` counts array entries, `key = value` names a key.
Lines inside multi-line strings and arrays are skipped. A path that cannot be found falls back
to its longest known prefix, so an error inside an inline table still points at its line.
"""

from __future__ import annotations

import re

# Every pattern here must run in linear time on any line: a lazy `[^\]]+?` followed by
# `\s*\]` used to try each split of a long run of spaces in a header (36 s for one 100 KB
# line). The header's name is taken greedily up to the first `]` and stripped afterwards.
_HEADER = re.compile(r"^\s*(\[\[?)([^\]]*)\]\]?\s*(#.*)?$")
_BARE = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY = re.compile(rf"^\s*({_BARE}(?:\s*\.\s*{_BARE})*)\s*=")
_KEY_PART = re.compile(_BARE)
_BRACKETS = frozenset("[]{}")


def _split_key(text: str) -> list[str]:
    return [part.strip("\"'") for part in _KEY_PART.findall(text)]


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
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if raw.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        if depth > 0:
            depth += _bracket_balance(raw)
            continue
        header = _HEADER.match(raw)
        if header and header.group(2).strip() and not _KEY.match(raw):
            names = _split_key(header.group(2))
            base = _join(names, counts, table_path=True)
            if header.group(1) == "[[":
                plain = ".".join(names)
                counts[plain] = counts.get(plain, -1) + 1
                base = _join(names, counts, table_path=True) + f"[{counts[plain]}]"
            table = base
            lines.setdefault(table, number)
            continue
        key = _KEY.match(raw)
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


def find_line(index: dict[str, int], path: str) -> int | None:
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
