"""The controller behind `plan`, `setup` and `teardown`: items → plan → apply → state.

The CLI only parses options and calls these; tests call them directly too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from designed_alliance.core.records import dataclass

from . import compose
from .config import Config
from .errors import AllianceError, NeedsForce
from .items import Event, Item, Message, Person
from .journal import Journal
from .messages import KICKOFF, SENT, plan_messages
from .model import Alliance
from .plan import Action, Change, Drift, Plan, TargetPlan, plan_target, record_kind
from .schedule import organizer_for, schedule
from .state import Record, State
from .target import (
    Applied,
    ApplyContext,
    NotSupported,
    Options,
    RemoteVersion,
    Target,
    load_target,
)


@dataclass(frozen=True)
class Desired:
    """The events and messages an alliance wants, and what they were rendered from."""

    events: tuple[Event, ...]
    messages: tuple[Message, ...]
    reasons: dict[str, str] = field(default_factory=dict)  # key → why it moved (journal)
    inputs: str = ""  # digest of what it was rendered from (core/rendered.py); "" unknown
    from_state: bool = False  # decoded from the state's last rendering, not rendered now
    code: str = ""  # rendered.code_stamp() of the code that rendered it; "" unknown
    renders: dict[str, str] = field(default_factory=dict)  # compose.Words.used
    rendered: tuple[str, ...] = ()  # the templates jinja2 really ran for it

    @property
    def items(self) -> tuple[Item, ...]:
        return (*self.events, *self.messages)


def desired(alliance: Alliance, config: Config, journal: Journal | None = None, *,
            state: State | None = None) -> Desired:
    """What should exist: the events (following the journal, when given) and the kickoff.

    With `state`, what the last run rendered from the same inputs is used instead of
    rendering again, and after an edit each text whose values did not change is reused
    (see core/rendered.py; `remember` keeps them)."""
    inputs = code = ""
    known: dict[str, str] = {}
    if state is not None:
        from . import rendered

        code = rendered.code_stamp()
        inputs = rendered.inputs_digest(alliance, config, journal, code=code)
        last = state.last_rendered(alliance.id)
        if last is not None and last[0] == inputs:
            found = rendered.decode(last[1])
            if found is not None:
                return Desired(*found, inputs=inputs, from_state=True)
        if last is not None:
            known = rendered.decode_renders(last[1], code)
    words = compose.Words(alliance, known)
    events = schedule(alliance, config.defaults.organizer, journal, words)
    sender = organizer_for(alliance, config.defaults.organizer)
    reasons = why_moved(alliance, journal) if journal is not None else {}
    kickoff = compose.kickoff(alliance, events, sender, words)
    return Desired(tuple(events), (kickoff,), reasons, inputs=inputs, code=code,
                   renders=words.used, rendered=tuple(words.rendered))


def remember(alliance: Alliance, want: Desired, state: State) -> None:
    """Keep what was rendered for the next run (setup calls it; plan writes nothing)."""
    if want.inputs and not want.from_state:
        from . import rendered

        state.put_rendered(alliance.id, want.inputs,
                           rendered.encode(want.events, want.messages, want.reasons,
                                           code=want.code, renders=want.renders))


def why_moved(alliance: Alliance, journal: Journal) -> dict[str, str]:
    """For each deadline the journal moved or removed, the words the change summary uses
    ("moved because design was done on Fri 12 Feb 2027")."""
    from .sequence import due_dates

    done = journal.done_dates()
    moved = journal.redated_dues()
    planned = due_dates(alliance.commitments)
    actual = due_dates(alliance.commitments, done, moved)
    reasons: dict[str, str] = {}
    for commitment in alliance.commitments:
        key = f"commitment:{commitment.id}"
        dropped = journal.dropped_entry(commitment.id)
        if dropped is not None:
            reasons[key] = f"dropped: {dropped.reason}"
        elif commitment.id in moved:
            entry = next(r for r in reversed(journal.redated) if r.commitment == commitment.id)
            reasons[key] = f"re-dated: {entry.reason}"
        elif planned.get(commitment.id) != actual.get(commitment.id) and commitment.after:
            before = commitment.after
            if before in done:
                reasons[key] = (f"moved because {before} was done on "
                                f"{compose.long_date(done[before])}")
            else:
                reasons[key] = f"moved because {before} moved"
    return reasons


def default_out_dir(alliance: Alliance, config: Config) -> Path:
    """`[defaults] output_dir`/<id>, else `alliance-out/<id>` beside the alliance file.

    The output belongs to the alliance, not to the folder the command runs in: run from
    elsewhere, setup must find (and update) the same invites, and teardown must find them to
    cancel. The current folder is only the fallback for an alliance that has no file.
    """
    base = config.defaults.output_dir
    if base is not None:
        return base / alliance.id
    home = alliance.source.resolve().parent if alliance.source is not None else Path.cwd()
    return home / "alliance-out" / alliance.id


def make_targets(names: Sequence[str], config: Config, options: Options) -> list[Target]:
    targets = []
    seen = set()
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        targets.append(load_target(name)(config, options))
    return targets


def records_from_remote(target: Target, alliance_id: str) -> dict[str, Record]:
    return {key: Record(key, remote.remote_id, remote.fingerprint, remote.sequence, "active",
                        remote.summary)
            for key, remote in target.lookup(alliance_id).items()}


def make_plan(alliance: Alliance, want: Desired, targets: Sequence[Target], state: State, *,
              teardown: bool = False, reconcile: bool = False,
              sender: Person | None = None) -> Plan:
    """Plan every target: its events against its state, then the messages that tell the
    members (for targets that handle messages). A target with no state is looked up
    (rebuilding lost state): local targets always (it costs no network), remote ones only
    with `reconcile`."""
    sender = sender or (want.messages[0].sender if want.messages else None)
    parts: list[TargetPlan] = []
    for target in targets:
        mails = "message" in target.handles and bool(want.messages)
        tracks_events = "event" in target.handles or target.announces
        items: list[Item] = [*(want.events if tracks_events else ()),
                             *(want.messages if mails else ())]
        notes = target.validate(items)
        records = state.records(alliance.id, target.instance)
        if not records and target.can_lookup and (reconcile or not target.is_remote):
            records = records_from_remote(target, alliance.id)
            if records:
                notes = [*notes, f"state rebuilt from {len(records)} tagged object(s) found",
                         *target.lookup_notes()]
        elif not records and target.is_remote and target.can_lookup and not teardown:
            notes = [*notes, "nothing recorded here yet: setup first looks for objects this "
                     "alliance already has there, and adopts them instead of creating twins"]
        events = _continue_sequences(
            plan_target(target.name, target.instance,
                        list(want.events) if tracks_events else [], records,
                        teardown=teardown).changes,
            state, alliance.id, target.instance)
        changes: Sequence[Change] = events
        if mails:
            assert sender is not None
            changes = plan_messages(alliance, want.messages[0], events, records,
                                    sender=sender, teardown=teardown,
                                    writes_events="event" in target.handles,
                                    reasons=want.reasons)
        if records and not teardown:
            changes, healed = _heal(changes, target.missing(alliance.id, records))
            if healed:
                notes = [*notes, f"{len(healed)} recorded item(s) are missing or changed here "
                         f"and are written again as they were ({', '.join(healed)}); the "
                         "members are told nothing new"]
        parts.append(TargetPlan(target.name, target.instance, tuple(changes), tuple(notes),
                                writes_events="event" in target.handles))
    return Plan(alliance.id, alliance.title, tuple(parts), teardown=teardown)


def plan_mail(alliance: Alliance, messages: Sequence[Message], targets: Sequence[Target],
              state: State) -> Plan:
    """Plan one-off messages (agendas, nudges) for the targets that deliver mail.

    Each key is delivered once per target; where the delivered copy can be rewritten (a
    file, a draft: `updates_kickoff`) a message whose content changed updates it, and sent
    mail is never sent again. No event is touched: that is `setup`'s work.
    """
    parts: list[TargetPlan] = []
    for target in targets:
        if "message" not in target.handles:
            continue
        records = state.records(alliance.id, target.instance)
        changes: list[Change] = []
        for message in messages:
            record = records.get(message.key)
            if record is None:
                action = Action.CREATE
            elif record.fingerprint != message.fingerprint and target.updates_kickoff:
                action = Action.UPDATE
            else:
                action = Action.KEEP
            changes.append(Change(action, message.key, message, record, 0, kind="message"))
        parts.append(TargetPlan(target.name, target.instance, tuple(changes),
                                writes_events="event" in target.handles))
    return Plan(alliance.id, alliance.title, tuple(parts))


def _heal(changes: Sequence[Change], missing: set[str]) -> tuple[list[Change], list[str]]:
    """KEEP → UPDATE at the same SEQUENCE for what the target no longer has as written.

    Done after the messages are planned, so no change summary announces it: to the members
    nothing changed; only our copy is written again."""
    out: list[Change] = []
    healed: list[str] = []
    for change in changes:
        if change.action is Action.KEEP and change.key in missing and change.item is not None:
            change = replace(change, action=Action.UPDATE)
            healed.append(change.key)
        out.append(change)
    return out, healed


def _continue_sequences(changes: Sequence[Change], state: State, alliance_id: str,
                        instance: str) -> tuple[Change, ...]:
    """A CREATE of a key that another place already holds for this alliance starts above
    the highest SEQUENCE recorded for it anywhere: the UID is the same, and a calendar that
    accepted SEQUENCE 3 from the old folder ignores a SEQUENCE 0 from the new one."""
    fresh = [c.key for c in changes if c.action is Action.CREATE and c.kind == "event"]
    if not fresh:
        return tuple(changes)
    floors = state.highest_sequences(alliance_id, fresh, exclude_instance=instance)

    def floor(change: Change) -> int:
        top, fingerprint = floors[change.key]
        # The same invite elsewhere (the ics and eml targets of one run announce the same
        # UID) keeps its SEQUENCE; a different one must be newer than what was sent.
        same = change.item is not None and change.item.fingerprint == fingerprint
        return max(change.sequence, top if same else top + 1)

    return tuple(replace(c, sequence=floor(c))
                 if c.action is Action.CREATE and c.key in floors else c for c in changes)


@dataclass
class Report:
    """The outcome of applying a plan: each change with its target, done or failed."""

    plan: Plan
    applied: list[tuple[str, Applied]] = field(default_factory=list)

    @property
    def failures(self) -> list[tuple[str, Applied]]:
        return [(t, a) for t, a in self.applied if not a.ok]

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for target, applied in self.applied:
            bucket = out.setdefault(target, {})
            name = applied.change.action.value if applied.ok else "failed"
            bucket[name] = bucket.get(name, 0) + 1
        return out

    def as_dict(self) -> dict:
        return {
            "plan": self.plan.as_dict(),
            "applied": [{"target": t, "key": a.change.key, "kind": a.change.kind,
                         "action": a.change.action.value, "ok": a.ok,
                         "error": a.reason or None} for t, a in self.applied],
            "ok": not self.failures,
        }


def check_owner(alliance: Alliance, state: State, force: bool) -> None:
    """Refuse an id that another file set up under another title: a copied alliance file
    keeps its id, and applying it would rename (or cancel) the other alliance's events.

    The same file under a new title is a rename; another file with the same title is the
    same alliance checked out elsewhere. Only both at once are refused, unless --force.
    """
    if alliance.source is None or force:
        return
    owner = state.owner(alliance.id)
    source = str(alliance.source.resolve())
    if owner is None or owner.title == alliance.title or owner.source == source:
        return
    raise NeedsForce(
        f"{alliance.source}: the id {alliance.id!r} belongs to {owner.title!r}, set up from "
        f"{owner.source} — if this file is a copy for another alliance, give it a new id "
        "(`alliance init` makes one); if it is the same alliance renamed, run again with "
        "--force")


def claim(alliance: Alliance, state: State) -> None:
    """Record this file and title as the owner of the alliance id (see `check_owner`)."""
    if alliance.source is not None:
        state.claim(alliance.id, alliance.title, str(alliance.source.resolve()))


def check_safe(plan: Plan, force: bool) -> None:
    unsafe = plan.unsafe_targets()
    if unsafe and not force:
        worst = unsafe[0]
        raise NeedsForce(
            f"this plan cancels {worst.count(Action.CANCEL)} of {worst.existing} existing items "
            f"in {worst.target} (more than a third) — check the alliance file, then run again "
            "with --force if that is what you want")


def apply_plan(alliance: Alliance, want: Desired | None, plan: Plan,
               targets: Sequence[Target], state: State,
               progress: Callable[[str], None] | None = None) -> Report:
    report = Report(plan)
    by_instance = {t.instance: t for t in targets}
    for part in plan.targets:
        target = by_instance[part.instance]
        # Rows adopted from a remote lookup are recorded first: the remote side has them.
        known = state.records(alliance.id, part.instance)
        adopted = [c.record for c in part.changes
                   if c.record is not None and c.key not in known]
        if adopted:
            state.put_many(alliance.id, part.instance, adopted)
        if not part.has_changes:
            continue
        sequences = {c.key: c.sequence for c in part.changes if c.item is not None}
        context = ApplyContext(
            alliance=alliance, events=want.events if want else (),
            messages=want.messages if want else (), sequences=sequences,
            teardown=plan.teardown, plan=part,
            fresh=all(c.record is None for c in part.changes),
            deliveries=state.log_for(alliance.id, part.instance),
        )
        todo = sum(1 for c in part.changes if c.action is not Action.KEEP)
        done = 0
        # A local target's files are found again by `lookup` and `missing`, and rewriting
        # one is idempotent: its records are committed in one transaction at the end (one
        # fsync instead of one per file). A remote write must be recorded as soon as it is
        # durable there: a lost record would create a twin next run.
        batch: list[Record] | None = [] if not target.is_remote else None
        try:
            for outcome in target.apply(part, context):
                # A tuple is one unit (e.g. a mail that told the members about several
                # changes): it is recorded in one transaction, so a crash cannot record half.
                unit = outcome if isinstance(outcome, tuple) else (outcome,)
                report.applied.extend((part.target, applied) for applied in unit)
                records = [_record(applied) for applied in unit if applied.ok]
                if batch is None:
                    state.put_many(alliance.id, part.instance, records)
                else:
                    batch.extend(records)
                done += len(unit)
                if progress:
                    progress(f"{part.target}: {done}/{todo} {unit[-1].change.key}")
        finally:
            if batch:  # also when a later write failed: what is written is recorded
                state.put_many(alliance.id, part.instance, batch)
    return report


def _record(applied: Applied) -> Record:
    change = applied.change
    if change.kind == "message" and change.key != KICKOFF:
        # One-off mail (a change summary): history that keeps it from being sent twice.
        assert change.item is not None
        return Record(change.key, applied.remote_id, change.item.fingerprint, 0, SENT,
                      dict(change.item.summary))
    if change.action is Action.CANCEL:
        old = change.record
        assert old is not None
        return Record(change.key, applied.remote_id or old.remote_id, old.fingerprint,
                      change.sequence, "cancelled", old.summary)
    item = change.item
    assert item is not None
    summary = dict(item.summary)
    if applied.version:
        summary["version"] = applied.version  # what drift is measured against
    return Record(change.key, applied.remote_id, item.fingerprint, change.sequence, "active",
                  summary)


DRIFT_FIELDS = ("title", "start", "end", "rrule", "location", "until")


def _wall(value: object) -> str:
    """An ISO start/end as local wall time (YYYY-MM-DDTHH:MM), a date as it is."""
    text = str(value or "")
    return text[:16] if "T" in text else text[:10]


def _rule_parts(value: object) -> list[str]:
    return sorted(p for p in str(value or "").upper().split(";") if p)


def until_of(fields: Mapping[str, object], zone: str) -> str | None:
    """A series' end as the alliance file would say it: the local date (YYYY-MM-DD, in
    `zone`) of its UNTIL, "" for a series that never ends, None when it is not known (no
    rule reported, or a COUNT). A provider that keeps the end as a date of its own (Graph's
    range.endDate) reports it as the field "until"; else it is read from the rule's UNTIL,
    whose time part and zone providers rewrite: only the local date is compared."""
    if "until" in fields:
        return str(fields["until"] or "")
    if "rrule" not in fields:
        return None
    parts = dict(p.partition("=")[::2] for p in _rule_parts(fields.get("rrule")))
    if "COUNT" in parts or not parts:
        return None
    text = parts.get("UNTIL", "")
    if not text:
        return ""
    try:
        if "T" not in text:
            return datetime.strptime(text[:8], "%Y%m%d").date().isoformat()
        moment = datetime.strptime(text.rstrip("Z")[:15], "%Y%m%dT%H%M%S")
    except ValueError:
        return None
    if text.endswith("Z"):
        with contextlib.suppress(KeyError, ValueError):
            moment = moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone or "UTC"))
    return moment.date().isoformat()


def _last_before(rule: object, start: object, until: str) -> date | None:
    """The date of the series' last occurrence on or before the local day `until`."""
    from dateutil.rrule import rrulestr

    body = ";".join(p for p in _rule_parts(rule) if not p.startswith(("UNTIL=", "COUNT=")))
    try:
        first = datetime.fromisoformat(_wall(start))
        end = datetime.combine(date.fromisoformat(until), time(23, 59, 59))
        last = rrulestr(body, dtstart=first, ignoretz=True).before(end, inc=True)
    except (ValueError, TypeError, OverflowError):
        return None
    return last.date() if last is not None else None


