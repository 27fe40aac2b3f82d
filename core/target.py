"""The interface every target (ics, eml, google, outlook, caldav, smtp, …) implements.

Like vdirsyncer's storage base class, these docstrings ARE the contract; `tests/contract.py`
runs the same tests against every implementation, and `MemoryTarget` (core/memory.py) is the
in-process fake core tests use.

Targets are found by name through the entry-point group `designed_alliance.integrations`,
so a third party can add one without touching core: one module with a `Target` subclass and
one entry point. A target imports its vendor SDK inside its own methods, never at module
import time. Besides writing, a target class may take part in `alliance doctor`
(`doctor_checks`), `alliance auth` (`sign_in`) and `alliance config schema`
(`config_schema`); core only ever calls these hooks, it never names a target.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from designed_alliance.core.records import dataclass

from .errors import AllianceError, BadInput, Refused, RemoteError
from .items import Event, Item, Message, Person
from .plan import Action, Change, TargetPlan
from .state import DeliveryLog, Record

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from .config import Config
    from .model import Alliance

ENTRY_POINT_GROUP = "designed_alliance.integrations"


class NotSupported(AllianceError):
    """This target has no such read-back hook; the message names the ones that do."""


NOTIFY_MODES = ("all", "external", "none")

@dataclass(frozen=True)
class Remote:
    """An object found on the remote side, tagged with our alliance id and item key."""

    key: str
    remote_id: str
    fingerprint: str
    sequence: int = 0
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Applied:
    """The outcome of one change: done (`error` None) or failed with a typed error.

    `error` is an `AllianceError` (usually a `RemoteError` subclass) whose text says what to
    do; a plain string is accepted and becomes `Refused`, so old adapters keep working.
    """

    change: Change
    remote_id: str = ""
    error: AllianceError | str | None = None
    #: the provider's version marker of the object as written (Google etag, Graph changeKey,
    #: CalDAV ETag); recorded, so the next `plan --check-remote` sees edits made since
    version: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.error, str):
            object.__setattr__(self, "error", Refused(self.error))

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def reason(self) -> str:
        return str(self.error) if self.error is not None else ""

    @property
    def failure(self) -> AllianceError | None:
        """The typed error (strings were turned into `Refused` on creation)."""
        return self.error if isinstance(self.error, AllianceError) else None


RESPONSES = ("accepted", "declined", "tentative", "needs-action")


@dataclass(frozen=True)
class Response:
    """One attendee's answer to one item (for a series: to the series as a whole)."""

    key: str
    email: str
    response: str  # one of RESPONSES


@dataclass(frozen=True)
class DeclinedOccurrence:
    """One attendee declined one occurrence of a series; `start` is the occurrence's
    original start, ISO 8601 local wall time in the item's zone (YYYY-MM-DDTHH:MM)."""

    key: str
    email: str
    start: str


@dataclass(frozen=True)
class SyncPoint:
    """Where the last read of responses ended: the provider's token for the next
    incremental read, and the target's own cache of what it had read (JSON-able), which
    an incremental answer (only what changed) is merged into. Opaque to core, but for one
    key: ``cache["exceptions"]`` maps an item key to the original starts of the occurrences
    changed in the calendar (moved, cancelled or answered one by one), which `plan` names
    when a change of the series' own time would drop them. Kept in the state's `readback`
    table."""

    token: str = ""
    cache: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResponsesResult:
    """What one read of the members' answers brought back, and where the next read starts."""

    responses: tuple[Response, ...]
    declined_occurrences: tuple[DeclinedOccurrence, ...]
    sync: SyncPoint
    requests: int = 0  # HTTP requests this read cost (for the report and the tests)
    incremental: bool = False  # True when the provider answered from the stored token


