"""RRULE → Microsoft Graph patternedRecurrence, exactly or not at all.

Graph's patterns are daily, weekly, absoluteMonthly, relativeMonthly, absoluteYearly and
relativeYearly, with a range that ends on a date, after N occurrences, or never. A rule that
needs more than that (hourly, several month days, mixed ordinals, …) is refused with what to
change: a silently different series in someone's calendar is worse than an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from designed_alliance.core.errors import BadInput

from .timezones import iana_to_windows

DAYS = {"MO": "monday", "TU": "tuesday", "WE": "wednesday", "TH": "thursday",
        "FR": "friday", "SA": "saturday", "SU": "sunday"}
INDEX = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
SUPPORTED = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "UNTIL",
             "COUNT", "WKST"}
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _parts(rule: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for chunk in rule.upper().removeprefix("RRULE:").split(";"):
        if chunk:
            name, _, value = chunk.partition("=")
            parts[name] = value
    return parts


def _split_day(code: str) -> tuple[int | None, str]:
    return (int(code[:-2]) if code[:-2] else None), code[-2:]


def to_patterned_recurrence(rule: str, start: date | datetime, tz: str, *,
                            key: str = "checkins.rrule",
                            exdates: Sequence[date | datetime] = ()) -> dict[str, Any]:
    """The Graph `recurrence` for `rule` starting at `start` (the event's DTSTART) in `tz`."""

    def refuse(problem: str, hint: str) -> BadInput:
        return BadInput(f"{problem} cannot be expressed in Outlook", key=key, hint=hint)

    parts = _parts(rule)
    if exdates:
        raise refuse("a series with excluded dates (EXDATE)",
                     "remove the exceptions, or set up those dates as separate events")
    unknown = sorted(set(parts) - SUPPORTED)
    if unknown:
        raise refuse(f"{', '.join(unknown)} in the rule",
                     "use only FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, COUNT or UNTIL")
    freq = parts.get("FREQ", "")
    if freq in ("HOURLY", "MINUTELY", "SECONDLY"):
        raise refuse(f"FREQ={freq}", "use FREQ=DAILY or FREQ=WEEKLY")
    interval = int(parts.get("INTERVAL", "1"))
    days = [_split_day(code) for code in parts["BYDAY"].split(",")] if "BYDAY" in parts else []
    month_days = [int(d) for d in parts["BYMONTHDAY"].split(",")] if "BYMONTHDAY" in parts else []
    months = [int(m) for m in parts["BYMONTH"].split(",")] if "BYMONTH" in parts else []
    setpos = [int(p) for p in parts["BYSETPOS"].split(",")] if "BYSETPOS" in parts else []
    start_day = start.date() if isinstance(start, datetime) else start
    if len(month_days) > 1:
        raise refuse("several BYMONTHDAY values", "make one series per day of the month")
    if month_days and month_days[0] < 1:
        raise refuse(f"BYMONTHDAY={month_days[0]} (counting from the month's end)",
                     "use BYDAY=-1FR style (last weekday) or a positive day")
    if month_days and days:
        raise refuse("BYMONTHDAY together with BYDAY", "use one of them")
    if len(months) > 1:
        raise refuse("several BYMONTH values", "make one yearly series per month")
    if months and freq != "YEARLY":
        raise refuse(f"BYMONTH with FREQ={freq}", "use FREQ=YEARLY for a month filter")
    if len(setpos) > 1:
        raise refuse("several BYSETPOS values", "keep one position, e.g. BYSETPOS=1")
    ordinals = {o for o, _ in days}
    if len(ordinals) > 1:
        raise refuse("weekdays with different positions (e.g. 1MO,3TU)",
                     "make one series per position")
    ordinal = next(iter(ordinals), None)
    if setpos:
        if ordinal is not None or not days or freq not in ("MONTHLY", "YEARLY"):
            raise refuse("this BYSETPOS", "use BYSETPOS only with plain weekdays in a "
                         "monthly or yearly rule, e.g. BYDAY=MO,TU;BYSETPOS=1")
        ordinal = setpos[0]
    if ordinal is not None and ordinal not in INDEX:
        raise refuse(f"position {ordinal}", "use first, second, third, fourth or last (-1)")

    pattern: dict[str, Any] = {"interval": interval}
    if freq == "DAILY":
        if days:
            if interval != 1 or ordinal is not None:
                raise refuse("a daily rule with weekdays and an interval",
                             "use FREQ=WEEKLY;BYDAY=… instead")
            pattern.update(type="weekly", daysOfWeek=[DAYS[d] for _, d in days],
                           firstDayOfWeek=DAYS[parts.get("WKST", "MO")])
        else:
            pattern["type"] = "daily"
    elif freq == "WEEKLY":
        if ordinal is not None:
            raise refuse("positions in a weekly rule", "drop the number before the weekday")
        codes = [d for _, d in days] or [WEEKDAYS[start_day.weekday()]]
        pattern.update(type="weekly", daysOfWeek=[DAYS[d] for d in codes],
                       firstDayOfWeek=DAYS[parts.get("WKST", "MO")])
    elif freq == "MONTHLY":
        if days:
            if ordinal is None:
                raise refuse("every listed weekday of a month",
                             "use FREQ=WEEKLY, or give a position like BYDAY=1MO")
            pattern.update(type="relativeMonthly", daysOfWeek=[DAYS[d] for _, d in days],
                           index=INDEX[ordinal])
        else:
            pattern.update(type="absoluteMonthly",
                           dayOfMonth=month_days[0] if month_days else start_day.day)
    elif freq == "YEARLY":
        month = months[0] if months else start_day.month
        if days:
            if ordinal is None:
                raise refuse("every listed weekday of a year", "give a position like BYDAY=1MO")
            pattern.update(type="relativeYearly", daysOfWeek=[DAYS[d] for _, d in days],
                           index=INDEX[ordinal], month=month)
        else:
            pattern.update(type="absoluteYearly", month=month,
                           dayOfMonth=month_days[0] if month_days else start_day.day)
    else:
        raise refuse(f"FREQ={freq or '(missing)'}", "use DAILY, WEEKLY, MONTHLY or YEARLY")

    _require_start_is_an_occurrence(rule, start, refuse)
    return {"pattern": pattern, "range": _range(parts, rule, start, tz, refuse)}


def _naive(start: date | datetime) -> datetime:
    if isinstance(start, datetime):
        return start.replace(tzinfo=None)
    return datetime.combine(start, time())


def _require_start_is_an_occurrence(rule: str, start: date | datetime, refuse: Any) -> None:
    """Graph starts a series at its first matching day; RFC 5545 always includes DTSTART.

    They agree only when DTSTART is itself an occurrence of the rule.
    """
    from dateutil.rrule import rrulestr

    first = _naive(start)
    body = ";".join(p for p in rule.split(";") if not p.upper().startswith(("UNTIL", "COUNT")))
    following = rrulestr(body, dtstart=first, ignoretz=True).after(first, inc=True)
    if following != first:
        raise refuse("a series whose start is not one of its own occurrences",
                     "start the series on a day the rule matches")


def _range(parts: dict[str, str], rule: str, start: date | datetime, tz: str,
           refuse: Any) -> dict[str, Any]:
    from dateutil.rrule import rrulestr

    result: dict[str, Any] = {"startDate": _naive(start).date().isoformat(),
                              "recurrenceTimeZone": iana_to_windows(tz)}
    if "COUNT" in parts:
        result.update(type="numbered", numberOfOccurrences=int(parts["COUNT"]))
    elif "UNTIL" in parts:
        # UNTIL is UTC; Graph's endDate is a local date that includes the whole day. Use the
        # local date of the rule's real last occurrence so both describe the same series.
        text = parts["UNTIL"]
        zone = ZoneInfo(tz)
        if "T" in text:
            until = datetime.strptime(text.rstrip("Z"), "%Y%m%dT%H%M%S")
            if text.endswith("Z"):
                until = until.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
        else:
            until = datetime.combine(datetime.strptime(text, "%Y%m%d").date(), time(23, 59, 59))
        body = ";".join(p for p in rule.split(";") if not p.upper().startswith("UNTIL"))
        last = rrulestr(body, dtstart=_naive(start), ignoretz=True).before(until, inc=True)
        if last is None:
            raise refuse("a series that ends before it starts", "move UNTIL after the start")
        result.update(type="endDate", endDate=last.date().isoformat())
    else:
        result["type"] = "noEnd"
    return result


def range_end(recurrence: dict[str, Any]) -> str | None:
    """The series' end as Graph keeps it, for drift and `pull`: the local date of
    range.endDate (in the recurrence's zone: the alliance's, as we write it), "" for a
    series without end, None for one that ends after N occurrences (not compared)."""
    span = recurrence.get("range") or {}
    kind = str(span.get("type", ""))
    if kind == "endDate":
        return str(span.get("endDate") or "")[:10] or None
    if kind == "noEnd":
        return ""
    return None


_CODES = {name: code for code, name in DAYS.items()}
_POSITIONS = {name: n for n, name in INDEX.items()}


def from_patterned_recurrence(recurrence: dict[str, Any]) -> str:
    """The RRULE (without UNTIL or COUNT: Graph keeps the end as a local date, read by
    `range_end`) a Graph `recurrence` pattern repeats by, for drift and `pull`; "" for a
    pattern we never write.

    The inverse of `to_patterned_recurrence` up to spelling: callers compare patterns first
    and use this only for one that changed."""
    pattern = recurrence.get("pattern") or {}
    kind = str(pattern.get("type", ""))
    interval = int(pattern.get("interval") or 1)
    days = [_CODES[d] for d in pattern.get("daysOfWeek") or [] if d in _CODES]
    parts: list[str] = []
    if kind == "daily":
        parts.append("FREQ=DAILY")
    elif kind == "weekly":
        parts.append("FREQ=WEEKLY")
    elif kind in ("absoluteMonthly", "relativeMonthly"):
        parts.append("FREQ=MONTHLY")
    elif kind in ("absoluteYearly", "relativeYearly"):
        parts.append("FREQ=YEARLY")
    else:
        return ""
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    if kind.endswith("Yearly") and pattern.get("month"):
        parts.append(f"BYMONTH={int(pattern['month'])}")
    if kind == "weekly" and days:
        parts.append("BYDAY=" + ",".join(days))
    elif kind.startswith("relative") and days:
        position = _POSITIONS.get(str(pattern.get("index", "first")), 1)
        if len(days) == 1:
            parts.append(f"BYDAY={position}{days[0]}")
        else:
            parts.extend(["BYDAY=" + ",".join(days), f"BYSETPOS={position}"])
    elif kind.startswith("absolute") and pattern.get("dayOfMonth"):
        parts.append(f"BYMONTHDAY={int(pattern['dayOfMonth'])}")
    first = str(pattern.get("firstDayOfWeek", "monday"))
    if kind == "weekly" and first != "monday" and first in _CODES:
        parts.append(f"WKST={_CODES[first]}")
    return ";".join(parts)