def same_until(ours: Mapping[str, object], theirs: Mapping[str, object], zone: str) -> bool:
    """Whether two series end alike: the same date, or two dates with the same last
    occurrence (Graph keeps the last occurrence's day, we write the deadline's). A side
    that cannot say (None) is not compared."""
    mine, seen = until_of(ours, zone), until_of(theirs, zone)
    if mine is None or seen is None or mine == seen:
        return True
    if not mine or not seen:
        return False  # one never ends
    last = _last_before(ours.get("rrule"), ours.get("start"), mine)
    return last is not None and last == _last_before(ours.get("rrule"), ours.get("start"), seen)


def _norm(name: str, value: object) -> str:
    if name in ("start", "end"):
        return _wall(value)
    if name == "rrule":  # servers reorder the parts of a rule; the set of parts is the rule
        return ";".join(p for p in _rule_parts(value) if not p.startswith("UNTIL="))
    return str(value or "")


def same_field(name: str, ours: object, theirs: object) -> bool:
    """Whether a field we wrote still says the same on the remote side. A rule is compared
    without its UNTIL (the series' end is the field "until", compared by `same_until`);
    a provider that keeps the end its own way (Graph) reports no COUNT either."""
    if name == "rrule":
        mine, seen = _rule_parts(ours), _rule_parts(theirs)
        if not any(p.startswith("COUNT=") for p in seen) and not any(
                p.startswith("UNTIL=") for p in seen):
            mine = [p for p in mine if not p.startswith("COUNT=")]
        return ([p for p in mine if not p.startswith("UNTIL=")]
                == [p for p in seen if not p.startswith("UNTIL=")])
    return _norm(name, ours) == _norm(name, theirs)


