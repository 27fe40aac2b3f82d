"""Strict, typed access to a parsed TOML table, with errors that name file, key and line.

Shared by the alliance loader and the user-config loader so both speak the same way.

A Reader reports each problem to its `Problems`: by default that raises the first one (what
`load` and every command but `check` want); `Problems(collect=True)` keeps them all, and the
getters then return their default so the loader can go on and find the next one, the way a
linter does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from .errors import BadInput
from .limits import MAX_LIST_ENTRIES, MAX_YEAR, MIN_YEAR, years_hint
from .locate import find_line

T = TypeVar("T")
_FAILED: Any = object()  # what get() hands back to text() when it reported a problem
# Never in any text: NUL and the other C0 controls but tab and newline, DEL, the C1 controls
# (NEL U+0085 among them) and the Unicode line/paragraph separators. Calendar clients and
# terminals treat them as line breaks or commands, so they would break .ics lines and mails.
# Single-line texts (titles, names, list entries) also refuse tab and newline. Each of these
# is a character str.isprintable() refuses (Cc, Zl, Zp), so a printable text is checked
# without the patterns, which are compiled when a text first needs them (~1 ms at import).
@cache
def _forbidden() -> re.Pattern[str]:
    return re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


@cache
def _control() -> re.Pattern[str]:
    return re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _bad_character(text: str, single_line: bool) -> re.Match[str] | None:
    if text.isprintable():
        return None
    return (_control() if single_line else _forbidden()).search(text)

_TYPE_NAMES = {str: "a string", int: "a whole number", bool: "true or false", list: "a list",
               dict: "a table", float: "a number", date: "a date (like 2027-03-31)"}


def printable(text: str, limit: int = 300) -> str:
    """`text` with control characters shown as escapes, so a message stays one clean line,
    and cut at `limit` characters: a value quoted from the file may be megabytes long."""
    text = _control().sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Problems:
    """Where a Reader's errors go: raised at once, or collected (`collect=True`)."""

    def __init__(self, *, collect: bool = False) -> None:
        self.collect = collect
        self.errors: list[BadInput] = []
        self._said: set[str] = set()

    def report(self, error: BadInput) -> None:
        if not self.collect:
            raise error
        if str(error) not in self._said:  # the same line twice helps nobody
            self._said.add(str(error))
            self.errors.append(error)


