"""The progress journal: what happened, beside the agreement (`team.progress.toml` by `team.toml`).

The alliance file is the agreement; the journal is what happened since. It is plain TOML,
append-only and diff-friendly: every entry is one array-of-tables block at the end of the file,
so a change in a shared repository is always "lines added at the bottom". Entries:

```toml
alliance = "website-relaunch-7f3k"   # written once by the first append; must match the alliance

[[reading]]                          # a measure was inspected
measure = "pages"                    # the measure's `id`, or its `name` (any case)
value = 12                           # a number
on = 2027-01-11                      # the day it was read (within the alliance)
by = "ben"                           # optional: a member id
note = "templates are in"            # optional

[[done]]                             # a commitment is done
commitment = "design"                # a commitment id
on = 2027-01-06
by = "ben"                           # optional
note = "signed off by Ana"           # optional

[[dropped]]                          # a commitment will not be done
commitment = "copy"
on = 2027-01-20
reason = "the agency writes it"      # required: say why
by = "ana"                           # optional

[[redated]]                          # a commitment's due date was agreed anew
commitment = "copy"
on = 2027-01-15                      # when that was agreed
due = 2027-02-05                     # the new due date (counts as a hard due)
reason = "waiting for legal"         # required
by = "ana"                           # optional
```

Rules, checked as strictly as the alliance file (unknown keys are errors; every error names the
journal, the key path and its line): readings name a known measure and carry a finite number;
every date lies between the alliance's `starts` and `deadline`; `by` is a member id; a
commitment is done or dropped at most once, and neither re-dated nor done after that. Nothing is
ever rewritten: to correct a reading, log another for the same day (the later one wins).

Appending (`append`) validates the whole journal *with* the new entry before writing a byte, then
appends text and fsyncs; the first append writes a commented header describing this format.
Concurrent writers are the caller's business (the lead's lock).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import field
from datetime import date
from pathlib import Path
from typing import TypeVar

from designed_alliance.core.records import dataclass

from .errors import BadInput
from .load import parse_toml
from .locate import find_line, index_lines
from .model import Alliance, Measure
from .reader import Reader

T = TypeVar("T")
SUFFIX = ".progress.toml"
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


# -- the entries ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reading:
    """A measure's value on a date (`[[reading]]`): what a check-in inspects."""

    measure: Measure
    value: int | float
    on: date
    by: str | None = None
    note: str = ""
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Done:
    """A commitment finished on a date (`[[done]]`)."""

    commitment: str
    on: date
    by: str | None = None
    note: str = ""
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Dropped:
    """A commitment given up on a date, and why (`[[dropped]]`)."""

    commitment: str
    on: date
    reason: str
    by: str | None = None
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Redated:
    """A commitment's due date moved on a date, and why (`[[redated]]`)."""

    commitment: str
    on: date
    due: date
    reason: str
    by: str | None = None
    line: int | None = field(default=None, compare=False)


Entry = Reading | Done | Dropped | Redated


@dataclass(frozen=True)
class Journal:
    """What happened, entries in the order they were written (file order)."""

    readings: tuple[Reading, ...] = ()
    done: tuple[Done, ...] = ()
    dropped: tuple[Dropped, ...] = ()
    redated: tuple[Redated, ...] = ()
    source: Path | None = field(default=None, compare=False)

    def as_of(self, day: date) -> Journal:
        """The journal as it stood at the end of `day`: later-dated entries left out."""
        return Journal(
            readings=tuple(r for r in self.readings if r.on <= day),
            done=tuple(d for d in self.done if d.on <= day),
            dropped=tuple(d for d in self.dropped if d.on <= day),
            redated=tuple(r for r in self.redated if r.on <= day),
            source=self.source,
        )

    def done_dates(self) -> dict[str, date]:
        return {d.commitment: d.on for d in self.done}

    def done_entry(self, commitment_id: str) -> Done | None:
        return next((d for d in self.done if d.commitment == commitment_id), None)

    def dropped_entry(self, commitment_id: str) -> Dropped | None:
        return next((d for d in self.dropped if d.commitment == commitment_id), None)

    def redated_dues(self) -> dict[str, date]:
        """The latest agreed due date per re-dated commitment (later entries win)."""
        dues: dict[str, date] = {}
        for entry in sorted(self.redated, key=lambda r: r.on):  # stable: file order on ties
            dues[entry.commitment] = entry.due
        return dues

    def readings_for(self, measure: Measure) -> list[Reading]:
        """One reading per day, in date order; a later entry for the same day corrects it."""
        by_day: dict[date, Reading] = {}
        for reading in self.readings:
            if reading.measure == measure:
                by_day[reading.on] = reading
        return [by_day[day] for day in sorted(by_day)]

    def latest(self, measure: Measure) -> Reading | None:
        readings = self.readings_for(measure)
        return readings[-1] if readings else None

    @property
    def has_readings(self) -> bool:
        return bool(self.readings)


