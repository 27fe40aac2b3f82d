"""Strict, typed access to a parsed TOML table, with errors that name file, key and line.

Shared by the alliance loader and the user-config loader so both speak the same way.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TypeVar

from .errors import BadInput
from .locate import find_line

T = TypeVar("T")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\u2028\u2029]")
_TYPE_NAMES = {str: "a string", int: "a whole number", bool: "true or false", list: "a list",
               dict: "a table", float: "a number", date: "a date (like 2027-03-31)"}


class Reader:
    """One TOML table being read. Call `done()` to reject keys nobody asked for."""

    def __init__(self, data: dict[str, Any], path: str, file: Path, lines: dict[str, int]
                 ) -> None:
        self.data = data
        self.path = path
        self.file = file
        self.lines = lines
        self._seen: set[str] = set()

    # -- errors -------------------------------------------------------------------------------
    def key_path(self, key: str | None = None) -> str:
        if key is None:
            return self.path
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str | None, problem: str, hint: str | None = None) -> BadInput:
        path = self.key_path(key)
        return BadInput(problem, file=self.file, key=path or None,
                        line=find_line(self.lines, path) if path else None, hint=hint)

    def child(self, key: str, value: dict[str, Any]) -> Reader:
        return Reader(value, self.key_path(key), self.file, self.lines)

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
                default_hint = (f"add `{key} = …` to [{self.path}]" if self.path
                                else f"add `{key} = …`")
                raise self.fail(key, "is missing", hint or default_hint)
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int in Python; TOML keeps them apart, so do we.
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if isinstance(value, datetime) and datetime not in kinds:
            ok = False
        if not ok:
            wanted = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            raise self.fail(key, f"must be {wanted}, not {_describe(value)}",
                            hint or "fix the value's type")
        return value

    def text(self, key: str, *, required: bool = False, default: str = "",
             single_line: bool = True, hint: str | None = None) -> str:
        value = self.get(key, str, required=required, default=default, hint=hint)
        if required and not value.strip():
            raise self.fail(key, "is empty", hint or "write something here")
        _refuse_placeholder(self, key, value)
        if single_line and _CONTROL.search(value):
            raise self.fail(key, "must be a single line (no newlines or control characters)",
                            "put it on one line; longer text belongs in `why` or `notes`")
        return value.strip()

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.get(key, (list, str), default=[])
        if isinstance(value, str):
            value = [value]
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.fail(f"{key}[{i}]", f"must be a string, not {_describe(item)}",
                                'write it in quotes, like ["Feedback within a day"]')
            if _CONTROL.search(item):
                raise self.fail(f"{key}[{i}]", "must be a single line",
                                "split it into several list entries")
            _refuse_placeholder(self, f"{key}[{i}]", item)
            if item.strip():
                out.append(item.strip())
        return tuple(out)

    def date(self, key: str, *, required: bool = False) -> date | None:
        value = self.get(key, (date, str), required=required,
                         hint="write a TOML date without quotes, like 2027-03-31")
        if value is None or isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise self.fail(key, f"{value!r} is not a date",
                            "write a date like 2027-03-31 (year-month-day)") from None

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
        raise self.fail(key, f"{value!r} is not a time of day",
                        'write it as 24-hour "HH:MM", like "09:30"')

    def parsed(self, key: str, parse: Callable[[str], T], *, required: bool = False,
               default: T | None = None) -> T | None:
        value = self.get(key, str, required=required)
        if value is None:
            return default
        try:
            return parse(value)
        except ValueError as exc:
            # Parsers say "<problem>; <what to do>": keep the house style "problem — hint".
            problem, _, hint = str(exc).partition("; ")
            raise self.fail(key, problem, hint or None) from None

    def table(self, key: str, *, required: bool = False) -> Reader | None:
        value = self.get(key, dict, required=required, hint=f"add a [{self.key_path(key)}] table")
        return None if value is None else self.child(key, value)

    def tables(self, key: str) -> list[Reader]:
        value = self.get(key, list, default=[],
                         hint=f"write each entry as a [[{self.key_path(key)}]] table")
        readers = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.fail(f"{key}[{i}]", f"must be a table, not {_describe(item)}",
                                f"write each entry as a [[{self.key_path(key)}]] table")
            readers.append(self.child(f"{key}[{i}]", item))
        return readers

    def done(self) -> None:
        """Unknown keys are errors: a typo must not silently drop part of an agreement."""
        for key in self.data:
            if key not in self._seen:
                known = sorted(self._seen)
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean `{close[0]}`?" if close else (
                    "known keys here: " + ", ".join(known) if known else "remove it")
                raise self.fail(key, "is not a known key", hint)


def _refuse_placeholder(reader: Reader, key: str, value: str) -> None:
    text = value.strip()
    if len(text) > 2 and text.startswith("<") and text.endswith(">"):
        raise reader.fail(key, f"still holds the template's placeholder {text!r}",
                          "replace it with your own words, without the angle brackets")


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
