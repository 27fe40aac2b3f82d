"""The `ics` target: one iTIP REQUEST/CANCEL file per item and a whole-alliance file to import."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from designed_alliance.core.items import Item, slug
from designed_alliance.core.plan import Action, TargetPlan
from designed_alliance.core.target import Applied, ApplyContext, Remote, Target

from . import ical
from .files import remove, safe_path, write_atomic

WHOLE = "alliance.ics"


class IcsTarget(Target):
    """Writes `<item>.ics` (METHOD:REQUEST, or METHOD:CANCEL once removed) and `alliance.ics`.

    The per-item files are what you send to people; `alliance.ics` (no METHOD, no RSVP: a plain
    RFC 5545 calendar) is what you import into your own calendar.
    """

    name = "ics"
    handles = frozenset({"event"})
    is_remote = False
    writes_files = True

    @property
    def folder(self) -> Path:
        return self.options.out_dir

    @property
    def instance(self) -> str:
        return f"ics:{self.folder.resolve()}"

    def validate(self, items: Sequence[Item]) -> list[str]:
        return []

    def lookup(self, alliance_id: str) -> dict[str, Remote]:
        import icalendar

        found: dict[str, Remote] = {}
        if not self.folder.is_dir():
            return found
        for path in sorted(self.folder.glob("*.ics")):
            if path.name == WHOLE:
                continue
            try:
                cal = icalendar.Calendar.from_ical(path.read_bytes())
            except ValueError:
                continue  # not ours, or damaged: never adopt what we cannot read
            for component in cal.walk("VEVENT"):
                remote = ical.remote_of(component, alliance_id, path.name)
                if remote is not None:
                    found[remote.key] = remote
        return found

    def apply(self, plan: TargetPlan, context: ApplyContext) -> Iterator[Applied]:
        alliance_id = context.alliance.id
        whole = safe_path(self.folder, WHOLE)
        # The import file first: a run killed after it re-plans the items and rewrites it.
        if context.teardown:
            remove(whole)
        else:
            write_atomic(whole, ical.import_file(context.events, context.sequences,
                                                 name=context.alliance.title))
        for change in plan.changes:
            if change.action is Action.KEEP:
                continue
            path = safe_path(self.folder, f"{slug(change.key)}.ics")
            if change.action is Action.CANCEL:
                assert change.record is not None
                data = ical.cancel(alliance_id, change.record, change.sequence)
            else:
                assert change.item is not None
                data = ical.request(change.item, change.sequence)  # type: ignore[arg-type]
            write_atomic(path, data)
            context.progress(self.options, f"wrote {path.name}")
            yield Applied(change, remote_id=path.name)
