"""Alliance → calendar events. Pure: same alliance, same events, same keys, same fingerprints."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from . import colors, compose
from .items import Event, Person
from .model import Alliance, Checkins
from .sequence import due_dates

if TYPE_CHECKING:
    from .journal import Journal

WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DEFAULT_REVIEW_TIME = time(16, 0)


def organizer_for(alliance: Alliance, organizer: str | None = None) -> Person:
    """The organizer: a member id or email from the user config, else the first member."""
    if organizer:
        for member in alliance.members:
            if organizer in (member.id, member.email):
                return Person(member.name, member.email, "CHAIR")
        return Person(organizer.split("@")[0], organizer, "CHAIR")
    first = alliance.members[0]
    return Person(first.name, first.email, "CHAIR")


def attendees_for(alliance: Alliance, required: set[str] | None = None) -> tuple[Person, ...]:
    people = []
    for member in alliance.members:
        role = "REQ-PARTICIPANT" if required is None or member.id in required else (
            "OPT-PARTICIPANT")
        people.append(Person(member.name, member.email, role))
    return tuple(people)


def until_utc(alliance: Alliance) -> str:
    """UNTIL for series that run to the deadline: its last local second, in UTC (RFC 5545)."""
    zone = ZoneInfo(alliance.timezone)
    last = datetime.combine(alliance.deadline, time(23, 59, 59), tzinfo=zone)
    return last.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def checkin_rule(checkins: Checkins, starts: date) -> str:
    """The check-in RRULE without UNTIL/DTSTART, built from `every` + `day` or taken raw."""
    if checkins.rrule:
        return checkins.rrule
    cadence = checkins.cadence
    assert cadence is not None
    if cadence.weekdays_only:
        return "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
    parts = [f"FREQ={cadence.freq}"]
    if cadence.interval > 1:
        parts.append(f"INTERVAL={cadence.interval}")
    if cadence.freq == "WEEKLY":
        days = checkins.days or (WEEKDAY_CODES[starts.weekday()],)
        parts.append("BYDAY=" + ",".join(days))
    elif cadence.freq == "MONTHLY":
        if checkins.days:
            parts.append("BYDAY=" + ",".join(checkins.days))
        else:
            parts.append(f"BYMONTHDAY={checkins.month_day or min(starts.day, 28)}")
    return ";".join(parts)


def with_until(rule: str, until: str, timezone: str) -> str:
    """`rule` ending at `until` (UTC), unless it has an end of its own. An UNTIL the user
    wrote as a date or a local time is made the UTC instant RFC 5545 §3.3.10 requires next to
    a DTSTART with a zone (a date there is refused by strict clients, and read as midnight
    UTC by others): the last second of that local day, or that local time."""
    upper = rule.upper()
    if "COUNT=" in upper:
        return rule
    if "UNTIL=" not in upper:
        return f"{rule};UNTIL={until}"
    parts = []
    for part in rule.split(";"):
        name, _, value = part.partition("=")
        if name.upper() == "UNTIL" and not value.upper().endswith("Z"):
            day = datetime.strptime(value[:8], "%Y%m%d")
            local = (datetime.strptime(value[:15], "%Y%m%dT%H%M%S") if len(value) >= 15
                     else datetime.combine(day.date(), time(23, 59, 59)))
            value = local.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC).strftime(
                "%Y%m%dT%H%M%SZ")
        parts.append(f"{name}={value}")
    return ";".join(parts)


def first_occurrence(rule: str, start: datetime, not_after: datetime) -> datetime | None:
    """First local occurrence of `rule` at or after `start` (naive local times)."""
    from dateutil.rrule import rrulestr

    for occurrence in rrulestr(rule, dtstart=start, ignoretz=True):
        if occurrence > not_after:
            return None
        if occurrence >= start:
            return occurrence
    return None


def schedule(alliance: Alliance, organizer: str | None = None,
             journal: Journal | None = None, words: compose.Words | None = None
             ) -> list[Event]:
    """All calendar events of an alliance, in a stable order.

    With the progress `journal`, deadlines follow what happened: done dates move what waits
    on them, re-dated commitments take their new date, dropped ones leave the calendar.
    The descriptions come from `words` (a new one when not given).
    """
    host = organizer_for(alliance, organizer)
    zone = ZoneInfo(alliance.timezone)
    end_of_deadline = datetime.combine(alliance.deadline, time(23, 59, 59))
    until = until_utc(alliance)
    events: list[Event] = []
    words = words or compose.Words(alliance)

    checkin_start: datetime | None = None
    if alliance.checkins is not None:
        checkins = alliance.checkins
        rule = checkin_rule(checkins, alliance.starts)
        checkin_start = first_occurrence(
            rule, datetime.combine(alliance.starts, checkins.time), end_of_deadline)
        if checkin_start is not None:
            full_rule = with_until(rule, until, alliance.timezone)
            start = checkin_start.replace(tzinfo=zone)
            events.append(Event(
                alliance_id=alliance.id, key="checkins",
                title=f"{alliance.title}: check-in",
                start=start, end=start + checkins.duration, timezone=alliance.timezone,
                rrule=full_rule, location=checkins.where,
                description=words.checkin(),
                organizer=host, attendees=attendees_for(alliance), alarms_minutes=(10,),
                categories=("Designed alliance",),
                when=compose.describe_series(start, checkins.duration, full_rule,
                                                         alliance.timezone),
                video=checkins.video,
                color=checkins.color or colors.DEFAULTS[colors.CHECKINS],
            ))

    if alliance.review is not None:
        events.extend(_review_event(alliance, host, words, checkin_start, until))

    done, moved = (journal.done_dates(), journal.redated_dues()) if journal else ({}, {})
    dues = due_dates(alliance.commitments, done, moved)
    dropped = {d.commitment for d in journal.dropped} if journal else set()
    for commitment in alliance.commitments:
        due = dues.get(commitment.id)
        if due is None or commitment.id in dropped:
            continue  # nothing to put on a calendar; `check` says so
        owner = alliance.member(commitment.owner) if commitment.owner else None
        title = f"Due: {commitment.what}" + (f" ({owner.name})" if owner else "")
        events.append(Event(
            alliance_id=alliance.id, key=f"commitment:{commitment.id}", title=title,
            start=due, end=due + timedelta(days=1), timezone=alliance.timezone,
            description=words.commitment(commitment, due, dues),
            organizer=host,
            attendees=attendees_for(alliance, {commitment.owner} if commitment.owner else None),
            alarms_minutes=(24 * 60,), categories=("Designed alliance", "Deadline"),
            when=compose.long_date(due),
            color=alliance.colors.deadlines or colors.DEFAULTS[colors.DEADLINE],
        ))

    if alliance.celebration is not None:
        celebration = alliance.celebration
        day = alliance.celebration_date
        assert day is not None
        start_value: datetime | date
        if celebration.time is not None:
            start_value = datetime.combine(day, celebration.time, tzinfo=zone)
            end_value: datetime | date = start_value + celebration.duration
            when = compose.describe_moment(start_value, celebration.duration)
        else:
            start_value, end_value = day, day + timedelta(days=1)
            when = compose.long_date(day)
        title = f"Celebrate: {alliance.title}"
        events.append(Event(
            alliance_id=alliance.id, key="celebration", title=title,
            start=start_value, end=end_value, timezone=alliance.timezone,
            location=celebration.where,
            description=words.celebration(**_achieved(alliance, journal)),
            organizer=host, attendees=attendees_for(alliance), alarms_minutes=(60,),
            categories=("Designed alliance",),
            when=when,
            video=celebration.video,
            color=celebration.color or colors.DEFAULTS[colors.CELEBRATION],
        ))
    return events


def _achieved(alliance: Alliance, journal: Journal | None) -> dict[str, Any]:
    """What the celebration's invite shows of the achievements (the mail shows more)."""
    if journal is None or not (journal.readings or journal.done):
        return {}  # nothing achieved yet: both lists would be empty
    from .celebrate import achievements  # and charts: only once something is logged

    achieved = achievements(alliance, journal)
    return {"done": achieved["done"], "results": achieved["results"]}


