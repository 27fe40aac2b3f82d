"""Assumption busters: what a coach would question in an alliance that is valid but weak."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from designed_alliance.core.records import dataclass

from .locate import find_line, index_lines
from .model import Alliance
from .sequence import due_dates

if TYPE_CHECKING:
    from .journal import Journal

# Busters added later register here (see `buster`); check() runs each after the first set.
Raised = Iterable[tuple[str, str, str]]  # (code, key, message)
BUSTERS: list[Callable[[Alliance, date], Raised]] = []


@dataclass(frozen=True)
class Finding:
    """One assumption buster: its code, the key it is about, what to ask, and the line."""

    code: str
    key: str
    message: str
    line: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def check(alliance: Alliance, *, today: date | None = None) -> list[Finding]:
    """Warnings for a loaded alliance, each naming the key it is about.

    `today` (default: today in the alliance's zone) decides what is already in the past.
    """
    findings: list[tuple[str, str, str]] = []
    add = findings.append

    for i, member in enumerate(alliance.members):
        if member.needs and not member.offers:
            add(("reciprocity", f"members[{i}].offers",
                 f"{member.name} asks for {len(member.needs)} thing(s) but offers nothing: "
                 "whatever you ask of the other person, be ready to offer"))
        if not member.needs and not member.offers:
            add(("unspoken-needs", f"members[{i}]",
                 f"{member.name} states no needs and no offers: unspoken expectations are "
                 "the ones that break alliances"))

    if not alliance.measures:
        add(("no-measure", "measures",
             "the goal has no measure: how will you inspect what you expect?"))
    for i, measure in enumerate(alliance.measures):
        if measure.target is None:
            add(("measure-no-target", f"measures[{i}].target",
                 f"measure {measure.name!r} has no target: what number means success?"))
        if measure.by is None:
            add(("measure-no-date", f"measures[{i}].by",
                 f"measure {measure.name!r} has no target date (`by`)"))
        elif measure.by > alliance.deadline:
            add(("measure-after-deadline", f"measures[{i}].by",
                 f"measure {measure.name!r} is due {measure.by}, after the deadline "
                 f"{alliance.deadline}"))

    dues = due_dates(alliance.commitments)
    for i, commitment in enumerate(alliance.commitments):
        due = dues.get(commitment.id)
        if commitment.owner is None:
            add(("no-owner", f"commitments[{i}].owner",
                 f"commitment {commitment.id!r} has no owner: who does it?"))
        if due is None:
            add(("no-due-date", f"commitments[{i}].due",
                 f"commitment {commitment.id!r} has no date, so it is not on any calendar"))
        elif due > alliance.deadline:
            add(("due-after-deadline", f"commitments[{i}].due",
                 f"commitment {commitment.id!r} is due {due}, after the deadline "
                 f"{alliance.deadline}"))
        elif due < alliance.starts:
            add(("due-before-start", f"commitments[{i}].due",
                 f"commitment {commitment.id!r} is due {due}, before the alliance starts"))
        # The predecessor's due plus `takes`, ignoring a hard `due` (sequence.computed_due,
        # from the dues computed once above: calling it per commitment made check quadratic).
        before = dues.get(commitment.after) if commitment.after else None
        takes = commitment.takes
        planned = before + takes if before and takes else None
        if commitment.due and takes and planned and planned > commitment.due:
            add(("sequence-too-tight", f"commitments[{i}].due",
                 f"commitment {commitment.id!r} is due {commitment.due}, but "
                 f"{commitment.after!r} plus {takes.days} days ends {planned}"))

    if alliance.checkins is None:
        add(("no-checkin", "checkins", "there is no check-in: when do you talk about progress?"))
    else:
        from .schedule import checkin_rule, first_occurrence

        ci = alliance.checkins
        first = first_occurrence(checkin_rule(ci, alliance.starts),
                                 datetime.combine(alliance.starts, ci.time),
                                 datetime.combine(alliance.deadline, time(23, 59, 59)))
        if first is None:
            add(("no-checkin-before-deadline", "checkins",
                 "no check-in falls between the start and the deadline"))

    if alliance.checkins is not None and alliance.review is not None:
        from .schedule import review_time

        ci = alliance.checkins
        review_at = review_time(alliance)
        start = datetime.combine(alliance.starts, ci.time)
        review_start = datetime.combine(alliance.starts, review_at)
        if (start < review_start + alliance.review.duration
                and review_start < start + ci.duration):
            add(("review-overlaps-checkin", "review.time",
                 f"the alliance review at {review_at:%H:%M} overlaps the check-in at "
                 f"{ci.time:%H:%M}; give [review] a time of its own"))

    used = {u.channel.strip().lower(): u.channel for u in alliance.communication.use}
    for i, avoided in enumerate(alliance.communication.avoid):
        if avoided.channel.strip().lower() in used:
            add(("channel-conflict", f"communication.avoid[{i}]",
                 f"{avoided.channel!r} is listed both as used and as avoided"))
    if not alliance.communication.use:
        add(("no-channel", "communication",
             "no channel is agreed: where do day-to-day questions go?"))

    if alliance.review is None:
        add(("no-review", "alliance.review_every",
             "no review cadence: an alliance that is never reviewed decays — "
             'add review_every = "4 weeks"'))
    if alliance.celebration is None:
        add(("no-celebration", "celebration", "no celebration: how will you mark success?"))
    elif alliance.celebration_date and not (
            alliance.starts <= alliance.celebration_date):
        add(("celebration-before-start", "celebration.on",
             "the celebration is before the alliance starts"))

    today = today or today_for(alliance)
    for extra in BUSTERS:
        findings.extend(extra(alliance, today))

    return _with_lines(alliance, [Finding(code, key, message, None)
                                  for code, key, message in findings])


# -- busters added later: each registered with @buster ----------------------------------------
def buster(func: Callable[[Alliance, date], Raised]) -> Callable[[Alliance, date], Raised]:
    BUSTERS.append(func)
    return func


def today_for(alliance: Alliance) -> date:
    """Today where the alliance lives (tests replace this to pin the date)."""
    return datetime.now(ZoneInfo(alliance.timezone)).date()


@buster
def past_dates(alliance: Alliance, today: date) -> Raised:
    """A deadline or a due date already gone: the calendar would start with overdue items."""
    if alliance.deadline < today:
        yield ("deadline-past", "alliance.deadline",
               f"the deadline {alliance.deadline} has passed: move it, or celebrate and "
               "close the alliance")
    dues = due_dates(alliance.commitments)
    for i, commitment in enumerate(alliance.commitments):
        due = dues.get(commitment.id)
        if due is not None and due < today:
            key = f"commitments[{i}].due" if commitment.due else f"commitments[{i}].takes"
            yield ("due-past", key,
                   f"commitment {commitment.id!r} was due {due}, which has passed: record it "
                   "as done, or give it a new date")


# A meeting is "at night" for a member when it starts before or ends after these hours, in
# the member's own zone.
WAKING_HOURS = (time(7, 0), time(21, 0))


@buster
def night_meetings(alliance: Alliance, today: date) -> Raised:
    """A check-in or review outside waking hours for some member, on its real occurrences.

    Every occurrence of each series is looked at in every member's zone, so a meeting that
    moves into the night only while one zone is on summer time (Europe and America switch
    weeks apart) is found too; each DST period of each zone is covered, not only the start.
    """
    from .limits import MAX_OCCURRENCES
    from .schedule import meeting_series

    if alliance.checkins is None and alliance.review is None:
        return
    zones: dict[str, list[str]] = {}
    for member in alliance.members:
        zones.setdefault(member.timezone or alliance.timezone, []).append(member.name)
    opens, closes = (t.hour * 60 + t.minute for t in WAKING_HOURS)
    # Only the times matter here: nothing is rendered (check stays free of templates).
    for series_key, first, duration, rule in meeting_series(alliance):
        what, key = (("check-in", "checkins.time") if series_key == "checkins"
                     else ("alliance review", "review.time"))
        length = duration.total_seconds() / 60
        starts: list[datetime] = []
        for occurrence in _occurrences(rule, first):
            starts.append(occurrence.astimezone(UTC))
            if len(starts) >= MAX_OCCURRENCES:
                break
        for zone_name, names in zones.items():
            zone = ZoneInfo(zone_name)
            night = []
            for start in starts:
                local = start.astimezone(zone)
                begins = local.hour * 60 + local.minute
                if begins < opens or begins + length > closes:
                    night.append(local)
            if not night:
                continue
            times = sorted({f"{n:%H:%M}" for n in night})
            shown = " and ".join(times[:2]) + (" …" if len(times) > 2 else "")
            who = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3
                                          else "")
            share = ("every time" if len(night) == len(starts)
                     else f"{len(night)} of {len(starts)} times, first on {night[0]:%Y-%m-%d}")
            yield ("night-meeting", key,
                   f"the {what} is at {shown} for {who} ({zone_name}), {share}: outside "
                   f"{WAKING_HOURS[0]:%H:%M}–{WAKING_HOURS[1]:%H:%M}; find a time that "
                   "suits everyone")


def _occurrences(rule: str | None, start: datetime) -> Iterable[datetime]:
    """A series' starts as aware local times, DST included (wall-clock arithmetic)."""
    import re

    from dateutil.rrule import rrulestr

    if not rule:
        return [start]
    if re.search(r"UNTIL=\d{8}(T\d{6})?(;|$)", rule):
        # The user's own UNTIL in local time: dateutil wants a naive start for it.
        zone = start.tzinfo
        naive = rrulestr(rule, dtstart=start.replace(tzinfo=None))
        return (occurrence.replace(tzinfo=zone) for occurrence in naive)
    return rrulestr(rule, dtstart=start)


@buster
def fixed_clock(alliance: Alliance, today: date) -> Raised:
    """UTC is allowed, but a member whose zone has summer time sees the meetings move."""
    from .zones import FIXED_ALLOWED

    if alliance.timezone not in FIXED_ALLOWED or alliance.checkins is None:
        return
    year = alliance.starts.year
    for i, member in enumerate(alliance.members):
        if member.timezone is None:
            continue
        zone = ZoneInfo(member.timezone)
        winter, summer = (datetime(year, month, 15, tzinfo=zone).utcoffset()
                          for month in (1, 7))
        if winter != summer:
            yield ("fixed-clock", f"members[{i}].timezone",
                   f"the alliance runs on UTC, so for {member.name} ({member.timezone}) "
                   "every meeting moves by an hour when summer time starts or ends; use "
                   "a Region/City zone for [alliance] if that is not meant")
            return


def _with_lines(alliance: Alliance, findings: list[Finding]) -> list[Finding]:
    """One line index for all findings: re-reading and re-indexing the file per finding
    made check quadratic in the size of the file."""
    if not findings or alliance.source is None:
        return findings
    try:
        lines = index_lines(alliance.source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return findings  # the file went away since it was loaded: findings without lines
    return [Finding(f.code, f.key, f.message, find_line(lines, f.key)) for f in findings]


def journal_findings(alliance: Alliance, journal: Journal) -> list[Finding]:
    """Assumptions the journal busted: hard dues that what happened has made too tight.

    A hard `due` never moves when its predecessor is done late (or re-dated later); this says
    when the `takes` it was planned with no longer fits. Sequences that were too tight from the
    start are `sequence-too-tight` already; done and dropped commitments are past worrying.
    """
    done = journal.done_dates()
    moved = journal.redated_dues()
    closed = set(done) | {d.commitment for d in journal.dropped}
    dues = due_dates(alliance.commitments, done, moved)
    planned_dues = due_dates(alliance.commitments)
    findings = []
    for i, commitment in enumerate(alliance.commitments):
        hard = moved.get(commitment.id, commitment.due)
        if (hard is None or commitment.id in closed or not commitment.after
                or commitment.takes is None):
            continue
        start = done.get(commitment.after) or dues.get(commitment.after)
        if start is None or start + commitment.takes <= hard:
            continue
        planned_start = planned_dues.get(commitment.after)
        if planned_start and planned_start + commitment.takes > hard:
            continue  # too tight from the start: `check` already says so
        how = (f"was done {done[commitment.after]}" if commitment.after in done
               else f"is now due {start}")
        key = f"commitments[{i}].due"
        findings.append(Finding(
            "sequence-slipped", key,
            f"commitment {commitment.id!r} has a hard date {hard}, but {commitment.after!r} "
            f"{how} and {commitment.takes.days} days from then end "
            f"{start + commitment.takes}: move the date, cut the scope, or get help",
            None))
    return _with_lines(alliance, findings)


_VIDEO_WORDS = ("video", "zoom", "meet", "teams", "webex", "jitsi", "whereby", "hangout")


@buster
def video_without_link(alliance: Alliance, today: date) -> Raised:
    """The members agreed to talk by video, but the check-ins say nowhere how to join."""
    import re

    checkins = alliance.checkins
    if checkins is None or checkins.video or re.search(r"https?://", checkins.where):
        return
    for i, use in enumerate(alliance.communication.use):
        words = f"{use.channel} {use.purpose}".lower()
        found = next((w for w in _VIDEO_WORDS if re.search(rf"\b{w}s?\b", words)), None)
        if found:
            yield ("video-no-link", "checkins.video",
                   f"communication.use[{i}] ({use.channel!r}) says you talk by video, but "
                   'the check-ins have no link: add video = "google-meet", "teams" or the '
                   "meeting's URL to [checkins]")
            return
