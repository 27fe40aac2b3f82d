"""alliance.toml → Alliance. Strict: unknown keys, bad types and broken references are errors.

Every error is a `BadInput` naming the file, the key path and the line, with what to do.
`load` raises the first one (every command but `check` stops there); `diagnose` goes on and
returns them all, so `check` can report a file the way a linter does.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

from . import colors, limits
from .durations import Cadence, parse_cadence, parse_duration
from .errors import BadInput
from .items import VIDEO_SERVICES
from .locate import LineIndex, find_line, index_lines
from .model import (
    Alliance,
    Celebration,
    ChannelAvoid,
    ChannelUse,
    Checkins,
    Colors,
    Commitment,
    Communication,
    Goal,
    Measure,
    Member,
    Review,
)
from .reader import Problems, Reader
from .sequence import find_cycle
from .zones import check_zone

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
EMAIL_RE = re.compile(r"^[^@\s<>()\[\],;:\"\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
WEEKDAYS = {"monday": "MO", "tuesday": "TU", "wednesday": "WE", "thursday": "TH",
            "friday": "FR", "saturday": "SA", "sunday": "SU"}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
VIDEO_HINT = 'use "google-meet", "teams" or the meeting\'s URL, like "https://zoom.us/j/123"'
_VIDEO_ALIASES = {"meet": "google-meet", "googlemeet": "google-meet", "google meet": "google-meet",
                  "hangouts": "google-meet", "msteams": "teams", "microsoft teams": "teams",
                  "ms teams": "teams"}
ID_HINT = "use letters, digits, '-', '_' or '.', starting with a letter or digit (max 64)"


def load(path: str | Path) -> Alliance:
    """Read and validate an alliance file; raise the first problem as BadInput."""
    path = Path(path)
    return loads(_read(path), path)


def diagnose(path: str | Path) -> tuple[Alliance | None, list[BadInput]]:
    """Read and validate an alliance file, going on past each problem where it can.

    Returns the alliance and no errors, or None and every error found (in file order).
    """
    path = Path(path)
    try:
        text = _read(path)
    except BadInput as exc:
        return None, [exc]
    return diagnoses(text, path)


def _read(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > limits.MAX_FILE_BYTES and path.is_file():
            raise BadInput(f"is {size // (1024 * 1024)} MB, too big for an alliance file",
                           file=path, hint=f"keep it under {limits.MAX_FILE_BYTES // 2**20} MB")
        # utf-8-sig: editors on Windows like to start files with a byte-order mark.
        return path.read_text(encoding="utf-8-sig")
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


def parse_toml(text: str, path: Path) -> dict:
    try:
        # A byte-order mark is not TOML, but editors write one (the user config comes here too).
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line = int(match.group(1)) if match else None
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        raise BadInput(f"is not valid TOML: {problem}", file=path, line=line,
                       hint="fix the syntax at that line (strings need quotes, "
                       "dates look like 2027-03-31)") from None
    except ValueError:
        # tomllib converts integers with int(), which refuses more than 4300 digits.
        raise BadInput("is not valid TOML: a number is too long", file=path,
                       hint="write numbers with at most 4300 digits") from None
    except RecursionError:
        raise BadInput("is not valid TOML: arrays or tables nest too deeply", file=path,
                       hint="nest lists and inline tables only a few levels deep") from None


def loads(text: str, path: str | Path = "<alliance>") -> Alliance:
    """Validate alliance text; raise the first problem as BadInput."""
    alliance = _build(text, Path(path), Problems())
    assert alliance is not None  # strict Problems raise instead of returning None
    return alliance


def diagnoses(text: str, path: str | Path = "<alliance>"
              ) -> tuple[Alliance | None, list[BadInput]]:
    """Like `diagnose`, for text already read."""
    problems = Problems(collect=True)
    try:
        alliance = _build(text, Path(path), problems)
    except BadInput as exc:  # the file is not TOML: nothing to go on with
        return None, [exc]
    if problems.errors:
        ordered = sorted(problems.errors, key=lambda e: e.line or 0)
        return None, ordered
    return alliance, []


def _build(text: str, path: Path, problems: Problems) -> Alliance | None:
    text = text.removeprefix("\ufeff")
    if len(text) > limits.MAX_FILE_BYTES:
        raise BadInput("is too big for an alliance file", file=path,
                       hint=f"keep it under {limits.MAX_FILE_BYTES // 2**20} MB")
    data = parse_toml(text, path)
    lines = LineIndex(text)
    root = Reader(data, "", path, lines, problems)
    alliance = _alliance(root, path)
    root.done()
    return None if problems.errors else alliance


# -- value parsers with limits ---------------------------------------------------------------
def _duration(allow: tuple[str, ...], maximum: timedelta, what: str
              ) -> Callable[[str], timedelta]:
    """parse_duration, refusing values past `maximum` (they overflow dates downstream)."""

    def parse(text: str) -> timedelta:
        try:
            value = parse_duration(text, allow=allow)
        except OverflowError:
            value = timedelta.max
        if value > maximum:
            from .durations import describe_duration

            raise ValueError(f"{text!r} is too long for {what}; keep it to at most "
                             f"{describe_duration(maximum)}")
        return value

    return parse


_CADENCE_MAX = {"DAILY": limits.MAX_CADENCE_DAYS, "WEEKLY": limits.MAX_CADENCE_WEEKS,
                "MONTHLY": limits.MAX_CADENCE_MONTHS, "YEARLY": 1}


def _cadence(text: str) -> Cadence:
    cadence = parse_cadence(text)
    if cadence.interval > _CADENCE_MAX[cadence.freq]:
        raise ValueError(f"{text!r} is more than a year apart; use at most "
                         f"{limits.MAX_CADENCE_DAYS} days, {limits.MAX_CADENCE_WEEKS} weeks "
                         f"or {limits.MAX_CADENCE_MONTHS} months")
    return cadence


MEETING = _duration(("minutes", "hours", "days", "weeks"), limits.MAX_MEETING, "a meeting")


# -- tables ----------------------------------------------------------------------------------
def _alliance(root: Reader, path: Path) -> Alliance:
    head = root.table("alliance", required=True)
    alliance_id, title = "", ""
    timezone: str | None = None
    starts: date | None = None
    deadline: date | None = None
    review_cadence: Cadence | None = None
    if head is not None:
        alliance_id = head.text("id", required=True,
                                hint="add `id = \"…\"` (alliance init generates one)")
        if alliance_id and not ID_RE.match(alliance_id):
            head.report("id", f"{alliance_id!r} is not a valid id", ID_HINT)
        title = head.text("title", required=True)
        timezone = _zone(head, "timezone", required=True)
        starts = head.date("starts", required=True)
        deadline = head.date("deadline", required=True)
        if starts is not None and deadline is not None and deadline < starts:
            head.report("deadline", f"{deadline} is before the start ({starts})",
                        "move the deadline after `starts`, or the start before it")
            deadline = None
        review_cadence = head.parsed("review_every", _cadence)
        head.done()

    span = (starts, deadline) if starts is not None and deadline is not None else None
    goal = _goal(root)
    members = _members(root)
    measures = _measures(root, members)
    commitments = _commitments(root, members)
    communication = _communication(root)
    checkins = _checkins(root, span)
    celebration = _celebration(root)
    review = _review(root, review_cadence, span)
    reflection = root.texts("reflection")
    colors_table = _colors(root)
    return Alliance(
        id=alliance_id, title=title, timezone=timezone or "UTC", starts=starts or date.min,
        deadline=deadline or date.max, goal=goal, members=members, measures=measures,
        commitments=commitments, communication=communication, checkins=checkins,
        celebration=celebration, review=review, reflection=reflection,
        colors=colors_table, source=path,
    )


def _zone(reader: Reader, key: str, *, required: bool = False) -> str | None:
    name = reader.text(key, required=required)
    if not name:
        return None
    try:
        return check_zone(name)
    except BadInput as exc:
        reader.report(key, exc.problem, exc.hint)
        return None


def _goal(root: Reader) -> Goal:
    goal = root.table("goal", required=True)
    if goal is None:
        return Goal(statement="")
    result = Goal(
        statement=goal.text("statement", required=True, single_line=False),
        why=goal.text("why", single_line=False),
        pain=goal.text("pain", single_line=False),
    )
    goal.done()
    return result


def _members(root: Reader) -> tuple[Member, ...]:
    readers = root.tables("members", limit=limits.MAX_MEMBERS)
    if not root.has("members") or root.data["members"] == []:
        root.report("members", "is missing: an alliance needs its members",
                    "add a [[members]] table with id, name and email for each person")
    members: list[Member] = []
    seen: set[str] = set()
    for reader in readers:
        member_id = reader.text("id", required=True)
        if member_id and not ID_RE.match(member_id):
            reader.report("id", f"{member_id!r} is not a valid id", ID_HINT)
        if member_id in seen:
            reader.report("id", f"{member_id!r} is used by two members",
                          "give each member a different id")
        seen.add(member_id)
        email = reader.text("email", required=True)
        if email and not EMAIL_RE.match(email):
            reader.report("email", f"{email!r} is not an email address",
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
        reader.report(key, f"{ref!r} is not a member", f"use one of the member ids: {ids}")
        return None
    return ref


def _number(reader: Reader, key: str) -> int | float | str | None:
    value = reader.get(key, (int, float, str))
    if isinstance(value, float) and not math.isfinite(value):
        reader.report(key, f"{value} is not a usable number", "write a finite number, like 42")
        return None
    return value


def _measures(root: Reader, members: tuple[Member, ...]) -> tuple[Measure, ...]:
    measures = []
    ids: set[str] = set()
    for reader in root.tables("measures", limit=limits.MAX_MEASURES):
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
            baseline=_number(reader, "baseline"),
            target=_number(reader, "target"),
            unit=reader.text("unit"),
            by=reader.date("by"),
            inspect=reader.text("inspect", single_line=False),
            owner=_member_ref(reader, "owner", members),
        ))
        reader.done()
    return tuple(measures)


TAKES = _duration(("days", "weeks"), limits.MAX_TAKES, "one commitment")


def _commitments(root: Reader, members: tuple[Member, ...]) -> tuple[Commitment, ...]:
    readers = root.tables("commitments", limit=limits.MAX_COMMITMENTS)
    commitments: list[Commitment] = []
    seen: set[str] = set()
    sound = True  # ids unique and every `after` known: the sequence can be followed
    for reader in readers:
        commitment_id = reader.text("id", required=True)
        if commitment_id and not ID_RE.match(commitment_id):
            reader.report("id", f"{commitment_id!r} is not a valid id", ID_HINT)
        if commitment_id in seen:
            reader.report("id", f"{commitment_id!r} is used by two commitments",
                          "give each commitment a different id")
            sound = False
        seen.add(commitment_id)
        commitments.append(Commitment(
            id=commitment_id,
            what=reader.text("what", required=True),
            owner=_member_ref(reader, "owner", members),
            due=reader.date("due"),
            after=reader.text("after") or None,
            takes=reader.parsed("takes", TAKES),
            notes=reader.text("notes", single_line=False),
        ))
        reader.done()
    for reader, commitment in zip(readers, commitments, strict=True):
        if commitment.after is not None:
            if commitment.after not in seen:
                reader.report("after", f"{commitment.after!r} is not a commitment",
                              "use the id of another commitment: " + ", ".join(sorted(seen)))
                sound = False
            elif commitment.due is None and commitment.takes is None and not reader.has(
                    "takes"):
                reader.report("after", "says what comes before but not when this is due",
                              'add `takes = "2 weeks"` or a hard `due = 2027-01-15`')
        elif commitment.takes is not None and commitment.due is None:
            reader.report("takes", "needs `after`: takes counts from another commitment",
                          'add `after = "<id>"`, or use `due = <date>` instead')
    if not sound:
        return tuple(commitments)
    cycle = find_cycle(commitments)
    if cycle:
        index = next(i for i, c in enumerate(commitments) if c.id == cycle[0])
        readers[index].report("after", "commitments wait on each other in a circle: "
                              + " → ".join(cycle[::-1]),
                              "break the circle: one of them must not have `after`")
        return tuple(commitments)
    _sequence_limits(readers, commitments)
    return tuple(commitments)


def _sequence_limits(readers: list[Reader], commitments: list[Commitment]) -> None:
    """Refuse sequences so long, or ending so late, that scheduling them cannot work.

    Walks each `after` chain without recursion (a chain may be thousands long) and stops at
    the first problem: every commitment after it would repeat the same one.
    """
    index = {c.id: i for i, c in enumerate(commitments)}
    depth: dict[str, int] = {}
    due: dict[str, date | None] = {}
    for commitment in commitments:
        chain: list[Commitment] = []
        node: Commitment | None = commitment
        while node is not None and node.id not in depth:
            chain.append(node)
            node = commitments[index[node.after]] if node.after else None
        for item in reversed(chain):
            before = item.after
            depth[item.id] = depth[before] + 1 if before else 0
            reader = readers[index[item.id]]
            if depth[item.id] > limits.MAX_SEQUENCE_DEPTH:
                reader.report("after", f"is step {depth[item.id] + 1} of one sequence",
                              f"keep a sequence to at most {limits.MAX_SEQUENCE_DEPTH} "
                              f"commitments, each after the previous one")
                return
            result = item.due
            start = due[before] if before else None
            if result is None and start is not None and item.takes is not None:
                try:
                    result = start + item.takes
                except OverflowError:
                    result = date.max
                if result.year > limits.MAX_YEAR:
                    reader.report("takes", f"makes it due after {limits.MAX_YEAR}",
                                  f"shorten the sequence: {limits.years_hint()}")
                    return
            due[item.id] = result


def _communication(root: Reader) -> Communication:
    reader = root.table("communication")
    if reader is None:
        return Communication()
    use = []
    for item in reader.tables("use", limit=limits.MAX_LIST_ENTRIES):
        use.append(ChannelUse(channel=item.text("channel", required=True),
                              purpose=item.text("for"),
                              respond_within=item.text("respond_within")))
        item.done()
    avoid = []
    for item in reader.tables("avoid", limit=limits.MAX_LIST_ENTRIES):
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
        reader.report("day", "does not go with a daily cadence",
                      'remove `day`, or use every = "week"')
        return (), None
    if isinstance(value, int):
        if freq != "MONTHLY" or not 1 <= value <= 28:
            reader.report("day", f"{value} is not a day this cadence can use",
                          "with every = \"month\" use 1–28 or \"first monday\"; "
                          "with weeks use a weekday name")
            return (), None
        return (), value
    names = [value] if isinstance(value, str) else value
    days: list[str] = []
    for i, name in enumerate(names):
        key = "day" if isinstance(value, str) else f"day[{i}]"
        if not isinstance(name, str):
            reader.report(key, "must be a weekday name", 'write it like "monday"')
            continue
        words = name.strip().lower().split()
        if len(words) == 1 and words[0] in WEEKDAYS:
            days.append(WEEKDAYS[words[0]])
        elif (len(words) == 2 and words[0] in ORDINALS and words[1] in WEEKDAYS
              and freq == "MONTHLY"):
            days.append(f"{ORDINALS[words[0]]}{WEEKDAYS[words[1]]}")
        else:
            reader.report(key, f"{name!r} is not a weekday",
                          'write a weekday like "monday" (monthly: "first monday")')
    return tuple(days), None


_RULE_PART = re.compile(r"(?:^|;)([A-Z]+)=([^;]*)")


def validate_rrule(reader: Reader, key: str, rule: str) -> str | None:
    """The rule in upper case without an "RRULE:" prefix, or None after reporting why not."""
    from dateutil.rrule import rrulestr  # dateutil is small; imported here to keep --help fast

    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "\n" in text or "DTSTART" in text.upper():
        reader.report(key, "must be a single RRULE without DTSTART",
                      'write only the rule, like "FREQ=WEEKLY;BYDAY=MO,TH"')
        return None
    until_text = dict(_RULE_PART.findall(text.upper())).get("UNTIL")
    if until_text is not None and not _valid_until(until_text):
        reader.report(key, f"UNTIL={until_text} is not a date", 'write the last day as '
                      'UNTIL=20270331 (that day, in the alliance\'s zone) or an instant as '
                      'UNTIL=20270331T220000Z (UTC)')
        return None
    try:
        # UNTIL is checked above; dateutil would refuse a UTC one next to this naive start.
        rrulestr(";".join(p for p in text.split(";") if not p.upper().startswith("UNTIL=")),
                 dtstart=datetime(2026, 1, 1, 9, 0))
    except (ValueError, TypeError, OverflowError) as exc:
        reader.report(key, f"{rule!r} is not a valid RRULE ({exc})",
                      'write it like "FREQ=WEEKLY;BYDAY=MO,TH" (RFC 5545)')
        return None
    text = text.upper()
    parts = dict(_RULE_PART.findall(text))
    freq = parts.get("FREQ")
    if freq is None:
        reader.report(key, f"{rule!r} has no FREQ", 'start it with "FREQ=WEEKLY;"')
        return None
    if freq in limits.REFUSED_FREQS:
        reader.report(key, f"FREQ={freq} would put a check-in in the calendar more than "
                      "once a day", 'check in at most daily, like "FREQ=DAILY" or '
                      '"FREQ=WEEKLY;BYDAY=MO,TH"')
        return None
    clock = [part for part in ("BYHOUR", "BYMINUTE", "BYSECOND") if part in parts]
    if clock:
        reader.report(key, f"sets the time of day with {clock[0]}",
                      'remove it and set the time with `time = "09:30"`')
        return None
    interval = parts.get("INTERVAL", "1")
    if not interval.isdigit() or int(interval) < 1:
        reader.report(key, f"INTERVAL={interval} is not a positive whole number",
                      'write it like "FREQ=WEEKLY;INTERVAL=2"')
        return None
    if int(interval) > _CADENCE_MAX.get(freq, 1):
        reader.report(key, f"INTERVAL={interval} puts check-ins more than a year apart",
                      "check in at least once a year")
        return None
    until = parts.get("UNTIL")
    if until and not (until[:4].isdigit()
                      and limits.MIN_YEAR <= int(until[:4]) <= limits.MAX_YEAR):
        reader.report(key, f"UNTIL={until} is out of range", limits.years_hint())
        return None
    return text


def _valid_until(value: str) -> bool:
    """RFC 5545's forms: a date, a local date-time, or a UTC one (…Z)."""
    match = re.fullmatch(r"(\d{8})(T(\d{6})Z?)?", value)
    if match is None:
        return False
    try:
        datetime.strptime(match[1] + (match[3] or "000000"), "%Y%m%d%H%M%S")
    except ValueError:
        return False
    return True