def _overlaps(a: time, a_len: timedelta, b: time, b_len: timedelta) -> bool:
    day = date(2000, 1, 3)
    a_start, b_start = datetime.combine(day, a), datetime.combine(day, b)
    return a_start < b_start + b_len and b_start < a_start + a_len


# Meetings are "at night" for a member outside these hours in their own zone (the
# night-meeting buster in core/check.py asks the same).
WAKING_HOURS = (time(7, 0), time(21, 0))


def _usual_review_time(alliance: Alliance) -> time:
    """16:00 — or right after the check-in when 16:00 would collide with it (the members
    are together then anyway)."""
    review = alliance.review
    assert review is not None
    checkins = alliance.checkins
    if checkins and _overlaps(DEFAULT_REVIEW_TIME, review.duration, checkins.time,
                              checkins.duration):
        return _checkin_end(checkins)
    return DEFAULT_REVIEW_TIME


def _checkin_end(checkins: Checkins) -> time:
    return (datetime.combine(date(2000, 1, 3), checkins.time) + checkins.duration).time()


def review_time(alliance: Alliance) -> time:
    """The review's own time: as given, else the usual one (16:00, or right after the
    check-in when 16:00 collides with it) — unless that is at night for some member on some
    review day. Then the first time that is inside waking hours for every member on every
    review: the check-in's own end first (they are together then), then the other quarter
    hours of the day, nearest to it first. When no time suits everyone, the usual one (the
    night-meeting buster says so)."""
    review = alliance.review
    assert review is not None
    if review.time is not None:
        return review.time
    usual = _usual_review_time(alliance)
    if len({m.timezone or alliance.timezone for m in alliance.members}) < 2:
        return usual  # one zone: 16:00 or the check-in's end is a waking time already
    days = _review_days(alliance)
    if days is None:
        return usual
    first_day, rule, _ = days
    zones = [ZoneInfo(z) for z in sorted({m.timezone or alliance.timezone
                                          for m in alliance.members})]
    checkins = alliance.checkins

    def suits(at: time) -> bool:
        if checkins and _overlaps(at, review.duration, checkins.time, checkins.duration):
            return False
        return _awake(alliance, first_day, rule, at, review.duration, zones)

    if suits(usual):
        return usual
    candidates = [time(h, m) for h in range(24) for m in (0, 15, 30, 45)]
    anchor = _checkin_end(checkins) if checkins else usual
    minutes = anchor.hour * 60 + anchor.minute
    candidates.sort(key=lambda t: (abs(t.hour * 60 + t.minute - minutes),
                                   -(t.hour * 60 + t.minute)))
    for at in candidates:
        if suits(at):
            return at
    return usual