@dataclass(frozen=True)
class RemoteVersion:
    """What a recorded object looks like on the remote side now, for drift.

    `version` is the provider's marker (etag, changeKey, ETag); `deleted` says it is gone
    (or cancelled). `fields` holds what we compare with what we wrote, normalised:
    "title"; "start" and "end" as local wall time YYYY-MM-DDTHH:MM in the zone the record
    was written in (its summary's "timezone": an event the user moved into another zone is
    converted back), or YYYY-MM-DD for all-day; "rrule" (compared without UNTIL: providers
    rewrite its time part and zone); "until", the series' end as a local date YYYY-MM-DD
    ("" for none), reported only by a provider that keeps the end outside the rule (Graph's
    range.endDate) — else it is read from the rule's UNTIL, in the record's zone; "location"
    (the place the calendar shows: what we wrote is the file's `where`, else the meeting link).
    A provider may leave a field out: it is then not compared. `alliance pull` writes these
    fields back into the alliance file, so they must say what the calendar shows.
    """

    key: str
    version: str = ""
    deleted: bool = False
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Options:
    """What the user asked for on the command line, shared by all targets of one run."""

    out_dir: Path
    notify: str = "all"  # all | external | none: whom remote calendars notify
    send: bool = False  # really send mail (smtp); drafts otherwise
    resend: bool = False  # send again where an earlier attempt's outcome is unknown
    remove_calendar: bool = False  # teardown: delete the calendar made for the alliance too
    organizer: Person | None = None
    progress: Callable[[str], None] | None = None


@dataclass(frozen=True)
class Check:
    """One line of `alliance doctor`: status ok | warn | fail, a name, what to do."""

    status: str
    name: str
    detail: str


@dataclass
class ApplyContext:
    """Everything a target may need while applying, besides its own part of the plan."""

    alliance: Alliance
    events: Sequence[Event]  # every desired event (also the unchanged ones)
    messages: Sequence[Message]
    sequences: dict[str, int]  # key → SEQUENCE each desired item has after this run
    teardown: bool = False
    plan: TargetPlan | None = None
    fresh: bool = False  # nothing was recorded for this target before: nothing to look for
    # Per-recipient delivery records (a mail target records its intent before it sends and
    # the outcome after, so an unknown outcome is never silently sent again).
    deliveries: DeliveryLog | None = None

    def progress(self, options: Options, text: str) -> None:
        if options.progress:
            options.progress(text)

    def announced(self, message_key: str) -> list[Change]:
        """The changes a planned message tells the members about (its invites)."""
        if self.plan is None:
            return []
        return [c for c in self.plan.changes if c.announced_by == message_key]