def _can_happen(parts: dict[str, str], first: datetime) -> bool:
    """Whether a rule's BY-parts match any date at all.

    dateutil looks for the next match day by day up to the year 9999, which takes seconds
    for a rule like BYMONTH=2;BYMONTHDAY=30. The same parts read as a yearly rule, without
    INTERVAL and BYSETPOS, match a superset of the dates and are searched a year per step;
    when that superset is empty, so is the rule.
    """
    from dateutil.rrule import rrulestr

    kept = {k: v for k, v in parts.items()
            if k not in ("FREQ", "INTERVAL", "BYSETPOS", "COUNT", "UNTIL")}
    ordinal = re.search(r"[+-]?\d", kept.get("BYDAY", ""))
    if ordinal and parts["FREQ"] != "YEARLY" and "BYMONTH" not in kept:
        kept["BYMONTH"] = ",".join(str(m) for m in range(1, 13))  # "1MO": within each month
    yearly = ";".join(["FREQ=YEARLY", *(f"{k}={v}" for k, v in kept.items())])
    return next(iter(rrulestr(yearly, dtstart=first)), None) is not None


def _series_problem(rule: str, first: datetime, end: datetime) -> str | None:
    """Why a check-in series cannot be scheduled, or None: it never happens, or it has more
    than MAX_OCCURRENCES occurrences (counted only up to the limit + 1)."""
    from dateutil.rrule import rrulestr

    parts = dict(_RULE_PART.findall(rule))
    count = int(parts["COUNT"]) if parts.get("COUNT", "").isdigit() else None
    own_until = parts.get("UNTIL")
    if own_until:
        # The user's own end wins over the deadline (the schedule keeps it too).
        end = datetime.strptime(own_until[:8], "%Y%m%d").replace(hour=23, minute=59,
                                                                  second=59)
    elif count is not None:
        end = datetime(limits.MAX_YEAR, 12, 31, 23, 59, 59)
    bare = ";".join(f"{k}={v}" for k, v in _RULE_PART.findall(rule)
                    if k not in ("COUNT", "UNTIL"))
    seen = 0
    try:
        if not _can_happen(parts, first):
            return ("never happens; its parts together match no date (check BYMONTH, "
                    "BYMONTHDAY, BYYEARDAY and BYDAY)")
        for occurrence in rrulestr(bare, dtstart=first):
            if occurrence > end:
                break
            seen += 1
            if count is not None and seen >= count:
                break
            if seen > limits.MAX_OCCURRENCES:
                return (f"has more than {limits.MAX_OCCURRENCES} check-ins; "
                        f"check in less often, or end the series sooner")
    except (ValueError, OverflowError):
        return "cannot be expanded into dates; simplify the rule"
    return None