def _awake(alliance: Alliance, first_day: date, rule: str, at: time, length: timedelta,
           zones: list[ZoneInfo]) -> bool:
    """Every review at `at` (alliance zone) starts and ends inside waking hours in every
    zone, on its real dates (summer time starts weeks apart in Europe and America)."""
    from dateutil.rrule import rrulestr

    from .limits import MAX_OCCURRENCES

    opens, closes = (t.hour * 60 + t.minute for t in WAKING_HOURS)
    home = ZoneInfo(alliance.timezone)
    last = datetime.combine(alliance.deadline, time(23, 59, 59))
    for n, local in enumerate(rrulestr(rule, dtstart=datetime.combine(first_day, at))):
        if local > last or n >= MAX_OCCURRENCES:
            break
        start = local.replace(tzinfo=home)
        for zone in zones:
            there = start.astimezone(zone)
            begins = there.hour * 60 + there.minute
            if begins < opens or begins + length.total_seconds() / 60 > closes:
                return False
    return True


def review_series(alliance: Alliance) -> tuple[datetime, str, bool] | None:
    """The reviews: first one (naive local), RRULE without UNTIL, and whether they sit on
    check-in days; None when the first would fall after the deadline.

    The review keeps one weekday: on a check-in day (the members keep those free), else on
    a working day. "Every 4 weeks" is weekly with an interval, which keeps the weekday by
    itself; "every month" is the nth weekday of the month (BYDAY=1MO, or -1MO for a fifth
    one), never the same day of the month, which drifts onto weekends.
    """
    days = _review_days(alliance)
    if days is None:
        return None
    day, rule, on_checkin_day = days
    return datetime.combine(day, review_time(alliance)), rule, on_checkin_day