def same_in(name: str, ours: Mapping[str, object], theirs: Mapping[str, object],
            zone: str) -> bool:
    """`same_field` over two field mappings (a record's or event's summary, a remote's
    fields), where the series' end ("until") is read from either."""
    if name == "until":
        return same_until(ours, theirs, zone)
    return same_field(name, ours.get(name), theirs.get(name))


def drifted_fields(record: Record, remote: RemoteVersion) -> dict[str, tuple[str, str]]:
    """name → (what we wrote, what the calendar says now), normalised, for each compared
    field that differs. A field the record does not hold (written before it was kept) or
    the provider does not report is not compared."""
    out: dict[str, tuple[str, str]] = {}
    zone = str(record.summary.get("timezone") or "UTC")
    for name in DRIFT_FIELDS:
        if name == "until":
            if "rrule" not in record.summary or not record.summary.get("rrule") or (
                    "rrule" not in remote.fields and "until" not in remote.fields):
                continue
            if not same_until(record.summary, remote.fields, zone):
                out[name] = (until_of(record.summary, zone) or "never",
                             until_of(remote.fields, zone) or "never")
            continue
        if name not in remote.fields or name not in record.summary:
            continue
        if not same_field(name, record.summary.get(name), remote.fields[name]):
            out[name] = (_norm(name, record.summary.get(name)),
                         _norm(name, remote.fields[name]))
    return out


