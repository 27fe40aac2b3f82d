"""VTIMEZONE components written as yearly RRULE transitions, generated from tzdata (zoneinfo).

Why not icalendar's own `add_missing_timezones`: it writes each observance's onsets as one
comma-separated RDATE list, and ical.js (Thunderbird) and vobject read only its first date, so
every later daylight-saving change is lost. The form every client reads is the one tzurl and
vzic write: one STANDARD and one DAYLIGHT observance, each with a DTSTART and a yearly RRULE
("second Sunday in March"). Rules change now and then (the US in 2007), so the transitions
are found in zoneinfo, grouped into runs of consecutive years that one rule describes, and
each run becomes one observance; an onset no rule describes becomes an observance of its own
(a single DTSTART, never an RDATE list).
"""

from __future__ import annotations

import calendar as _calendar
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import icalendar

from designed_alliance.core.records import dataclass

_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# No zone changes its offset twice within a day (a change and its reversal would be missed);
# a finer step only costs time: 6 hours made a cold zone 24 ms instead of 6.
_STEP = timedelta(days=1)


@dataclass(frozen=True)
class Transition:
    """One change of a zone's UTC offset, daylight flag or abbreviation."""

    at: datetime  # the instant, in UTC
    offset_from: timedelta
    offset_to: timedelta
    dst: bool  # daylight time after the change
    name: str  # abbreviation after the change

    @property
    def onset(self) -> datetime:
        """The local wall time of the change, in the offset before it (RFC 5545 DTSTART)."""
        return (self.at + self.offset_from).replace(tzinfo=None)

    def shape(self) -> tuple[bool, timedelta, timedelta, str, int, int, tuple[int, int, int]]:
        """What must be equal for two yearly onsets to share one RRULE."""
        onset = self.onset
        return (self.dst, self.offset_from, self.offset_to, self.name, onset.month,
                onset.weekday(), (onset.hour, onset.minute, onset.second))

    def weeks(self) -> frozenset[int]:
        """The BYDAY ordinals that name this onset's day in its month: 1–4 and/or -1 (last)."""
        onset = self.onset
        found = set()
        if onset.day <= 28:
            found.add((onset.day - 1) // 7 + 1)
        if onset.day + 7 > _calendar.monthrange(onset.year, onset.month)[1]:
            found.add(-1)
        return frozenset(found)


def _state(zone: ZoneInfo, instant: datetime) -> tuple[timedelta, bool, str]:
    local = instant.astimezone(zone)
    offset, dst = local.utcoffset(), local.dst()
    assert offset is not None
    return offset, bool(dst), local.tzname() or ""


def transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[Transition]:
    """Every change between two UTC instants, each found to the second by bisection."""
    found: list[Transition] = []
    before, state = start, _state(zone, start)
    while before < end:
        after = min(before + _STEP, end)
        new = _state(zone, after)
        if new != state:
            low, high = before, after  # state(low) == state, state(high) == new
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if _state(zone, middle) == state:
                    low = middle
                else:
                    high = middle
            found.append(Transition(high, state[0], new[0], new[1], new[2]))
            state = new
        before = after
    return found


@dataclass(frozen=True)
class _Run:
    """Consecutive yearly onsets that one RRULE describes."""

    items: tuple[Transition, ...]
    week: int | None  # the BYDAY ordinal, None for a single onset with no rule


def _runs(found: list[Transition]) -> list[_Run]:
    open_runs: dict[tuple, tuple[list[Transition], frozenset[int]]] = {}
    done: list[_Run] = []

    def close(shape: tuple) -> None:
        items, weeks = open_runs.pop(shape)
        week = None
        if len(items) > 1:
            # "Last Sunday" over "fourth Sunday" when both fit every onset seen: it is the
            # common rule (the EU's), and the one that stays right past the years checked.
            week = -1 if -1 in weeks else min(weeks)
        done.append(_Run(tuple(items), week))

    for item in found:
        shape = item.shape()
        if shape in open_runs:
            items, weeks = open_runs[shape]
            common = weeks & item.weeks()
            if items[-1].onset.year + 1 == item.onset.year and common:
                items.append(item)
                open_runs[shape] = (items, common)
                continue
            close(shape)
        # A run of one kind (daylight or standard) ends when another rule of that kind starts.
        for other in [s for s in open_runs if s[0] == item.dst]:
            close(other)
        open_runs[shape] = ([item], item.weeks())
    for shape in list(open_runs):
        close(shape)
    return sorted(done, key=lambda run: run.items[0].at)


def _observance(first: Transition) -> icalendar.cal.Component:
    part = icalendar.TimezoneDaylight() if first.dst else icalendar.TimezoneStandard()
    part.add("tzname", first.name)
    part.add("tzoffsetfrom", first.offset_from)
    part.add("tzoffsetto", first.offset_to)
    part.add("dtstart", first.onset)
    return part


@lru_cache(maxsize=256)
def vtimezone(tzid: str, first_year: int, last_year: int) -> icalendar.Timezone:
    """The VTIMEZONE of `tzid` valid for every instant from 1 Jan `first_year` to 31 Dec
    `last_year`. Cached: a run writes each (zone, range) once, however many files need it.

    The component is shared between calendars; nothing may modify it.
    """
    zone = ZoneInfo(tzid)
    # A year of margin on each side: the onset in force at the first occurrence lies before
    # it, and a client showing the last occurrence may look a little past it.
    scan_from = datetime(first_year - 1, 1, 1, tzinfo=UTC)
    scan_to = datetime(last_year + 2, 1, 1, tzinfo=UTC)
    found = transitions(zone, scan_from, scan_to)
    out = icalendar.Timezone()
    out.add("tzid", tzid)
    out.add("x-lic-location", tzid)  # libical (Evolution) keys its zone lookup on this
    start_offset, start_dst, start_name = _state(zone, scan_from)
    if not found or found[0].at > datetime(first_year, 1, 1, tzinfo=UTC):
        # Before the first change (or with none at all: Asia/Kolkata) the offset in force at
        # the start of the range holds; say so with an onset of its own.
        initial = Transition(scan_from - start_offset, start_offset, start_offset, start_dst,
                             start_name)  # onset: local midnight, 1 Jan
        out.add_component(_observance(initial))
    runs = _runs(found)
    last_of_kind = {run.items[0].dst: run for run in runs}
    for run in runs:
        first, last = run.items[0], run.items[-1]
        part = _observance(first)
        if run.week is not None:
            rule: dict[str, object] = {
                "freq": "YEARLY", "bymonth": first.onset.month,
                "byday": f"{run.week}{_WEEKDAYS[first.onset.weekday()]}"}
            # The latest rule of its kind still in force at the end of the range goes on
            # (as tzurl writes it); an older one ends after its last onset, in UTC (RFC
            # 5545). A day after, not at the onset itself: dateutil (vobject) compares UNTIL
            # with the local onset as if both were local, and east of UTC it lost the last
            # onset. Any moment before the next year's onset means the same.
            still_in_force = (last_of_kind[first.dst] is run
                              and last.at > scan_to - timedelta(days=366))
            if not still_in_force:
                rule["until"] = (last.at + timedelta(days=1)).replace(tzinfo=UTC)
            part.add("rrule", rule)
        out.add_component(part)
    return out


def covering(start: date | datetime, end: date | datetime) -> tuple[int, int]:
    """The (first_year, last_year) cache key for a span of time."""
    return start.year, max(start.year, end.year)
