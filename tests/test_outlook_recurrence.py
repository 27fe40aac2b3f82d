"""RRULE → Graph patternedRecurrence: what Graph would expand equals what the RRULE means."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

from designed_alliance.core.errors import BadInput
from designed_alliance.integrations.outlook.recurrence import to_patterned_recurrence
from designed_alliance.integrations.outlook.timezones import iana_to_windows

NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
INDEX = {"first": 0, "second": 1, "third": 2, "fourth": 3, "last": -1}
HORIZON = date(2029, 12, 31)


def _nth(year: int, month: int, days: list[str], index: str) -> date | None:
    """The index-th day of the month that is any of `days` (Graph's relative patterns)."""
    wanted = {NAMES.index(d) for d in days}
    matches = [date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)
               if date(year, month, d).weekday() in wanted]
    position = INDEX[index]
    return matches[position] if -len(matches) <= position < len(matches) else None


def graph_dates(recurrence: dict) -> list[date]:
    """An independent reading of Graph's documented pattern semantics."""
    pattern, rng = recurrence["pattern"], recurrence["range"]
    start = date.fromisoformat(rng["startDate"])
    end = date.fromisoformat(rng["endDate"]) if rng["type"] == "endDate" else HORIZON
    limit = rng.get("numberOfOccurrences", 10**6)
    interval = pattern["interval"]
    candidates: list[date] = []
    kind = pattern["type"]
    if kind == "daily":
        day = start
        while day <= end:
            candidates.append(day)
            day += timedelta(days=interval)
    elif kind == "weekly":
        first_day = NAMES.index(pattern["firstDayOfWeek"])
        week = start - timedelta(days=(start.weekday() - first_day) % 7)
        while week <= end:
            for offset in range(7):
                day = week + timedelta(days=offset)
                if NAMES[day.weekday()] in pattern["daysOfWeek"] and start <= day <= end:
                    candidates.append(day)
            week += timedelta(weeks=interval)
    else:
        yearly = kind.endswith("Yearly")
        year, month = start.year, (pattern["month"] if yearly else start.month)
        while date(year, month, 1) <= end:
            if kind.startswith("absolute"):
                if pattern["dayOfMonth"] <= calendar.monthrange(year, month)[1]:
                    candidates.append(date(year, month, pattern["dayOfMonth"]))
            else:
                found = _nth(year, month, pattern["daysOfWeek"], pattern["index"])
                if found:
                    candidates.append(found)
            if yearly:
                year += interval
            else:
                month += interval
                year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    out = sorted(d for d in candidates if start <= d <= end)
    return out[:limit]


def rrule_dates(rule: str, start: datetime) -> list[date]:
    naive = start.replace(tzinfo=None)
    until = datetime.combine(HORIZON, datetime.max.time())
    return [d.date() for d in rrulestr(rule, dtstart=naive, ignoretz=True).between(
        naive, until, inc=True)]


NY = "America/New_York"
SUPPORTED = [
    # (rule, start) — every start is an occurrence; ranges cross the DST changes.
    ("FREQ=DAILY;UNTIL=20270331T235959Z", datetime(2027, 3, 1, 9, 30)),
    ("FREQ=DAILY;INTERVAL=3;COUNT=20", datetime(2027, 2, 27, 9, 30)),
    ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;COUNT=30", datetime(2027, 3, 1, 8, 0)),
    ("FREQ=WEEKLY;BYDAY=MO;UNTIL=20270401T035959Z", datetime(2026, 12, 7, 9, 30)),
    ("FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=20270430T215959Z", datetime(2027, 2, 1, 9, 30)),
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;COUNT=12", datetime(2027, 1, 6, 12, 15)),
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,FR;WKST=SU;COUNT=15", datetime(2027, 1, 5, 7, 0)),
    ("FREQ=WEEKLY;INTERVAL=4", datetime(2027, 1, 4, 16, 0)),
    ("FREQ=MONTHLY;BYMONTHDAY=15;COUNT=10", datetime(2027, 1, 15, 10, 0)),
    ("FREQ=MONTHLY;INTERVAL=2;UNTIL=20280101T000000Z", datetime(2027, 1, 28, 10, 0)),
    ("FREQ=MONTHLY;BYDAY=1MO;COUNT=12", datetime(2027, 2, 1, 9, 0)),
    ("FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20271231T235959Z", datetime(2027, 1, 29, 17, 0)),
    ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1;COUNT=8", datetime(2027, 2, 1, 9, 0)),
    ("FREQ=YEARLY;COUNT=3", datetime(2027, 3, 14, 9, 0)),
    ("FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=30", datetime(2027, 6, 30, 18, 0)),
    ("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH;COUNT=3", datetime(2027, 11, 25, 15, 0)),
]