def describe_drift(record: Record, remote: RemoteVersion) -> Drift | None:
    """How a recorded object differs from what we wrote, or None when it does not.

    A changed version marker alone is not drift: providers bump it when an attendee answers.
    Only the fields we own and the provider reports back are compared."""
    if remote.deleted:
        return Drift(record.key, "deleted", deleted=True)
    recorded = record.summary.get("version")
    if not recorded or recorded == remote.version:
        return None
    parts: list[str] = []
    for name, (old, new) in drifted_fields(record, remote).items():
        if name in ("start", "end"):
            if old[:10] == new[:10] and len(old) > 10 and len(new) > 10:
                old, new = old[11:], new[11:]  # same day: the times say it
            parts.append(f"{name} {old} → {new}")
        elif name == "until":
            parts.append(f"until {old} → {new}")
        else:
            parts.append(f"{name} {old!r} → {new!r}")
    return Drift(record.key, ", ".join(parts), remote=dict(remote.fields)) if parts else None


def _matches_calendar(drift: Drift, change: Change) -> bool:
    """True when the alliance file was edited to say what the calendar already says."""
    if drift.deleted or change.item is None:
        return False
    summary = change.item.summary
    wrote = change.record.summary if change.record is not None else {}
    zone = str(wrote.get("timezone") or summary.get("timezone") or "UTC")
    for name in DRIFT_FIELDS:
        if name != "until" and name not in drift.remote:
            continue
        if name == "until" and not (wrote.get("rrule") and summary.get("rrule")):
            continue
        if (name == "until" or name in wrote) and same_in(name, wrote, drift.remote, zone):
            continue  # not changed in the calendar: the file may change it
        if not same_in(name, summary, drift.remote, zone):
            return False
    return True


