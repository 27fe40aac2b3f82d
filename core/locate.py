"""Find the line where a TOML key path is written, for error messages.

tomllib gives values without positions, so we scan the text the way a reader would:
table headers set the current path, `[[x]]` counts array entries, `key = value` names a key.
Lines inside multi-line strings and arrays are skipped. A path that cannot be found falls back
to its longest known prefix, so an error inside an inline table still points at its line.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_BARE = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY = re.compile(rf"^\s*({_BARE}(?:\s*\.\s*{_BARE})*)\s*=")


def _split_key(text: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)
    return [part.strip("\"'") for part in parts]


def _bracket_balance(text: str) -> int:
    """Net open brackets in a line, ignoring those inside strings and comments."""
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
        if header and not _KEY.match(raw):
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
    for i, name in enumerate(names[:-1] if table_path else names):
        plain = ".".join(names[: i + 1])
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