# -- where it lives ------------------------------------------------------------------------------
def journal_path(alliance_file: str | Path) -> Path:
    """`team.toml` → `team.progress.toml`, in the same folder."""
    path = Path(alliance_file)
    stem = path.name[:-5] if path.name.endswith(".toml") else path.name
    return path.with_name(stem + SUFFIX)


def load_journal(alliance: Alliance, path: str | Path | None = None) -> Journal:
    """The journal beside the alliance's file (or at `path`); an empty one if there is none."""
    if path is None:
        if alliance.source is None:
            return Journal()
        path = journal_path(alliance.source)
    path = Path(path)
    text = _read(path)
    if text is None:
        return Journal(source=path)
    return loads_journal(text, alliance, path)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise BadInput("is a folder, not a progress journal", file=path,
                       hint="move the folder away: this name is kept for the journal") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"is not UTF-8 text ({exc.reason})", file=path,
                       hint="save the journal as UTF-8") from None
    except OSError as exc:
        raise BadInput(f"cannot be read ({exc.strerror})", file=path,
                       hint="check the file's permissions") from None


# -- lookups shared by the loader and the commands -----------------------------------------------
class Invalid(ValueError):
    """A value that does not fit: what is wrong, and what to do. Each caller places it: at a
    journal line (the loader), or at a command-line argument (the commands)."""

    def __init__(self, problem: str, hint: str) -> None:
        super().__init__(f"{problem}; {hint}")
        self.problem = problem
        self.hint = hint


def find_measure(alliance: Alliance, ref: str) -> Measure:
    """A measure by its `id`, else by its name (case- and space-insensitive)."""
    wanted = ref.strip()
    for measure in alliance.measures:
        if measure.id is not None and measure.id == wanted:
            return measure
    folded = " ".join(wanted.casefold().split())
    named = [m for m in alliance.measures if " ".join(m.name.casefold().split()) == folded]
    if len(named) > 1:
        raise Invalid(f"{ref!r} names {len(named)} measures",
                      "give them an `id` in the alliance file and use that")
    if named:
        return named[0]
    if not alliance.measures:
        raise Invalid(f"{ref!r} is not a measure: the alliance has none",
                      "add a [[measures]] table to the alliance file first")
    known = ", ".join(f"{m.id} ({m.name!r})" if m.id else repr(m.name) for m in alliance.measures)
    raise Invalid(f"{ref!r} is not a measure", f"use one of: {known}")


def measure_ref(measure: Measure) -> str:
    """How the journal names a measure: its id when it has one (names get edited)."""
    return measure.id or measure.name


def check_commitment(alliance: Alliance, ref: str) -> str:
    ids = [c.id for c in alliance.commitments]
    if ref in ids:
        return ref
    if not ids:
        raise Invalid(f"{ref!r} is not a commitment: the alliance has none",
                      "add a [[commitments]] table to the alliance file first")
    raise Invalid(f"{ref!r} is not a commitment", "use one of the commitment ids: "
                  + ", ".join(ids))


def check_member(alliance: Alliance, ref: str) -> str:
    ids = [m.id for m in alliance.members]
    if ref in ids:
        return ref
    raise Invalid(f"{ref!r} is not a member", "use one of the member ids: " + ", ".join(ids))


def check_day(alliance: Alliance, day: date) -> date:
    if not alliance.starts <= day <= alliance.deadline:
        raise Invalid(f"{day} is outside the alliance ({alliance.starts} to "
                      f"{alliance.deadline})", "use a date in that range")
    return day