class Target(abc.ABC):
    """One place the alliance is written to.

    Contract:

    - ``name`` is the entry-point name. ``handles`` says which item kinds the target writes:
      "event" (calendar objects) and/or "message" (mail: files, drafts, sent mail).
      ``announces`` is True for a target that tells the members about events through its
      messages: its state then also tracks every event ("what the members were told"), and
      each event change is carried by exactly one planned message (``Change.announced_by``).
    - ``updates_kickoff`` is True when the kickoff can be rewritten where it lies (a file, a
      draft). When False (mail already sent) a changed kickoff is recorded with the change
      summary that tells the members, never sent again.
    - ``can_lookup`` is False for a target that cannot find what it made before (sent mail):
      a lost state is then not rebuilt, and `plan` must not promise to adopt anything.
    - ``__init__(config, options)`` validates the target's own config section (raising
      `BadInput` naming the config file and key) and does no I/O beyond reading files.
    - ``instance`` names *where* this target writes (a folder, a calendar id, a mailbox): state
      is keyed by it, so the same alliance written to two places is tracked twice. It holds no
      secret (it is printed and stored).
    - ``check_ready()`` verifies credentials and settings without writing anything; it raises
      `AllianceError` with one line that says what to do (e.g. "run alliance auth google").
    - ``validate(items)`` refuses, at plan time, items this target cannot represent exactly,
      raising `BadInput` that says what to change. It never approximates. It returns notes
      for the plan (e.g. who sends the invitations).
    - ``lookup(alliance_id)`` returns the objects on the remote side tagged with this alliance
      id, by item key: events, and the kickoff where it can be found (a draft). It is how a
      lost state file is rebuilt; it must find every object a previous ``apply`` made,
      including ones whose write the client never saw acknowledged. A target that cannot
      look anything up returns ``{}`` and sets ``can_lookup = False``.
      ``lookup_notes()`` then returns lines for the plan about what it could not tell.
    - ``missing(alliance_id, records)`` returns the keys of recorded items whose copy on
      this target's side is gone or is no longer what was written (a file deleted or
      replaced by hand). Planning turns each such KEEP into an UPDATE with the same
      SEQUENCE: the object is written again as it was, and no change summary is planned for
      it — the members never had a change. Called at plan time, so it reads only local
      files; remote targets keep the default (nothing missing: drift is read back instead).
    - ``apply(plan, context)`` executes CREATE/UPDATE/CANCEL changes (KEEP needs nothing) and
      yields, as soon as it is durable on the remote side, either one `Applied` or a tuple of
      `Applied` that is one unit: it is recorded in a single transaction (a message and the
      event changes it announced), so a crash records all of it or none. Every non-KEEP
      change is yielded at most once; a change not yielded is simply planned again next run.
      A change that failed is yielded with ``error`` set (a `RemoteError` subtype); the target
      goes on with the others where that is safe. Applying the same plan twice must not
      duplicate anything: a CREATE whose object already exists (same key) updates it.
      The default ``apply`` runs the shared workflow: ``write_events`` for the event changes
      this target writes, then ``deliver`` for each planned message, each message recorded
      together with the changes it announces, and held back when one of those failed.
    - ``responses(alliance_id, records, since)`` reads the attendees' answers to the recorded
      events (``records``: key → Record, its ``remote_id`` says where each is) and the
      occurrences of series that attendees declined one by one. ``since`` is the SyncPoint
      the previous read returned (None: read everything); a provider that offers
      incremental reads (sync tokens, delta links) uses it, so a repeated read costs one or
      two requests, and falls back to a full read when the token has expired. The organizer
      is not reported. It writes nothing. Default: not supported (`NotSupported`).
    - ``remote_versions(alliance_id, records)`` returns, for each recorded active event, a
      `RemoteVersion` (its provider version marker and the fields we compare), in one
      batched or list request where the provider allows; a recorded object that is gone
      comes back with ``deleted``. Default: not supported (`NotSupported`). Every
      ``Applied`` of an event write should carry ``version`` so there is something to
      compare against.
    - A target that writes into a calendar it makes for the alliance (``calendar =
      "dedicated"``) keeps that calendar in state as a record of its own (key ``calendar``,
      ``summary["kind"] == "calendar"``; planning ignores such rows). ``recall(alliance_id,
      records)`` hands it every recorded row of this instance before planning (no I/O);
      ``own_records()`` returns, after apply, the rows of its own to record (the calendar
      it made, found or renamed). ``earlier_instances()`` names the instances the same
      target wrote to under its other calendar setting: the run refuses to plan while
      those still hold this alliance's events and this one holds none (no doubles).
      ``remove_calendar(alliance_id)`` (`teardown --remove-calendar`, after the events are
      cancelled) deletes that calendar whole, only when it is one we made and tagged, and
      returns the record to keep; ``check_remove_calendar()`` raises `BadInput` at plan time
      when there is no such calendar to remove (the primary or a calendar the user chose).
    - ``is_remote`` is True when applying reaches other people or servers (the CLI asks for
      confirmation before that). ``writes_files`` is True for targets that write into the
      output folder; ``sends_mail`` for targets that really send (`--send` adds them).
    """

    name: ClassVar[str]
    handles: ClassVar[frozenset[str]] = frozenset({"event"})
    announces: ClassVar[bool] = False
    updates_kickoff: ClassVar[bool] = True
    can_lookup: ClassVar[bool] = True
    is_remote: ClassVar[bool] = True
    writes_files: ClassVar[bool] = False  # into the output folder (`--out`)
    sends_mail: ClassVar[bool] = False  # really sends: added by `--send`

    def __init__(self, config: Config, options: Options) -> None:
        self.config = config
        self.options = options

    # -- hooks for core commands: optional, found through the same entry point -------------
    @classmethod
    def config_schema(cls) -> dict[str, Any] | None:
        """The JSON Schema of this target's `[name]` config section, or None if it has none."""
        return None

    @classmethod
    def doctor_checks(cls, config: Config) -> list[Check]:
        """`alliance doctor` lines for this target's config section (only called when the
        section exists). Checks credentials without writing anything."""
        return []

    @classmethod
    def sign_in(cls, config: Config, *, browser: bool | None, forget: bool,
                echo: Callable[[str], None]) -> str:
        """`alliance auth NAME`: sign in once (or forget the sign-in) and say where the token
        is kept, never what it is. Targets without a sign-in keep this default."""
        raise AllianceError(f"the {cls.name} target has no sign-in — its credentials are "
                            "set in the config file")

    @classmethod
    def has_sign_in(cls) -> bool:
        return cls.sign_in.__func__ is not Target.sign_in.__func__  # type: ignore[attr-defined]

    # -- the contract ---------------------------------------------------------------------
    @property
    @abc.abstractmethod
    def instance(self) -> str:
        """Where this target writes, e.g. "ics:/home/ana/alliance-out/x" or "google:primary"."""

    def check_ready(self) -> None:  # noqa: B027 - optional hook with a no-op default
        """Raise AllianceError when credentials or settings are missing. No writes."""

    def validate(self, items: Sequence[Item]) -> list[str]:
        """Refuse what cannot be represented (raise BadInput); return notes for the plan.

        The default says who sends the invitations (`who_sends`); a target that overrides
        this keeps that note (``super().validate(items)``)."""
        note = self.who_sends()
        return [note] if note else []

    def who_sends(self) -> str | None:
        """Who sends the invitations for what this target writes, as a plan note, given
        `options.notify` and `options.send`; None when the target has nothing to say. A
        `--notify` this target cannot honour is refused in `validate`, never ignored."""
        if self.sends_mail:
            if self.options.notify == "none":
                return "invitations: none sent (--notify none): this run sends no mail"
            return f"invitations: {self.name} sends them now, by mail, to every member"
        if self.writes_files:
            return "invitations: you send the files — nothing is sent from here"
        return None

    @abc.abstractmethod
    def lookup(self, alliance_id: str) -> dict[str, Remote]:
        """Tagged remote objects of this alliance, by item key ({} when it cannot look)."""

    def lookup_notes(self) -> list[str]:
        """After `lookup`: what the plan should say about what was (not) found, e.g. a
        kickoff whose sending cannot be told; [] by default."""
        return []

    def recall(self, alliance_id: str, records: dict[str, Record]) -> None:  # noqa: B027
        """Before planning: every recorded row of this instance (see above). No I/O."""

    def own_records(self) -> list[Record]:
        """After apply: rows of this target's own to record (a dedicated calendar)."""
        return []

    def earlier_instances(self) -> list[str]:
        """Instances this target wrote to under its other calendar setting."""
        return []

    def check_remove_calendar(self) -> str:
        """`teardown --remove-calendar` at plan time: the plan note saying which calendar
        goes, or `BadInput` when this target has no calendar of the alliance's own. A target
        that writes no events (mail) has nothing to remove: "" (no note)."""
        if "event" not in self.handles:
            return ""
        raise BadInput(f"the {self.name} target has no calendar of the alliance's own to "
                       "remove", key="--remove-calendar",
                       hint="leave --remove-calendar out, or use it with --to a target whose "
                       'config says calendar = "dedicated"')

    def remove_calendar(self, alliance_id: str) -> Record | None:
        """Delete the alliance's own calendar (see above); None when there is none."""
        self.check_remove_calendar()
        return None

    def missing(self, alliance_id: str, records: dict[str, Record]) -> set[str]:
        """Keys of recorded items no longer there as written (to be written again)."""
        return set()

    def apply(self, plan: TargetPlan, context: ApplyContext
              ) -> Iterator[Applied | tuple[Applied, ...]]:
        """Execute the plan's changes, yielding one Applied (or one unit) per change."""
        todo = [c for c in plan.changes if c.action is not Action.KEEP]
        held: dict[str, list[Applied]] = {}
        failed_for: set[str] = set()  # messages one of whose announced changes failed
        events = [c for c in todo if c.kind == "event"]
        if "event" in self.handles and events:
            for applied in self.write_events(events, context):
                by = applied.change.announced_by
                if not applied.ok and by is not None:
                    failed_for.add(by)
                if by is None or not applied.ok:
                    yield applied
                else:
                    held.setdefault(by, []).append(applied)
        else:
            for change in events:
                if change.announced_by is not None:
                    held.setdefault(change.announced_by, []).append(Applied(change))
        riders: dict[str, list[Change]] = {}  # messages carried by another (a changed kickoff)
        for change in todo:
            if change.kind == "message" and change.announced_by is not None:
                riders.setdefault(change.announced_by, []).append(change)
        for change in todo:
            if change.kind != "message" or change.announced_by is not None:
                continue
            carried = held.pop(change.key, [])
            riding = riders.pop(change.key, [])
            if change.key in failed_for:
                # Never tell the members about what did not happen: hold the message back (and
                # what rides with it) and leave the done changes unrecorded; the next run
                # redoes them, idempotently.
                yield Applied(change, error=Refused(
                    "held back because a change it announces failed — run the same command "
                    "again"))
                continue
            unit = [change, *riding]
            try:
                done = [Applied(c, remote_id=self._deliver_rider(c, context, first=c is change))
                        for c in unit]
            except RemoteError as exc:
                yield Applied(change, error=exc)
                continue
            yield (*done, *carried)
        # What a message delivered by an earlier run announced (its record says so) is
        # recorded now, with the kickoff it carried rewritten where that is possible.
        for key in dict.fromkeys([*held, *riders]):
            extra: list[Applied] = []
            try:
                for change in riders.get(key, []):
                    extra.append(Applied(change, remote_id=self._deliver_rider(
                        change, context, first=False)))
            except RemoteError as exc:
                yield Applied(riders[key][len(extra)], error=exc)
                continue
            yield (*held.get(key, []), *extra)

    def _deliver_rider(self, change: Change, context: ApplyContext, *, first: bool) -> str:
        if first or self.updates_kickoff:
            return self.deliver(change, context)
        return change.record.remote_id if change.record else ""  # sent mail stays as sent

    def responses(self, alliance_id: str, records: dict[str, Record],
                  since: SyncPoint | None) -> ResponsesResult:
        """Attendees' answers and declined occurrences of the recorded events (see above)."""
        raise NotSupported(f"the {self.name} target cannot read responses back — use "
                           "--to google, outlook or caldav")

    def remote_versions(self, alliance_id: str, records: dict[str, Record]
                        ) -> dict[str, RemoteVersion]:
        """What each recorded event looks like on the remote side now (see above)."""
        raise NotSupported(f"the {self.name} target cannot check for edits made in the "
                           "calendar")

    def write_events(self, changes: Sequence[Change], context: ApplyContext
                     ) -> Iterator[Applied]:
        """Write these event changes (CREATE/UPDATE/CANCEL), yielding each as it is durable.
        Targets that handle "event" implement it (or override `apply`)."""
        raise NotImplementedError(f"{type(self).__name__} writes no events")

    def deliver(self, change: Change, context: ApplyContext) -> str:
        """Deliver one planned message change (CREATE/UPDATE: write or send it; CANCEL:
        withdraw it where that is possible) and return its remote id. The event changes it
        announces are `context.announced(change.key)`. Raises `RemoteError` on failure."""
        raise NotImplementedError(f"{type(self).__name__} delivers no messages")