def _checkins(root: Reader, span: tuple[date, date] | None) -> Checkins | None:
    reader = root.table("checkins")
    if reader is None:
        return None
    cadence = reader.parsed("every", _cadence)
    rule = reader.get("rrule", str)
    if reader.has("every") and reader.has("rrule"):
        reader.report("rrule", "and `every` both set the cadence",
                      "keep one of them: `every` + `day`, or `rrule`")
    elif not reader.has("every") and not reader.has("rrule"):
        reader.report("every", "is missing: how often do you check in?",
                      'add every = "week" (or a raw rrule = "FREQ=WEEKLY;BYDAY=MO")')
    days: tuple[str, ...] = ()
    month_day = None
    if cadence is not None:
        days, month_day = _days(reader, cadence.freq)
    elif reader.has("day") and reader.has("rrule"):
        reader.report("day", "does not go with `rrule`", "put BYDAY into the rrule instead")
    reader.raw("day")  # read above, or its problem told: not an unknown key as well
    result = Checkins(
        time=reader.clock("time", default=time(9, 0)) or time(9, 0),
        duration=reader.parsed("duration", MEETING) or timedelta(minutes=30),
        cadence=cadence,
        days=days,
        month_day=month_day,
        rrule=validate_rrule(reader, "rrule", rule) if rule is not None else None,
        where=reader.text("where"),
        questions=reader.texts("questions"),
        video=_video(reader),
        color=_color(reader, "color"),
    )
    reader.done()
    if span is not None and (result.cadence is not None or result.rrule is not None):
        from .schedule import checkin_rule

        starts, deadline = span
        problem = _series_problem(checkin_rule(result, starts),
                                  datetime.combine(starts, result.time),
                                  datetime.combine(deadline, time(23, 59, 59)))
        if problem:
            what, _, hint = problem.partition("; ")
            reader.report("rrule" if result.rrule else "every", what, hint)
    return result