def check_value(value: object) -> int | float:
    """A finite number; "12", "-3.5" and "1e3" from a command line become numbers."""
    if isinstance(value, str):
        text = value.strip()
        if not _NUMBER.match(text):
            raise Invalid(f"{value!r} is not a number", "write it like 12 or 3.5 (a dot for "
                          "decimals, no units or thousands separators)")
        number: int | float = int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
        value = number
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"{value!r} is not a number", "write it like 12 or 3.5")
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid(f"{value!r} is not a finite number", "write a number like 12 or 3.5")
    if isinstance(value, int) and abs(value) >= 2**63:
        # TOML integers are 64-bit: a bigger one would not load in other tools.
        raise Invalid(f"{value!r} is too large for a whole number",
                      "write it as a decimal (like 1.5e20)")
    return value


# -- loading -------------------------------------------------------------------------------------
def loads_journal(text: str, alliance: Alliance, path: str | Path = "<journal>") -> Journal:
    """Parse and validate journal text against its alliance. Raises BadInput."""
    path = Path(path)
    data = parse_toml(text, path)
    lines = index_lines(text)
    root = Reader(data, "", path, lines)
    owner = root.text("alliance")
    if owner and owner != alliance.id:
        raise root.fail("alliance", f"belongs to alliance {owner!r}, not {alliance.id!r}",
                        "use the journal written for this alliance file, or fix the id")
    entries: list[tuple[int, Reader, str]] = []
    for kind in ("reading", "done", "dropped", "redated"):
        for reader in root.tables(kind):
            entries.append((find_line(lines, reader.path) or 0, reader, kind))
    root.done()
    # File order is the order of writing; the arrays alone lose it across kinds.
    entries.sort(key=lambda e: e[0])

    readings: list[Reading] = []
    done: list[Done] = []
    dropped: list[Dropped] = []
    redated: list[Redated] = []
    closed: dict[str, tuple[str, int]] = {}  # commitment → (how it was closed, line)
    for line, reader, kind in entries:
        on = _day(reader, alliance, "on")
        by = _member(reader, alliance, "by")
        if kind == "reading":
            measure_name = reader.text("measure", required=True)
            measure = _checked(reader, "measure", find_measure, alliance, measure_name)
            value = reader.get("value", (int, float), required=True,
                               hint="write a number, like value = 12")
            value = _checked(reader, "value", check_value, value)
            readings.append(Reading(measure, value, on, by, _free_text(reader, "note"), line))
            reader.done()
            continue
        commitment = reader.text("commitment", required=True)
        _checked(reader, "commitment", check_commitment, alliance, commitment)
        if commitment in closed:
            how, where = closed[commitment]
            raise reader.fail("commitment", f"{commitment!r} was already {how} (line {where})",
                              "a commitment is done or dropped once; remove this entry")
        if kind == "done":
            done.append(Done(commitment, on, by, _free_text(reader, "note"), line))
            closed[commitment] = ("done", line)
        elif kind == "dropped":
            reason = _free_text(reader, "reason", required=True,
                                hint='say why, like reason = "the agency writes it"')
            dropped.append(Dropped(commitment, on, reason, by, line))
            closed[commitment] = ("dropped", line)
        else:
            due = _day(reader, alliance, "due")
            reason = _free_text(reader, "reason", required=True,
                                hint='say why, like reason = "waiting for legal"')
            redated.append(Redated(commitment, on, due, reason, by, line))
        reader.done()
    return Journal(tuple(readings), tuple(done), tuple(dropped), tuple(redated), source=path)


def _checked(reader: Reader, key: str, check: Callable[..., T], *args: object) -> T:
    """`check(*args)`, its `Invalid` placed at `key` of this entry."""
    try:
        return check(*args)
    except Invalid as exc:
        raise reader.fail(key, exc.problem, exc.hint) from None


def _free_text(reader: Reader, key: str, *, required: bool = False,
               hint: str | None = None) -> str:
    """Notes and reasons are the members' own words: any text, "<draft>" included."""
    value = reader.get(key, str, required=required, default="", hint=hint).strip()
    if required and not value:
        raise reader.fail(key, "is empty", hint or "write something here")
    return value