def _review_days(alliance: Alliance) -> tuple[date, str, bool] | None:
    """`review_series` without the time of day (which `review_time` chooses from these
    days): the first review day, the RRULE, whether it is a check-in day."""
    review = alliance.review
    assert review is not None
    cadence = review.cadence
    step = cadence.step()
    if step is not None:
        first_day = alliance.starts + step
    else:
        from dateutil.relativedelta import relativedelta

        first_day = alliance.starts + relativedelta(months=cadence.interval)
    checkins = alliance.checkins
    on_checkin_day = False
    if checkins is not None and first_occurrence(
            checkin_rule(checkins, alliance.starts),
            datetime.combine(alliance.starts, checkins.time),
            datetime.combine(alliance.deadline, time(23, 59, 59))) is not None:
        # On a check-in day, at its own time: moving the check-in must not silently move
        # the review too.
        rule = checkin_rule(checkins, alliance.starts)
        aligned = first_occurrence(rule, datetime.combine(first_day, checkins.time),
                                   datetime.combine(alliance.deadline, time(23, 59, 59)))
        if aligned is None:
            return None
        day, on_checkin_day = aligned.date(), True
    else:
        day = first_day
        while day.weekday() >= 5:  # no check-ins to align with: the next working day
            day += timedelta(days=1)
    if day > alliance.deadline:
        return None
    if cadence.weekdays_only:
        parts = ["FREQ=WEEKLY", "BYDAY=MO,TU,WE,TH,FR"]
    else:
        parts = [f"FREQ={cadence.freq}"]
        if cadence.interval > 1:
            parts.append(f"INTERVAL={cadence.interval}")
        if cadence.freq == "MONTHLY":
            week = (day.day - 1) // 7 + 1
            parts.append(f"BYDAY={week if week <= 4 else -1}{WEEKDAY_CODES[day.weekday()]}")
    return day, ";".join(parts), on_checkin_day


def _review_event(alliance: Alliance, host: Person, words: compose.Words,
                  checkin_start: datetime | None, until: str) -> list[Event]:
    review = alliance.review
    assert review is not None
    series = review_series(alliance)
    if series is None:
        return []
    start, base_rule, _ = series
    rule = f"{base_rule};UNTIL={until}"
    zone = ZoneInfo(alliance.timezone)
    checkins = alliance.checkins
    local = start.replace(tzinfo=zone)
    title = f"{alliance.title}: alliance review"
    return [Event(
        alliance_id=alliance.id, key="review", title=title,
        start=local, end=local + review.duration, timezone=alliance.timezone, rrule=rule,
        location=checkins.where if checkins else "",
        description=words.review(),
        organizer=host, attendees=attendees_for(alliance), alarms_minutes=(10,),
        categories=("Designed alliance",),
        when=compose.describe_series(local, review.duration, rule, alliance.timezone),
        # The same people meet the same way: the check-ins' video unless the review has one.
        video=review.video or (checkins.video if checkins else ""),
        color=review.color or colors.DEFAULTS[colors.REVIEW],
    )]


def meeting_series(alliance: Alliance) -> list[tuple[str, datetime, timedelta, str]]:
    """(key, aware start, duration, RRULE with UNTIL) of the check-ins and the review —
    the same times `schedule` gives them, without rendering anything (for `check` and the
    agenda, which only need the times)."""
    zone = ZoneInfo(alliance.timezone)
    until = until_utc(alliance)
    out: list[tuple[str, datetime, timedelta, str]] = []
    if alliance.checkins is not None:
        checkins = alliance.checkins
        rule = checkin_rule(checkins, alliance.starts)
        first = first_occurrence(rule, datetime.combine(alliance.starts, checkins.time),
                                 datetime.combine(alliance.deadline, time(23, 59, 59)))
        if first is not None:
            out.append(("checkins", first.replace(tzinfo=zone), checkins.duration,
                        with_until(rule, until, alliance.timezone)))
    if alliance.review is not None:
        series = review_series(alliance)
        if series is not None:
            start, base_rule, _ = series
            out.append(("review", start.replace(tzinfo=zone), alliance.review.duration,
                        f"{base_rule};UNTIL={until}"))
    return out
