"""alliance.toml → Alliance. Strict: unknown keys, bad types and broken references are errors.

Every error is a `BadInput` naming the file, the key path and the line, with what to do.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .durations import Cadence, parse_cadence, parse_duration
from .errors import BadInput
from .locate import find_line, index_lines
from .model import (
    Alliance,
    Celebration,
    ChannelAvoid,
    ChannelUse,
    Checkins,
    Commitment,
    Communication,
    Goal,
    Measure,
    Member,
    Review,
)
from .reader import Reader
from .sequence import find_cycle

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
EMAIL_RE = re.compile(r"^[^@\s<>()\[\],;:\"\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
WEEKDAYS = {"monday": "MO", "tuesday": "TU", "wednesday": "WE", "thursday": "TH",
            "friday": "FR", "saturday": "SA", "sunday": "SU"}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
ID_HINT = "use letters, digits, '-', '_' or '.', starting with a letter or digit (max 64)"


def load(path: str | Path) -> Alliance:
    """Read and validate an alliance file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput("file not found", file=path,
                       hint="check the path, or create one with `alliance init`") from None
    except IsADirectoryError:
        raise BadInput("is a folder, not an alliance file", file=path,
                       hint="name the .toml file inside it") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"is not UTF-8 text ({exc.reason})", file=path,
                       hint="save the file as UTF-8") from None
    except OSError as exc:
        raise BadInput(f"cannot be read ({exc.strerror})", file=path,
                       hint="check the file's permissions") from None
    return loads(text, path)


def parse_toml(text: str, path: Path) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line = int(match.group(1)) if match else None
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        raise BadInput(f"is not valid TOML: {problem}", file=path, line=line,
                       hint="fix the syntax at that line (strings need quotes, "
                       "dates look like 2027-03-31)") from None


def loads(text: str, path: str | Path = "<alliance>") -> Alliance:
    path = Path(path)
    data = parse_toml(text, path)
    lines = index_lines(text)
    root = Reader(data, "", path, lines)
    alliance = _alliance(root, path)
    root.done()
    return alliance


def _alliance(root: Reader, path: Path) -> Alliance:
    head = root.table("alliance", required=True)
    assert head is not None
    alliance_id = head.text("id", required=True,
                            hint="add `id = \"…\"` (alliance init generates one)")
    if not ID_RE.match(alliance_id):
        raise head.fail("id", f"{alliance_id!r} is not a valid id", ID_HINT)
    title = head.text("title", required=True)
    timezone = _zone(head, "timezone", required=True)
    starts = head.date("starts", required=True)
    deadline = head.date("deadline", required=True)
    assert starts is not None and deadline is not None and timezone is not None
    if deadline < starts:
        raise head.fail("deadline", f"{deadline} is before the start ({starts})",
                        "move the deadline after `starts`, or the start before it")
    review_cadence = head.parsed("review_every", parse_cadence)
    head.done()

    goal = _goal(root)
    members = _members(root)
    measures = _measures(root, members)
    commitments = _commitments(root, members)
    communication = _communication(root)
    checkins = _checkins(root)
    celebration = _celebration(root)
    review = _review(root, review_cadence)
    reflection = root.texts("reflection")
    return Alliance(
        id=alliance_id, title=title, timezone=timezone, starts=starts, deadline=deadline,
        goal=goal, members=members, measures=measures, commitments=commitments,
        communication=communication, checkins=checkins, celebration=celebration,
        review=review, reflection=reflection, source=path,
    )


def _zone(reader: Reader, key: str, *, required: bool = False) -> str | None:
    name = reader.text(key, required=required)
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise reader.fail(key, f"{name!r} is not a known time zone",
                          'use an IANA name like "America/New_York" or "Europe/Berlin"') from None
    return name


def _goal(root: Reader) -> Goal:
    goal = root.table("goal", required=True)
    assert goal is not None
    result = Goal(
        statement=goal.text("statement", required=True, single_line=False),
        why=goal.text("why", single_line=False),
        pain=goal.text("pain", single_line=False),
    )
    goal.done()
    return result


def _members(root: Reader) -> tuple[Member, ...]:
    readers = root.tables("members")
    if not readers:
        raise root.fail("members", "is missing: an alliance needs its members",
                        "add a [[members]] table with id, name and email for each person")
    members: list[Member] = []
    seen: set[str] = set()
    for reader in readers:
        member_id = reader.text("id", required=True)
        if not ID_RE.match(member_id):
            raise reader.fail("id", f"{member_id!r} is not a valid id", ID_HINT)
        if member_id in seen:
            raise reader.fail("id", f"{member_id!r} is used by two members",
                              "give each member a different id")
        seen.add(member_id)
        email = reader.text("email", required=True)
        if not EMAIL_RE.match(email):
            raise reader.fail("email", f"{email!r} is not an email address",
                              "write it like ana@example.com")
        members.append(Member(
            id=member_id,
            name=reader.text("name", required=True),
            email=email,
            timezone=_zone(reader, "timezone"),
            role=reader.text("role"),
            needs=reader.texts("needs"),
            offers=reader.texts("offers"),
        ))
        reader.done()
    return tuple(members)