def _day(reader: Reader, alliance: Alliance, key: str) -> date:
    day = reader.date(key, required=True)
    assert day is not None
    return _checked(reader, key, check_day, alliance, day)


def _member(reader: Reader, alliance: Alliance, key: str) -> str | None:
    ref = reader.text(key)
    if not ref:
        return None
    return _checked(reader, key, check_member, alliance, ref)


# -- writing -------------------------------------------------------------------------------------
def _string(value: str) -> str:
    """A TOML basic string (escapes: backslash, quote, and every control character)."""
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _number(value: int | float) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))


def entry_text(entry: Entry) -> str:
    """One entry as a TOML block (ends with a newline)."""
    fields: list[tuple[str, str]]
    if isinstance(entry, Reading):
        fields = [("measure", _string(measure_ref(entry.measure))),
                  ("value", _number(entry.value)), ("on", entry.on.isoformat())]
        kind = "reading"
    elif isinstance(entry, Done):
        fields = [("commitment", _string(entry.commitment)), ("on", entry.on.isoformat())]
        kind = "done"
    elif isinstance(entry, Dropped):
        fields = [("commitment", _string(entry.commitment)), ("on", entry.on.isoformat()),
                  ("reason", _string(entry.reason))]
        kind = "dropped"
    else:
        fields = [("commitment", _string(entry.commitment)), ("on", entry.on.isoformat()),
                  ("due", entry.due.isoformat()), ("reason", _string(entry.reason))]
        kind = "redated"
    if entry.by:
        fields.append(("by", _string(entry.by)))
    note = getattr(entry, "note", "")
    if note:
        fields.append(("note", _string(note)))
    return f"[[{kind}]]\n" + "".join(f"{key} = {value}\n" for key, value in fields)


def header(alliance: Alliance) -> str:
    """The commented header of a new journal: the format, where a reader of the file sees it."""
    source = alliance.source.name if alliance.source else "the alliance file"
    return (
        f"# Progress journal of {_string(alliance.title)} ({source}): what happened, as it "
        "happened.\n"
        "# Append-only: `alliance log` and `alliance done` add entries at the end. Never edit\n"
        "# or delete an entry; to correct a reading, log another for the same day (the later\n"
        "# one wins). Dates lie between the alliance's start and deadline; `by` is a member id.\n"
        "#\n"
        '#   [[reading]]  measure = "<measure id or name>"  value = <number>  on = <date>\n'
        '#                by = "<member id>" (optional)  note = "..." (optional)\n'
        '#   [[done]]     commitment = "<id>"  on = <date>  by, note (optional)\n'
        '#   [[dropped]]  commitment = "<id>"  on = <date>  reason = "..."  by (optional)\n'
        '#   [[redated]]  commitment = "<id>"  on = <date>  due = <new date>  reason = "..."\n'
        "#                by (optional)\n"
        f"alliance = {_string(alliance.id)}\n"
    )


def append(alliance: Alliance, entry: Entry, path: str | Path | None = None) -> Journal:
    """Add one entry at the end of the journal; returns the journal with it.

    The whole journal, new entry included, is validated before anything is written, so a bad
    entry (or an already broken journal) leaves the file's bytes as they were. Then the text is
    appended — earlier bytes are never rewritten — and fsynced, with the folder on creation.
    """
    if path is None:
        if alliance.source is None:
            raise BadInput("the alliance has no file, so its journal has no place",
                           hint="load the alliance from a file")
        path = journal_path(alliance.source)
    path = Path(path)
    existing = _read(path)
    if existing is not None:
        loads_journal(existing, alliance, path)  # a broken journal is reported as it stands
    if existing is None or not existing.strip():
        addition = header(alliance) + "\n" + entry_text(entry)
    else:
        lead = "" if existing.endswith("\n") else "\n"
        addition = lead + "\n" + entry_text(entry)
    journal = loads_journal((existing or "") + addition, alliance, path)
    created = existing is None
    # O_BINARY (Windows): the bytes validated are the bytes written, "\n" and all.
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o644)
    try:
        data = addition.encode("utf-8")
        while data:
            written = os.write(fd, data)
            data = data[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        _fsync_folder(path.parent)
    return journal


def _fsync_folder(folder: Path) -> None:
    """Make a new file's name durable too (POSIX); folders cannot be opened on Windows."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