def check_remote(plan: Plan, targets: Sequence[Target], state: State, *,
                 writing_only: bool = False) -> Plan:
    """The plan with, per target that can tell, the recorded objects someone changed or
    deleted in the calendar since our last write (one batched or list read per target).
    `writing_only` (setup) reads only where the plan would write over a recorded event:
    an unchanged re-run stays free of requests."""
    by_instance = {t.instance: t for t in targets}
    parts: list[TargetPlan] = []
    for part in plan.targets:
        target = by_instance[part.instance]
        if writing_only and not any(c.kind == "event" and c.record is not None
                                    and c.action is not Action.KEEP for c in part.changes):
            parts.append(part)
            continue
        records = {k: r for k, r in state.records(plan.alliance_id, part.instance).items()
                   if r.active and record_kind(r) == "event"}
        if not records or "event" not in target.handles:
            parts.append(part)
            continue
        try:
            remote = target.remote_versions(plan.alliance_id, records)
        except NotSupported:
            parts.append(part)
            continue
        drift = []
        for key, record in records.items():
            found = remote.get(key, RemoteVersion(key, deleted=True))
            described = describe_drift(record, found)
            if described is not None:
                drift.append(described)
        parts.append(replace(part, drift=tuple(drift), checked_remote=True))
    return replace(plan, targets=tuple(parts))