def _member_ref(reader: Reader, key: str, members: tuple[Member, ...]) -> str | None:
    ref = reader.text(key)
    if not ref:
        return None
    if ref not in {m.id for m in members}:
        ids = ", ".join(m.id for m in members)
        raise reader.fail(key, f"{ref!r} is not a member", f"use one of the member ids: {ids}")
    return ref


def _measures(root: Reader, members: tuple[Member, ...]) -> tuple[Measure, ...]:
    measures = []
    ids: set[str] = set()
    for reader in root.tables("measures"):
        number = (int, float, str)
        measure_id = reader.text("id") or None
        if measure_id is not None:
            if not ID_RE.match(measure_id):
                raise reader.fail("id", f"{measure_id!r} is not a valid id", ID_HINT)
            if measure_id in ids:
                raise reader.fail("id", f"{measure_id!r} is used by two measures",
                                  "give each measure a different id")
            ids.add(measure_id)
        measures.append(Measure(
            name=reader.text("name", required=True),
            id=measure_id,
            baseline=reader.get("baseline", number),
            target=reader.get("target", number),
            unit=reader.text("unit"),
            by=reader.date("by"),
            inspect=reader.text("inspect", single_line=False),
            owner=_member_ref(reader, "owner", members),
        ))
        reader.done()
    return tuple(measures)


def _commitments(root: Reader, members: tuple[Member, ...]) -> tuple[Commitment, ...]:
    readers = root.tables("commitments")
    commitments: list[Commitment] = []
    seen: set[str] = set()
    for reader in readers:
        commitment_id = reader.text("id", required=True)
        if not ID_RE.match(commitment_id):
            raise reader.fail("id", f"{commitment_id!r} is not a valid id", ID_HINT)
        if commitment_id in seen:
            raise reader.fail("id", f"{commitment_id!r} is used by two commitments",
                              "give each commitment a different id")
        seen.add(commitment_id)
        takes = reader.parsed("takes", lambda t: parse_duration(t, allow=("days", "weeks")))
        commitments.append(Commitment(
            id=commitment_id,
            what=reader.text("what", required=True),
            owner=_member_ref(reader, "owner", members),
            due=reader.date("due"),
            after=reader.text("after") or None,
            takes=takes,
            notes=reader.text("notes", single_line=False),
        ))
        reader.done()
    for reader, commitment in zip(readers, commitments, strict=True):
        if commitment.after is not None:
            if commitment.after not in seen:
                raise reader.fail("after", f"{commitment.after!r} is not a commitment",
                                  "use the id of another commitment: " + ", ".join(sorted(seen)))
            if commitment.due is None and commitment.takes is None:
                raise reader.fail("after", "says what comes before but not when this is due",
                                  'add `takes = "2 weeks"` or a hard `due = 2027-01-15`')
        elif commitment.takes is not None and commitment.due is None:
            raise reader.fail("takes", "needs `after`: takes counts from another commitment",
                              'add `after = "<id>"`, or use `due = <date>` instead')
    cycle = find_cycle(commitments)
    if cycle:
        index = next(i for i, c in enumerate(commitments) if c.id == cycle[0])
        raise readers[index].fail("after", "commitments wait on each other in a circle: "
                                  + " → ".join(cycle[::-1]),
                                  "break the circle: one of them must not have `after`")
    return tuple(commitments)


def _communication(root: Reader) -> Communication:
    reader = root.table("communication")
    if reader is None:
        return Communication()
    use = []
    for item in reader.tables("use"):
        use.append(ChannelUse(channel=item.text("channel", required=True),
                              purpose=item.text("for"),
                              respond_within=item.text("respond_within")))
        item.done()
    avoid = []
    for item in reader.tables("avoid"):
        avoid.append(ChannelAvoid(channel=item.text("channel", required=True),
                                  why=item.text("why")))
        item.done()
    result = Communication(use=tuple(use), avoid=tuple(avoid),
                           notes=reader.text("notes", single_line=False))
    reader.done()
    return result


