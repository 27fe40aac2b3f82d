"""An in-memory target: the fake core tests use, and the reference for the contract."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from designed_alliance.core.records import dataclass

from .items import Event, Message
from .plan import Action, TargetPlan
from .target import Applied, ApplyContext, Remote, Target


@dataclass
class StoredObject:
    key: str
    alliance_id: str
    fingerprint: str
    sequence: int
    status: str  # "confirmed" | "cancelled"
    title: str
    payload: Any


class MemoryTarget(Target):
    """Keeps objects in a class-level dict keyed by instance, so a test can inspect them.

    `fail_keys` makes apply fail for those keys (to test partial failure and re-runs).
    """

    name = "memory"
    handles = frozenset({"event"})
    is_remote = False
    stores: ClassVar[dict[str, dict[str, StoredObject]]] = {}
    fail_keys: ClassVar[set[str]] = set()
    calendar = "default"

    @property
    def instance(self) -> str:
        return f"memory:{self.calendar}"

    @property
    def objects(self) -> dict[str, StoredObject]:
        return self.stores.setdefault(self.instance, {})

    def lookup(self, alliance_id: str) -> dict[str, Remote]:
        return {obj.key: Remote(obj.key, f"{self.instance}/{obj.key}", obj.fingerprint,
                                obj.sequence, {"title": obj.title})
                for obj in self.objects.values()
                if obj.alliance_id == alliance_id and obj.status == "confirmed"}

    def apply(self, plan: TargetPlan, context: ApplyContext) -> Iterator[Applied]:
        for change in plan.changes:
            if change.action is Action.KEEP:
                continue
            if change.key in self.fail_keys:
                yield Applied(change, error="injected failure")
                continue
            if change.action is Action.CANCEL:
                stored = self.objects.get(change.key)
                if stored is not None:
                    stored.status = "cancelled"
                    stored.sequence = change.sequence
                yield Applied(change, remote_id=f"{self.instance}/{change.key}")
                continue
            item = change.item
            assert isinstance(item, Event | Message)
            title = item.title if isinstance(item, Event) else item.subject
            self.objects[change.key] = StoredObject(
                change.key, context.alliance.id, item.fingerprint, change.sequence,
                "confirmed", title, item)
            yield Applied(change, remote_id=f"{self.instance}/{change.key}")