def exception_notes(plan: Plan, state: State) -> Plan:
    """Plan notes naming the occurrences changed in the calendar (as the last `status --to`
    read saw them) that an update of their series' own start or rule will drop. Offline."""
    parts: list[TargetPlan] = []
    for part in plan.targets:
        notes = list(part.notes)
        stored = None
        for change in part.changes:
            if change.action is not Action.UPDATE or change.record is None or (
                    change.item is None or change.kind != "event"):
                continue
            moved = any(_norm(n, change.item.summary.get(n)) != _norm(
                n, change.record.summary.get(n)) for n in ("start", "rrule"))
            if not moved:
                continue  # the series keeps its time: its exceptions survive the update
            if stored is None:
                stored = state.sync_point(plan.alliance_id, part.instance) or ("", {})
            starts = stored[1].get("exceptions", {}).get(change.key) or []
            if starts:
                shown = ", ".join(str(s).replace("T", " ") for s in starts)
                notes.append(f"{change.key}: its new time drops {len(starts)} occurrence(s) "
                             f"changed in the calendar ({shown}; as of the last status --to)")
        parts.append(replace(part, notes=tuple(notes)))
    return replace(plan, targets=tuple(parts))


def check_no_overwrite(plan: Plan, force: bool) -> None:
    """Refuse to write over an object someone edited in the calendar, unless --force."""
    if force:
        return
    for part in plan.targets:
        hits = [(d, c) for d, c in part.overwrites() if not _matches_calendar(d, c)]
        if hits:
            drift, change = hits[0]
            verb = "make it again" if drift.deleted else f"{change.action.value} it"
            raise NeedsForce(
                f"{drift.key} was changed in the {part.target} calendar since the last setup "
                f"({drift.what}) and this setup would {verb} — edit the alliance file to "
                "match the calendar, or run again with --force to overwrite the calendar")


def require_success(report: Report) -> None:
    failures = report.failures
    if failures:
        target, first = failures[0]
        # An error that already says what to do next (e.g. "check the mailbox, then
        # --resend") is not followed by a contradicting "run the same command again".
        then = ("" if getattr(first.failure, "says_what_next", False) else
                " — run the same command again; what was done is recorded")
        raise AllianceError(
            f"{len(failures)} change(s) failed, first: {target} {first.change.key}: "
            f"{first.reason}{then}")
