"""Desired items vs recorded state → a Plan: a value you can print, check and then apply.

Like octoDNS: planning never touches a network or a file; applying is a separate step, and a
plan that cancels too much of what exists is refused unless the user says --force.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import field
from typing import Any

from designed_alliance.core.records import dataclass

from .items import Item
from .state import Record

UNSAFE_CANCEL_FRACTION = 1 / 3
MIN_EXISTING_FOR_SAFETY = 3  # cancelling 1 of 2 items is an edit, not an accident


class Action(enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    CANCEL = "cancel"
    KEEP = "keep"


SYMBOLS = {Action.CREATE: "+", Action.UPDATE: "~", Action.CANCEL: "-", Action.KEEP: "="}


@dataclass(frozen=True)
class Change:
    """One create, update or cancel of one object (or message) in one target."""

    action: Action
    key: str
    item: Item | None  # None for CANCEL
    record: Record | None  # what exists now, if anything
    sequence: int  # the iTIP SEQUENCE the object has after this change
    kind: str = "event"  # "event" | "message"
    announced_by: str | None = None  # key of the planned message that tells the members

    @property
    def title(self) -> str:
        if self.item is not None:
            return self.item.summary.get("title") or self.key
        return (self.record.summary.get("title") if self.record else None) or self.key

    @property
    def when(self) -> str:
        if self.item is not None:
            return self.item.summary.get("when", "")
        return self.record.summary.get("when", "") if self.record else ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action.value, "kind": self.kind, "key": self.key,
                               "title": self.title, "sequence": self.sequence}
        if self.announced_by is not None:
            out["announced_by"] = self.announced_by
        if self.when:
            out["when"] = self.when
        if self.action is Action.UPDATE and self.record:
            was = self.record.summary.get("when")
            if was and was != self.when:
                out["was"] = was
        return out


@dataclass(frozen=True)
class Drift:
    """A recorded object someone changed (or deleted) in the calendar since our last write.
    `what` says how, in words ("start 09:30 → 10:00", "deleted")."""

    key: str
    what: str
    deleted: bool = False
    remote: dict[str, str] = field(default_factory=dict)  # the compared fields, as they are now

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "what": self.what, "deleted": self.deleted}


@dataclass(frozen=True)
class TargetPlan:
    """The changes one target would make, with its notes and what a remote check found."""

    target: str
    instance: str
    changes: tuple[Change, ...]
    notes: tuple[str, ...] = ()
    writes_events: bool = True  # False: events are only carried by its messages (mail)
    drift: tuple[Drift, ...] = ()  # only filled by a remote check (plan --check-remote, setup)
    checked_remote: bool = False

    def overwrites(self) -> list[tuple[Drift, Change]]:
        """Drifted objects this plan would write over (update, cancel, or make again)."""
        by_key = {c.key: c for c in self.changes if c.kind == "event"}
        return [(d, by_key[d.key]) for d in self.drift
                if d.key in by_key and by_key[d.key].action is not Action.KEEP]

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action is action)

    @property
    def existing(self) -> int:
        return sum(1 for c in self.changes if c.record is not None and c.record.active)

    @property
    def has_changes(self) -> bool:
        return any(c.action is not Action.KEEP for c in self.changes)

    def unsafe(self) -> bool:
        """True when it cancels more than a third of what exists (and there is enough to lose)."""
        existing = self.existing
        if existing < MIN_EXISTING_FOR_SAFETY:
            return False
        return self.count(Action.CANCEL) > math.floor(existing * UNSAFE_CANCEL_FRACTION)


@dataclass(frozen=True)
class Plan:
    """Every target's changes for one alliance: the value `plan` prints and `setup` applies."""

    alliance_id: str
    title: str
    targets: tuple[TargetPlan, ...]
    teardown: bool = False
    warnings: tuple[str, ...] = field(default=())

    @property
    def has_changes(self) -> bool:
        return any(t.has_changes for t in self.targets)

    def unsafe_targets(self) -> list[TargetPlan]:
        if self.teardown:
            return []  # teardown says what it does; it asks for confirmation instead
        return [t for t in self.targets if t.unsafe()]

    def render(self, *, color: bool = False, show_keep: bool = False) -> str:
        """The plan as text, one line per change, grouped by target (octoDNS style).

        Unchanged items are counted, not listed, unless `show_keep`.
        """
        colors = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.CANCEL: "red",
                  Action.KEEP: None}
        lines = [f"Plan for {self.title!r} ({self.alliance_id})"]
        for target in self.targets:
            lines.append("")
            lines.append(f"{target.target} → {_instance_label(target.instance)}")
            for change in target.changes:
                if change.action is Action.KEEP and not show_keep:
                    continue
                if change.announced_by is not None and not (
                        target.writes_events and change.kind == "event"):
                    continue  # shown under the message that carries it
                lines.append(_line(change, color, colors))
                if change.kind == "message":
                    told = [c for c in target.changes if c.announced_by == change.key]
                    nested = [c for c in told if c.kind == "message" or not target.writes_events]
                    lines.extend("    " + _line(c, color, colors) for c in nested)
                    events = [c.key for c in told if c.kind == "event" and target.writes_events]
                    if events:
                        lines.append(f"      tells the members about: {', '.join(events)}")
            kept = target.count(Action.KEEP)
            if kept and not show_keep:
                lines.append(f"  = {kept} unchanged")
            for drift in target.drift:
                lines.append(f"  ! changed in the calendar since last setup: {drift.key} "
                             f"({drift.what})")
            for note in target.notes:
                lines.append(f"  ! {note}")
            counts = ", ".join(f"{target.count(a)} {a.value}" for a in Action)
            lines.append(f"  ({counts})")
        if not self.has_changes:
            lines.append("")
            lines.append("Nothing to do: everything is up to date.")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "alliance": self.alliance_id, "title": self.title, "teardown": self.teardown,
            "has_changes": self.has_changes,
            "targets": [{
                "target": t.target, "instance": t.instance,
                "counts": {a.value: t.count(a) for a in Action},
                "changes": [c.as_dict() for c in t.changes], "notes": list(t.notes),
                **({"drift": [d.as_dict() for d in t.drift]} if t.checked_remote else {}),
            } for t in self.targets],
        }


