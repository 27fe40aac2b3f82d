"""Inspect what you expect: measures against their target line, commitments against their dates.

Pure functions of (alliance, journal, day). A measure is expected to move on a straight line
from its `baseline` at the alliance's start to its `target` at its `by` date (else the
deadline); which way is "better" follows from baseline vs target (a target above the baseline:
higher is better; below: lower is better). The latest reading on or before the day is on track
when it is at least as good as the value expected *on that day*: a stale reading falls behind,
which is the point of inspecting.

Commitment states on a day, from the journal as it stood then:
`done` (done on or before its due date), `late` (done after it), `dropped`, `overdue` (not done,
due date passed), `due-soon` (due within 7 days), `open` (anything else, undated included).
Due dates follow reality: `sequence.due_dates` with the journal's done and re-dated entries.
"""

from __future__ import annotations

from collections import deque
from datetime import date, datetime, time, timedelta

from designed_alliance.core.records import dataclass

from .journal import Journal, Reading, check_value
from .model import Alliance, Commitment, Measure, Member
from .sequence import due_dates

DUE_SOON = timedelta(days=7)
STATES = ("done", "late", "overdue", "due-soon", "open", "dropped")


@dataclass(frozen=True)
class MeasureStatus:
    measure: Measure
    baseline: int | float | None
    target: int | float | None
    by: date  # the target date: the measure's `by`, else the alliance's deadline
    readings: tuple[Reading, ...]  # one per day, date order, up to the status day
    expected: float | None  # on the status day, on the baseline → target line
    on_track: bool | None  # None: no reading, or no numeric baseline and target

    @property
    def latest(self) -> Reading | None:
        return self.readings[-1] if self.readings else None

    @property
    def higher_is_better(self) -> bool | None:
        if self.baseline is None or self.target is None:
            return None
        return self.target >= self.baseline

    def as_dict(self) -> dict:
        latest = self.latest
        return {
            "name": self.measure.name, "baseline": self.baseline, "target": self.target,
            "by": self.by.isoformat(),
            "latest": {"value": latest.value, "on": latest.on.isoformat()} if latest else None,
            "expected": self.expected, "on_track": self.on_track,
        }


@dataclass(frozen=True)
class CommitmentStatus:
    commitment: Commitment
    owner: Member | None
    due: date | None  # as the journal moved it
    state: str
    done_on: date | None

    def as_dict(self) -> dict:
        return {"id": self.commitment.id, "owner": self.commitment.owner,
                "due": self.due.isoformat() if self.due else None, "state": self.state,
                "done_on": self.done_on.isoformat() if self.done_on else None}


@dataclass(frozen=True)
class Sequence:
    """Commitments chained by `after`, from one that waits on nothing; who is next."""

    chain: tuple[CommitmentStatus, ...]  # the root first, then breadth-first
    next: tuple[CommitmentStatus, ...]  # open ones whose predecessor is done or dropped


@dataclass(frozen=True)
class Status:
    on: date
    measures: tuple[MeasureStatus, ...]
    commitments: tuple[CommitmentStatus, ...]
    sequences: tuple[Sequence, ...]
    next_checkin: date | None

    def as_dict(self) -> dict:
        """Exactly what `alliance status --json` prints."""
        return {
            "measures": [m.as_dict() for m in self.measures],
            "commitments": [c.as_dict() for c in self.commitments],
            "next_checkin": self.next_checkin.isoformat() if self.next_checkin else None,
        }


def number(value: object) -> int | float | None:
    """A baseline or target as a number, when it is one ("12" counts; "4 of 5" does not)."""
    if value is None:
        return None
    try:
        return check_value(value)
    except ValueError:
        return None


def target_date(alliance: Alliance, measure: Measure) -> date:
    return measure.by or alliance.deadline


def expected(alliance: Alliance, measure: Measure, day: date) -> float | None:
    """The value on the straight line from baseline (at `starts`) to target (at `by`)."""
    baseline, target = number(measure.baseline), number(measure.target)
    if baseline is None or target is None:
        return None
    end = target_date(alliance, measure)
    span = (end - alliance.starts).days
    if span <= 0:
        return float(target)
    share = min(1.0, max(0.0, (day - alliance.starts).days / span))
    return baseline + (target - baseline) * share