def _days(reader: Reader, freq: str) -> tuple[tuple[str, ...], int | None]:
    value = reader.get("day", (str, list, int))
    if value is None:
        return (), None
    if freq == "DAILY":
        raise reader.fail("day", "does not go with a daily cadence",
                          'remove `day`, or use every = "week"')
    if isinstance(value, int):
        if freq != "MONTHLY" or not 1 <= value <= 28:
            raise reader.fail("day", f"{value} is not a day this cadence can use",
                              "with every = \"month\" use 1–28 or \"first monday\"; "
                              "with weeks use a weekday name")
        return (), value
    names = [value] if isinstance(value, str) else value
    days: list[str] = []
    for i, name in enumerate(names):
        key = "day" if isinstance(value, str) else f"day[{i}]"
        if not isinstance(name, str):
            raise reader.fail(key, "must be a weekday name", 'write it like "monday"')
        words = name.strip().lower().split()
        if len(words) == 1 and words[0] in WEEKDAYS:
            days.append(WEEKDAYS[words[0]])
        elif (len(words) == 2 and words[0] in ORDINALS and words[1] in WEEKDAYS
              and freq == "MONTHLY"):
            days.append(f"{ORDINALS[words[0]]}{WEEKDAYS[words[1]]}")
        else:
            raise reader.fail(key, f"{name!r} is not a weekday",
                              'write a weekday like "monday" (monthly: "first monday")')
    return tuple(days), None


def validate_rrule(reader: Reader, key: str, rule: str) -> str:
    from dateutil.rrule import rrulestr  # dateutil is small; imported here to keep --help fast

    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "\n" in text or "DTSTART" in text.upper():
        raise reader.fail(key, "must be a single RRULE without DTSTART",
                          'write only the rule, like "FREQ=WEEKLY;BYDAY=MO,TH"')
    try:
        rrulestr(text, dtstart=datetime(2026, 1, 1, 9, 0))
    except (ValueError, TypeError) as exc:
        raise reader.fail(key, f"{rule!r} is not a valid RRULE ({exc})",
                          'write it like "FREQ=WEEKLY;BYDAY=MO,TH" (RFC 5545)') from None
    if "FREQ=" not in text.upper():
        raise reader.fail(key, f"{rule!r} has no FREQ", 'start it with "FREQ=WEEKLY;"')
    return text.upper()


def _checkins(root: Reader) -> Checkins | None:
    reader = root.table("checkins")
    if reader is None:
        return None
    cadence = reader.parsed("every", parse_cadence)
    rule = reader.get("rrule", str)
    if cadence is not None and rule is not None:
        raise reader.fail("rrule", "and `every` both set the cadence",
                          "keep one of them: `every` + `day`, or `rrule`")
    if cadence is None and rule is None:
        raise reader.fail("every", "is missing: how often do you check in?",
                          'add every = "week" (or a raw rrule = "FREQ=WEEKLY;BYDAY=MO")')
    days: tuple[str, ...] = ()
    month_day = None
    if cadence is not None:
        days, month_day = _days(reader, cadence.freq)
    elif reader.has("day"):
        raise reader.fail("day", "does not go with `rrule`", "put BYDAY into the rrule instead")
    result = Checkins(
        time=reader.clock("time", default=time(9, 0)) or time(9, 0),
        duration=reader.parsed("duration", parse_duration) or timedelta(minutes=30),
        cadence=cadence,
        days=days,
        month_day=month_day,
        rrule=validate_rrule(reader, "rrule", rule) if rule is not None else None,
        where=reader.text("where"),
        questions=reader.texts("questions"),
    )
    reader.done()
    return result


def _celebration(root: Reader) -> Celebration | None:
    reader = root.table("celebration")
    if reader is None:
        return None
    on_value = reader.get("on", (str, date), default="deadline")
    if isinstance(on_value, str):
        on = reader.date("on") if on_value.strip().lower() != "deadline" else None
    else:
        on = on_value
    result = Celebration(
        how=reader.text("how", required=True, single_line=False),
        on=on,
        time=reader.clock("time"),
        duration=reader.parsed("duration", parse_duration) or timedelta(hours=2),
        where=reader.text("where"),
    )
    reader.done()
    return result


def _review(root: Reader, cadence: Cadence | None) -> Review | None:
    reader = root.table("review")
    if reader is None:
        return Review(cadence=cadence) if cadence else None
    every = reader.parsed("every", parse_cadence)
    if every is not None and cadence is not None:
        raise reader.fail("every", "repeats alliance.review_every",
                          "keep one of them (alliance.review_every is enough)")
    cadence = cadence or every
    if cadence is None:
        raise reader.fail("every", "is missing: how often do you review the alliance?",
                          'add review_every = "4 weeks" to [alliance]')
    result = Review(
        cadence=cadence,
        duration=reader.parsed("duration", parse_duration) or timedelta(minutes=30),
        time=reader.clock("time"),
        questions=reader.texts("questions"),
    )
    reader.done()
    return result


def line_of(alliance: Alliance, key: str) -> int | None:
    """The line of a key path in the alliance's own file (for warnings)."""
    if alliance.source is None or not alliance.source.exists():
        return None
    return find_line(index_lines(alliance.source.read_text(encoding="utf-8")), key)