def _line(change: Change, color: bool, colors: dict[Action, str | None]) -> str:
    what = f"message {change.key}" if change.kind == "message" else change.key
    text = f"  {SYMBOLS[change.action]} {change.action.value:<6} {what:<28}"
    detail = f"“{change.title}”" if change.kind == "message" else change.title
    if change.when:
        detail += f" — {change.when}"
    if change.action is Action.UPDATE and change.record:
        was = change.record.summary.get("when")
        if was and was != change.when:
            detail += f" (was {was})"
    line = f"{text} {detail}"
    if color and colors[change.action]:
        import click

        line = click.style(line, fg=colors[change.action])
    return line


def record_kind(record: Record) -> str:
    """Rows written before messages were planned carry no kind: only the kickoff was mail."""
    kind = record.summary.get("kind")
    if kind:
        return str(kind)
    return "message" if record.key == "kickoff" else "event"


def _instance_label(instance: str) -> str:
    _, _, rest = instance.partition(":")
    return rest or instance


def plan_target(target: str, instance: str, desired: Sequence[Item],
                records: dict[str, Record], *, teardown: bool = False,
                notes: Iterable[str] = ()) -> TargetPlan:
    """Compare the events that should exist with what the state says exists, item by item.
    Messages are planned by `core.messages`, on top of these changes."""
    changes: list[Change] = []
    wanted = [] if teardown else list(desired)
    wanted_keys = {item.key for item in wanted}
    for item in wanted:
        record = records.get(item.key)
        if record is None:
            changes.append(Change(Action.CREATE, item.key, item, None, 0))
        elif not record.active:
            changes.append(Change(Action.CREATE, item.key, item, record, record.sequence + 1))
        elif record.fingerprint == item.fingerprint:
            changes.append(Change(Action.KEEP, item.key, item, record, record.sequence))
        else:
            changes.append(Change(Action.UPDATE, item.key, item, record, record.sequence + 1))
    for key, record in records.items():
        if key not in wanted_keys and record.active and record_kind(record) == "event":
            changes.append(Change(Action.CANCEL, key, None, record, record.sequence + 1))
    return TargetPlan(target, instance, tuple(changes), tuple(notes))