CELEBRATION = _duration(("minutes", "hours", "days", "weeks"), limits.MAX_CELEBRATION,
                        "a celebration")


def _celebration(root: Reader) -> Celebration | None:
    reader = root.table("celebration")
    if reader is None:
        return None
    on_value = reader.get("on", (str, date), default="deadline")
    on: date | None
    if isinstance(on_value, str):
        on = reader.date("on") if on_value.strip().lower() != "deadline" else None
    else:
        on = reader.date("on")
    result = Celebration(
        how=reader.text("how", required=True, single_line=False),
        on=on,
        time=reader.clock("time"),
        duration=reader.parsed("duration", CELEBRATION) or timedelta(hours=2),
        where=reader.text("where"),
        video=_video(reader),
        color=_color(reader, "color"),
    )
    reader.done()
    return result


def _video(reader: Reader) -> str:
    """`video`: a meeting the calendar service makes ("google-meet", "teams"), or a URL."""
    text = reader.text("video").strip()
    if not text:
        return ""
    lowered = text.lower()
    if lowered in VIDEO_SERVICES:
        return lowered
    if lowered in _VIDEO_ALIASES:
        reader.report("video", f"{text!r} is not a video value",
                      f'write "{_VIDEO_ALIASES[lowered]}" (or the meeting\'s URL)')
        return ""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        scheme, host = parts.scheme.lower(), parts.hostname
    except ValueError:  # e.g. a bracketed host that is no IPv6 address
        scheme, host = "", None
    if not (scheme in ("https", "http") and host and " " not in text):
        reader.report("video", f"{text!r} is neither a meeting service nor a URL", VIDEO_HINT)
        return ""
    return text