def is_on_track(value: int | float, expect: float, higher_is_better: bool) -> bool:
    slack = 1e-9 * max(1.0, abs(expect))  # float noise must not turn "exactly on the line" red
    return value >= expect - slack if higher_is_better else value <= expect + slack


def measure_status(alliance: Alliance, journal: Journal, measure: Measure,
                   day: date) -> MeasureStatus:
    readings = tuple(journal.as_of(day).readings_for(measure))
    baseline, target = number(measure.baseline), number(measure.target)
    expect = expected(alliance, measure, day)
    on_track = None
    if readings and expect is not None and baseline is not None and target is not None:
        on_track = is_on_track(readings[-1].value, expect, target >= baseline)
    return MeasureStatus(measure, baseline, target, target_date(alliance, measure), readings,
                         expect, on_track)


def effective_dues(alliance: Alliance, journal: Journal) -> dict[str, date | None]:
    """Due dates after what the journal says happened (done dates, agreed new dates)."""
    return due_dates(alliance.commitments, journal.done_dates(), journal.redated_dues())


def commitment_state(due: date | None, done_on: date | None, dropped: bool, day: date) -> str:
    if dropped:
        return "dropped"
    if done_on is not None:
        return "late" if due is not None and done_on > due else "done"
    if due is None:
        return "open"
    if due < day:
        return "overdue"
    if due - day <= DUE_SOON:
        return "due-soon"
    return "open"


def commitment_statuses(alliance: Alliance, journal: Journal, day: date
                        ) -> tuple[CommitmentStatus, ...]:
    then = journal.as_of(day)
    dues = effective_dues(alliance, then)
    done = then.done_dates()
    out = []
    for commitment in alliance.commitments:
        owner = alliance.member(commitment.owner) if commitment.owner else None
        due = dues.get(commitment.id)
        done_on = done.get(commitment.id)
        state = commitment_state(due, done_on, then.dropped_entry(commitment.id) is not None,
                                 day)
        out.append(CommitmentStatus(commitment, owner, due, state, done_on))
    return tuple(out)


def sequences(statuses: tuple[CommitmentStatus, ...]) -> tuple[Sequence, ...]:
    """Each tree of `after` links, rooted where nothing comes before; singletons left out."""
    by_id = {s.commitment.id: s for s in statuses}
    children: dict[str, list[CommitmentStatus]] = {}
    for status in statuses:
        if status.commitment.after:
            children.setdefault(status.commitment.after, []).append(status)
    closed = {"done", "late", "dropped"}
    out = []
    for status in statuses:
        if status.commitment.after or status.commitment.id not in children:
            continue
        chain: list[CommitmentStatus] = []
        queue = deque([status])
        while queue:  # breadth-first, iterative: chains may be long
            current = queue.popleft()
            chain.append(current)
            queue.extend(children.get(current.commitment.id, []))
        upcoming = []
        for item in chain:
            if item.state in closed:
                continue
            before = item.commitment.after
            if before is None or by_id[before].state in closed:
                upcoming.append(item)
        out.append(Sequence(tuple(chain), tuple(upcoming)))
    return tuple(out)


def checkin_days(alliance: Alliance) -> list[date]:
    """Every check-in day from the start to the deadline."""
    from dateutil.rrule import rrulestr

    from .schedule import checkin_rule

    checkins = alliance.checkins
    if checkins is None:
        return []
    start = datetime.combine(alliance.starts, checkins.time)
    end = datetime.combine(alliance.deadline, time(23, 59, 59))
    rule = rrulestr(checkin_rule(checkins, alliance.starts), dtstart=start, ignoretz=True)
    return [moment.date() for moment in rule.between(start, end, inc=True)]


def next_checkin(alliance: Alliance, day: date) -> date | None:
    return next((d for d in checkin_days(alliance) if d >= day), None)


def status(alliance: Alliance, journal: Journal, day: date) -> Status:
    """Where the alliance stands at the end of `day`."""
    commitments = commitment_statuses(alliance, journal, day)
    return Status(
        on=day,
        measures=tuple(measure_status(alliance, journal, m, day) for m in alliance.measures),
        commitments=commitments,
        sequences=sequences(commitments),
        next_checkin=next_checkin(alliance, day),
    )