@pytest.mark.parametrize(("rule", "start"), SUPPORTED, ids=[r for r, _ in SUPPORTED])
def test_graph_pattern_describes_the_same_occurrences(rule: str, start: datetime) -> None:
    aware = start.replace(tzinfo=ZoneInfo(NY))
    recurrence = to_patterned_recurrence(rule, aware, NY)
    assert recurrence["range"]["startDate"] == start.date().isoformat()
    assert recurrence["range"]["recurrenceTimeZone"] == "Eastern Standard Time"
    assert graph_dates(recurrence) == rrule_dates(rule, aware)


def test_until_in_utc_becomes_the_local_end_date() -> None:
    # 03:59 UTC on 1 April is still 31 March in New York: the last check-in is on 29 March.
    rec = to_patterned_recurrence("FREQ=WEEKLY;BYDAY=MO;UNTIL=20270401T035959Z",
                                  datetime(2026, 12, 7, 9, 30, tzinfo=ZoneInfo(NY)), NY)
    assert rec["range"] == {"type": "endDate", "startDate": "2026-12-07",
                            "endDate": "2027-03-29", "recurrenceTimeZone": "Eastern Standard Time"}


REFUSED = [
    ("FREQ=HOURLY;COUNT=5", "FREQ=HOURLY"),
    ("FREQ=MINUTELY;COUNT=5", "FREQ=MINUTELY"),
    ("FREQ=MONTHLY;BYMONTHDAY=1,15", "several BYMONTHDAY"),
    ("FREQ=MONTHLY;BYMONTHDAY=-1", "BYMONTHDAY=-1"),
    ("FREQ=MONTHLY;BYDAY=1MO,3TU", "different positions"),
    ("FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1,2", "several BYSETPOS"),
    ("FREQ=WEEKLY;BYDAY=MO;BYSETPOS=1", "BYSETPOS"),
    ("FREQ=MONTHLY;BYDAY=5MO", "position 5"),
    ("FREQ=YEARLY;BYMONTH=1,7", "several BYMONTH"),
    ("FREQ=DAILY;BYHOUR=9,17", "BYHOUR"),
    ("FREQ=YEARLY;BYYEARDAY=100", "BYYEARDAY"),
    ("FREQ=YEARLY;BYWEEKNO=20", "BYWEEKNO"),
    ("FREQ=MONTHLY;BYMONTHDAY=4;BYDAY=MO", "BYMONTHDAY together with BYDAY"),
    ("FREQ=MONTHLY;BYDAY=MO", "every listed weekday"),
    ("FREQ=DAILY;INTERVAL=2;BYDAY=MO,WE", "daily rule with weekdays"),
    ("FREQ=WEEKLY;BYDAY=TU", "not one of its own occurrences"),  # starts on a Monday
]


@pytest.mark.parametrize(("rule", "fragment"), REFUSED, ids=[r for r, _ in REFUSED])
def test_inexpressible_rules_are_refused_with_what_to_change(rule: str, fragment: str) -> None:
    with pytest.raises(BadInput) as caught:
        to_patterned_recurrence(rule, datetime(2027, 2, 1, 9, 0, tzinfo=ZoneInfo(NY)), NY,
                                key="checkins.rrule")
    message = str(caught.value)
    assert fragment in message and "checkins.rrule" in message
    assert "cannot be expressed in Outlook" in message and " — " in message


def test_exdates_are_refused() -> None:
    with pytest.raises(BadInput, match="EXDATE"):
        to_patterned_recurrence("FREQ=WEEKLY;BYDAY=MO", datetime(2027, 2, 1, 9, 0), NY,
                                exdates=[date(2027, 2, 8)])


@pytest.mark.parametrize("zone", [
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Sao_Paulo", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid",
    "Europe/Lisbon", "Africa/Lagos", "Asia/Kolkata", "Asia/Tokyo", "Asia/Singapore",
    "Australia/Sydney", "Pacific/Auckland", "UTC", "US/Eastern"])
def test_common_zones_map_to_windows_names(zone: str) -> None:
    assert iana_to_windows(zone)


def test_every_zone_the_examples_use_maps() -> None:
    from designed_alliance.core.load import load

    from .conftest import alliance_examples

    for path in alliance_examples():
        alliance = load(path)
        for name in {alliance.timezone, *(m.timezone for m in alliance.members if m.timezone)}:
            assert iana_to_windows(name), name


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(BadInput, match="no Outlook"):
        iana_to_windows("Mars/Olympus_Mons")
