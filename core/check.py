"""Assumption busters: what a coach would question in an alliance that is valid but weak."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, time
from typing import TYPE_CHECKING

from .locate import find_line, index_lines
from .model import Alliance
from .sequence import due_dates

if TYPE_CHECKING:
    from .journal import Journal


@dataclass(frozen=True)
class Finding:
    """One assumption buster: its code, the key it is about, what to ask, and the line."""

    code: str
    key: str
    message: str
    line: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def check(alliance: Alliance) -> list[Finding]:
    """Warnings for a loaded alliance, each naming the key it is about."""
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
        planned = before + commitment.takes if before and commitment.takes else None
        if commitment.due and planned and planned > commitment.due:
            add(("sequence-too-tight", f"commitments[{i}].due",
                 f"commitment {commitment.id!r} is due {commitment.due}, but "
                 f"{commitment.after!r} plus {commitment.takes.days} days ends {planned}"))

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

    return _with_lines(alliance, [Finding(code, key, message, None)
                                  for code, key, message in findings])


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
