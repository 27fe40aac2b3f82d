"""The designed alliance as frozen, typed values. Built only by `load`; never mutated.

Every class has a docstring: without one, @dataclass computes inspect.signature for a
default __doc__ at import, which cost about 2 ms per class on every start of the CLI.
"""

from __future__ import annotations

from dataclasses import field
from datetime import date, time, timedelta
from functools import cached_property
from pathlib import Path

from designed_alliance.core.records import dataclass

from .durations import Cadence


@dataclass(frozen=True)
class Goal:
    """What the alliance is for, and why it matters."""

    statement: str
    why: str = ""
    pain: str = ""  # the pain the goal relieves, when the "why" is framed as a problem


@dataclass(frozen=True)
class Member:
    """One person in the alliance: who they are, what they need and what they offer."""

    id: str
    name: str
    email: str
    timezone: str | None = None
    role: str = ""
    needs: tuple[str, ...] = ()
    offers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Measure:
    """How progress is inspected: from a baseline to a target, by a date."""

    name: str
    baseline: float | int | str | None = None
    target: float | int | str | None = None
    unit: str = ""
    by: date | None = None
    inspect: str = ""  # how progress is inspected ("inspect what you expect")
    owner: str | None = None
    id: str | None = None  # optional short handle for `alliance log FILE <id> VALUE`


@dataclass(frozen=True)
class Commitment:
    """Something one member does: by a hard `due`, or `takes` long `after` another."""

    id: str
    what: str
    owner: str | None = None
    due: date | None = None
    after: str | None = None
    takes: timedelta | None = None
    notes: str = ""


@dataclass(frozen=True)
class ChannelUse:
    """A channel the members use, for what, and how fast they answer there."""

    channel: str
    purpose: str = ""  # `for` in the file
    respond_within: str = ""


@dataclass(frozen=True)
class ChannelAvoid:
    """A channel the members agreed not to use, and why."""

    channel: str
    why: str = ""


@dataclass(frozen=True)
class Communication:
    """How the members talk: channels used and avoided."""

    use: tuple[ChannelUse, ...] = ()
    avoid: tuple[ChannelAvoid, ...] = ()
    notes: str = ""


@dataclass(frozen=True)
class Checkins:
    """The recurring check-in: when, how long, where, and what is asked."""

    time: time
    duration: timedelta
    cadence: Cadence | None = None  # from `every`; None when `rrule` is given
    days: tuple[str, ...] = ()  # RRULE BYDAY values, e.g. ("MO",) or ("1MO",)
    month_day: int | None = None
    rrule: str | None = None  # the user's raw RRULE, validated
    where: str = ""
    questions: tuple[str, ...] = ()
    video: str = ""  # "google-meet", "teams" or a meeting URL (items.VIDEO_SERVICES)
    color: str = ""  # a CSS3 colour name; "" means the kind's default (core.colors)


@dataclass(frozen=True)
class Celebration:
    """How and when success is celebrated (at the deadline unless `on` says)."""

    how: str
    on: date | None = None  # None means "at the deadline"
    time: time | None = None  # None: an all-day celebration
    duration: timedelta = timedelta(hours=2)
    where: str = ""
    video: str = ""
    color: str = ""


@dataclass(frozen=True)
class Review:
    """The periodic review of the alliance itself (the alliance is organic)."""

    cadence: Cadence
    duration: timedelta = timedelta(minutes=30)
    time: time | None = None  # None: right after the check-in on that day
    questions: tuple[str, ...] = ()
    video: str = ""  # "" means the check-ins' video (the same people meet the same way)
    color: str = ""


@dataclass(frozen=True)
class Colors:
    """Colours of the kinds that have no table of their own (deadlines); CSS3 names."""

    deadlines: str = ""


@dataclass(frozen=True)
class Alliance:
    """The whole agreement, validated; `source` is the file it was loaded from."""

    id: str
    title: str
    timezone: str
    starts: date
    deadline: date
    goal: Goal
    members: tuple[Member, ...]
    measures: tuple[Measure, ...] = ()
    commitments: tuple[Commitment, ...] = ()
    communication: Communication = field(default_factory=Communication)
    checkins: Checkins | None = None
    celebration: Celebration | None = None
    review: Review | None = None
    reflection: tuple[str, ...] = ()
    colors: Colors = field(default_factory=Colors)
    source: Path | None = field(default=None, compare=False)

    # Lookups by id are indexed once per alliance: templates and schedule call them for every
    # commitment, and a linear scan made a 1,000-commitment setup cubic. cached_property
    # writes to the instance __dict__, which a frozen dataclass allows; the index is not a
    # field, so equality and the fingerprints built from fields do not see it.
    @cached_property
    def _members_by_id(self) -> dict[str, Member]:
        return {m.id: m for m in reversed(self.members)}  # first one wins, as before

    @cached_property
    def _commitments_by_id(self) -> dict[str, Commitment]:
        return {c.id: c for c in reversed(self.commitments)}

    @cached_property
    def dependents(self) -> dict[str, tuple[Commitment, ...]]:
        """Commitment id → the commitments that come `after` it, in file order (one pass)."""
        waiting: dict[str, list[Commitment]] = {}
        for commitment in self.commitments:
            if commitment.after:
                waiting.setdefault(commitment.after, []).append(commitment)
        return {key: tuple(value) for key, value in waiting.items()}

    def member(self, member_id: str) -> Member:
        return self._members_by_id[member_id]

    def commitment(self, commitment_id: str) -> Commitment:
        return self._commitments_by_id[commitment_id]

    @property
    def celebration_date(self) -> date | None:
        if self.celebration is None:
            return None
        return self.celebration.on or self.deadline