class Reader:
    """One TOML table being read. Call `done()` to reject keys nobody asked for."""

    def __init__(self, data: dict[str, Any], path: str, file: Path, lines: Mapping[str, int],
                 problems: Problems | None = None) -> None:
        self.data = data
        self.path = path
        self.file = file
        self.lines = lines
        self.problems = problems if problems is not None else Problems()
        self._seen: set[str] = set()

    # -- errors -------------------------------------------------------------------------------
    def key_path(self, key: str | None = None) -> str:
        if key is None:
            return self.path
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str | None, problem: str, hint: str | None = None) -> BadInput:
        path = self.key_path(key)
        return BadInput(printable(problem), file=self.file, key=printable(path) or None,
                        line=find_line(self.lines, path) if path else None,
                        hint=printable(hint) if hint else None)

    def report(self, key: str | None, problem: str, hint: str | None = None) -> None:
        """Raise the problem, or record it and return when collecting (see `Problems`)."""
        self.problems.report(self.fail(key, problem, hint))

    def child(self, key: str, value: dict[str, Any]) -> Reader:
        return Reader(value, self.key_path(key), self.file, self.lines, self.problems)

    # -- typed getters ------------------------------------------------------------------------
    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str) -> Any:
        self._seen.add(key)
        return self.data.get(key)

    def get(self, key: str, kind: type[T] | tuple[type, ...], *, required: bool = False,
            default: Any = None, hint: str | None = None) -> Any:
        self._seen.add(key)
        if key not in self.data:
            if required:
                self._missing(key, hint)
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int in Python; TOML keeps them apart, so do we.
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if isinstance(value, datetime) and datetime not in kinds:
            ok = False
        if not ok:
            wanted = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            self.report(key, f"must be {wanted}, not {_describe(value)}",
                        hint or "fix the value's type")
            return default
        if isinstance(value, str) and not self._clean(key, value):
            return default
        return value

    def _missing(self, key: str, hint: str | None) -> None:
        # A required key that is missing next to an unknown key that looks like it is a typo:
        # say so at the typo's line, instead of "is missing" at the table's.
        import difflib  # on the way to an error only

        unknown = [k for k in self.data if k not in self._seen and isinstance(k, str)]
        close = difflib.get_close_matches(key, unknown, n=1)
        if close:
            self._seen.add(close[0])  # reported here; done() must not report it twice
            self.report(close[0], "is not a known key",
                        f"did you mean `{key}`? (`{key}` is required here)")
            return
        default_hint = (f"add `{key} = …` to [{self.path}]" if self.path
                        else f"add `{key} = …`")
        self.report(key, "is missing", hint or default_hint)

    def _clean(self, key: str, value: str, *, single_line: bool = False) -> bool:
        # A CRLF is a line break too (files written on Windows); a lone CR is not.
        found = _bad_character(value.replace("\r\n", "\n"), single_line)
        if found is None:
            return True
        char = found.group()
        if single_line and char in "\n\t":
            self.report(key, "must be a single line (no newlines or control characters)",
                        "put it on one line; longer text belongs in `why` or `notes`")
        else:
            self.report(key, f"holds the control character U+{ord(char):04X}",
                        "remove it (only multi-line texts like `notes` may hold line breaks)")
        return False

    def text(self, key: str, *, required: bool = False, default: str = "",
             single_line: bool = True, hint: str | None = None) -> str:
        value = self.get(key, str, required=required, default=_FAILED, hint=hint)
        if value is _FAILED:
            return default
        if required and not value.strip():
            self.report(key, "is empty", hint or "write something here")
            return default
        if not self._placeholder_free(key, value):
            return default
        if single_line and not self._clean(key, value, single_line=True):
            return default
        return value.strip()

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.get(key, (list, str), default=[])
        if isinstance(value, str):
            value = [value]
        if len(value) > MAX_LIST_ENTRIES:
            self.report(key, f"has {len(value)} entries",
                        f"keep it to at most {MAX_LIST_ENTRIES}")
            return ()
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.report(f"{key}[{i}]", f"must be a string, not {_describe(item)}",
                            'write it in quotes, like ["Feedback within a day"]')
                continue
            if _bad_character(item, True):
                if "\n" in item or "\t" in item:
                    self.report(f"{key}[{i}]", "must be a single line",
                                "split it into several list entries")
                else:
                    self._clean(f"{key}[{i}]", item, single_line=True)
                continue
            if not self._placeholder_free(f"{key}[{i}]", item):
                continue
            if item.strip():
                out.append(item.strip())
        return tuple(out)

    def date(self, key: str, *, required: bool = False) -> date | None:
        value = self.get(key, (date, str), required=required,
                         hint="write a TOML date without quotes, like 2027-03-31")
        if value is None:
            return None
        if not isinstance(value, date):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                self.report(key, f"{value!r} is not a date",
                            "write a date like 2027-03-31 (year-month-day)")
                return None
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            self.report(key, f"{value} is out of range", years_hint())
            return None
        return value

    def clock(self, key: str, *, default: time | None = None) -> time | None:
        value = self.get(key, (str, time), default=default)
        if value is None or isinstance(value, time):
            return value
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*(am|pm)?\s*", value.lower())
        if match:
            hour, minute = int(match.group(1)), int(match.group(2))
            if match.group(3) == "pm" and hour < 12:
                hour += 12
            elif match.group(3) == "am" and hour == 12:
                hour = 0
            if 0 <= hour < 24 and 0 <= minute < 60:
                return time(hour, minute)
        self.report(key, f"{value!r} is not a time of day",
                    'write it as 24-hour "HH:MM", like "09:30"')
        return default

    def parsed(self, key: str, parse: Callable[[str], T], *, required: bool = False,
               default: T | None = None) -> T | None:
        value = self.get(key, str, required=required)
        if value is None:
            return default
        try:
            return parse(value)
        except (ValueError, OverflowError) as exc:
            # Parsers say "<problem>; <what to do>": keep the house style "problem — hint".
            problem, _, hint = str(exc).partition("; ")
            self.report(key, problem, hint or None)
            return default

    def table(self, key: str, *, required: bool = False) -> Reader | None:
        value = self.get(key, dict, required=required, hint=f"add a [{self.key_path(key)}] table")
        return None if value is None else self.child(key, value)

    def tables(self, key: str, *, limit: int | None = None) -> list[Reader]:
        value = self.get(key, list, default=[],
                         hint=f"write each entry as a [[{self.key_path(key)}]] table")
        if limit is not None and len(value) > limit:
            self.report(key, f"has {len(value)} entries",
                        f"keep it to at most {limit}")
            return []
        readers = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.report(f"{key}[{i}]", f"must be a table, not {_describe(item)}",
                            f"write each entry as a [[{self.key_path(key)}]] table")
                continue
            readers.append(self.child(f"{key}[{i}]", item))
        return readers

    def done(self) -> None:
        """Unknown keys are errors: a typo must not silently drop part of an agreement."""
        for key in self.data:
            if key not in self._seen:
                import difflib  # an unknown key: on the way to an error only

                known = sorted(self._seen)
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean `{close[0]}`?" if close else (
                    "known keys here: " + ", ".join(known) if known else "remove it")
                self.report(key, "is not a known key", hint)

    def _placeholder_free(self, key: str, value: str) -> bool:
        text = value.strip()
        if len(text) > 2 and text.startswith("<") and text.endswith(">"):
            self.report(key, f"still holds the template's placeholder {text!r}",
                        "replace it with your own words, without the angle brackets")
            return False
        return True


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, datetime):
        return "a date with a time"
    for kind, name in _TYPE_NAMES.items():
        if isinstance(value, kind):
            return name
    if isinstance(value, time):
        return "a time"
    return type(value).__name__