@cache
def available_targets() -> dict[str, EntryPoint]:
    """Entry points of the group, by name (not loaded: loading imports the adapter)."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


# The two embedded targets every default run uses, by module: importing them directly saves
# reading every installed distribution's entry points (~15 ms of a 0.2 s setup). They are the
# package's own entry points (pyproject.toml), so both ways load the same class.
BUILTIN = {"ics": ("designed_alliance.integrations.ics", "IcsTarget"),
           "eml": ("designed_alliance.integrations.eml", "EmlTarget")}


def load_target(name: str) -> type[Target]:
    if name in BUILTIN:
        import importlib

        module, attr = BUILTIN[name]
        cls = getattr(importlib.import_module(module), attr)
        assert isinstance(cls, type) and issubclass(cls, Target)
        return cls
    found = available_targets()
    if name not in found:
        names = ", ".join(sorted(found)) or "(none installed)"
        raise BadInput(f"unknown target {name!r}", key="--to", hint=f"use one of: {names}")
    try:
        cls = found[name].load()
    except ImportError as exc:
        raise AllianceError(
            f"the {name} target could not be loaded ({exc}) — "
            f"run: pip install 'designed-alliance[{name}]'") from None
    if not (isinstance(cls, type) and issubclass(cls, Target)):
        raise AllianceError(f"the entry point {name!r} is not a designed-alliance Target — "
                            "reinstall the package that provides it")
    return cls


def loadable_targets() -> dict[str, type[Target]]:
    """Every installed target class that loads (for doctor, auth and the config schema);
    one whose extra is missing is left out here and named by `load_target` when used."""
    out: dict[str, type[Target]] = {}
    for name in sorted(available_targets()):
        try:
            out[name] = load_target(name)
        except AllianceError:
            continue
    return out