def _color(reader: Reader, key: str) -> str:
    """A CSS3 colour name (RFC 7986 COLOR), lower case; "" when not given."""
    text = reader.text(key).strip()
    if not text:
        return ""
    name = text.lower()
    if name not in colors.CSS3:
        close = colors.suggest(name)
        hint = (f"did you mean {' or '.join(repr(c) for c in close)}? " if close else "")
        reader.report(key, f"{text!r} is not a CSS3 colour name",
                      hint + 'use a name like "tomato", "steelblue" or "gold" (CSS3 colour '
                      "keywords)")
        return ""
    return name


def _colors(root: Reader) -> Colors:
    """[colors]: colours of the kinds that have no table of their own."""
    reader = root.table("colors")
    if reader is None:
        return Colors()
    result = Colors(deadlines=_color(reader, "deadlines"))
    reader.done()
    return result


def _occurrences(cadence: Cadence, span: tuple[date, date]) -> int:
    """About how many times a cadence recurs in the span (enough to enforce a limit)."""
    days = (span[1] - span[0]).days + 1
    if cadence.freq == "MONTHLY":
        return days * 12 // 365 // cadence.interval + 1
    step = cadence.step()
    assert step is not None
    count = days // step.days + 1
    return count * 5 // 7 if cadence.weekdays_only else count


def _review(root: Reader, cadence: Cadence | None, span: tuple[date, date] | None
            ) -> Review | None:
    reader = root.table("review")
    result: Review | None = None
    if reader is None:
        result = Review(cadence=cadence) if cadence else None
    else:
        every = reader.parsed("every", _cadence)
        if every is not None and cadence is not None:
            reader.report("every", "repeats alliance.review_every",
                          "keep one of them (alliance.review_every is enough)")
        cadence = cadence or every
        head = root.data.get("alliance")
        told = isinstance(head, dict) and "review_every" in head  # given, maybe refused
        if cadence is None and not reader.has("every") and not told:
            reader.report("every", "is missing: how often do you review the alliance?",
                          'add review_every = "4 weeks" to [alliance]')
        result = Review(
            cadence=cadence or Cadence("WEEKLY", 4, "4 weeks"),
            duration=reader.parsed("duration", MEETING) or timedelta(minutes=30),
            time=reader.clock("time"),
            questions=reader.texts("questions"),
            video=_video(reader),
            color=_color(reader, "color"),
        )
        reader.done()
    if result is not None and span is not None and (
            _occurrences(result.cadence, span) > limits.MAX_OCCURRENCES):
        key = "review.every" if reader is not None and reader.has("every") else (
            "alliance.review_every")
        root.report(key, f"{result.cadence.text!r} makes more than "
                    f"{limits.MAX_OCCURRENCES} reviews before the deadline",
                    "review less often")
    return result


def line_of(alliance: Alliance, key: str) -> int | None:
    """The line of a key path in the alliance's own file (for warnings)."""
    if alliance.source is None:
        return None
    try:
        stat = alliance.source.stat()
        index = _file_index(str(alliance.source), stat.st_mtime_ns, stat.st_size)
    except (OSError, UnicodeDecodeError):
        return None
    return find_line(index, key)


@lru_cache(maxsize=16)
def _file_index(path: str, mtime_ns: int, size: int) -> dict[str, int]:
    # check asks once per finding, and a big file may have thousands: index it once (the
    # file's time and size in the key notice when it was edited meanwhile).
    return index_lines(Path(path).read_text(encoding="utf-8-sig"))
