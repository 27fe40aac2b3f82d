"""The `ics` target: one iTIP REQUEST/CANCEL file per item and a whole-alliance file to import."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from designed_alliance.core.errors import AllianceError
from designed_alliance.core.items import Item, slug
from designed_alliance.core.plan import Action, TargetPlan, record_kind
from designed_alliance.core.state import Record
from designed_alliance.core.target import Applied, ApplyContext, Remote, Target

from . import ical
from .files import one_scan, read_regular, remove, safe_path, write_atomic

WHOLE = "alliance.ics"


def ical_remotes(data: bytes | str, alliance_id: str, remote_id: str) -> dict[str, Remote]:
    """Tagged live events of this alliance in one stored calendar object, by key; nothing
    for what cannot be read as ours — never adopt a damaged or forged object."""
    import icalendar

    try:
        cal = icalendar.Calendar.from_ical(data)
        remotes = [ical.remote_of(c, alliance_id, remote_id) for c in cal.walk("VEVENT")]
    except ValueError:  # not iCalendar, or a tagged event with a SEQUENCE that is no number
        return {}
    # RFC 5545 integers are 32-bit: a bigger SEQUENCE is forged, and SQLite could not hold it.
    return {r.key: r for r in remotes if r is not None and 0 <= r.sequence < 2**31}


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
        ical.refuse_service_video(items, self.name)
        return super().validate(items)

    def lookup(self, alliance_id: str) -> dict[str, Remote]:
        found: dict[str, Remote] = {}
        if not self.folder.is_dir():
            return found
        for path in sorted(self.folder.glob("*.ics")):
            if path.name == WHOLE:
                continue
            # Never through a link, never a FIFO or a device, never unbounded: a link to
            # /dev/zero named like an invite must not be read forever.
            found.update(ical_remotes(read_regular(path), alliance_id, path.name))
        return found

    def missing(self, alliance_id: str, records: dict[str, Record]) -> set[str]:
        """Recorded live events whose file is gone or no longer holds what we wrote (its
        fingerprint and SEQUENCE); all of them when `alliance.ics` (which holds every event)
        is gone or incomplete. Something that is not a regular file there is named
        (InTheWay), never read."""
        live = {key: r for key, r in records.items()
                if r.active and record_kind(r) == "event"}
        if not live:
            return set()

        def matches(name: str, keys: dict[str, Record]) -> bool:
            path = safe_path(self.folder, name)
            if not path.exists() and not path.is_symlink():
                return False
            data = read_regular(path)
            # Our own files are read by a scanner of the few tags compared here; anything
            # it does not find plain and well-formed is parsed by icalendar, as before.
            tags = ical.scan_tags(data, alliance_id)
            if tags is None:
                tags = {key: (r.fingerprint, r.sequence)
                        for key, r in ical_remotes(data, alliance_id, name).items()}
            return all(key in tags and tags[key] == (r.fingerprint, r.sequence)
                       for key, r in keys.items())

        if not matches(WHOLE, live):
            return set(live)
        return {key for key, r in live.items()
                if not matches(r.remote_id if r.remote_id.endswith(".ics")
                               else f"{slug(key)}.ics", {key: r})}

    def apply(self, plan: TargetPlan, context: ApplyContext) -> Iterator[Applied]:
        with one_scan(self.folder):
            yield from self._apply(plan, context)

    def _apply(self, plan: TargetPlan, context: ApplyContext) -> Iterator[Applied]:
        alliance_id = context.alliance.id
        whole = safe_path(self.folder, WHOLE)
        # The import file first: a run killed after it re-plans the items and rewrites it.
        if context.teardown:
            remove(whole)
        else:
            data = ical.import_file(context.events, context.sequences,
                                    name=context.alliance.title)
            if not _same_but_stamps(whole, data):
                write_atomic(whole, data)
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


def _same_but_stamps(path: Path, data: bytes) -> bool:
    """True when `path` already holds `data` but for the DTSTAMPs (the time each copy was
    written): the import file is then left alone, so healing one invite rewrites only it
    and a calendar subscribed to the file sees no change."""
    try:
        old = read_regular(path)
    except (OSError, AllianceError):
        return False

    def unstamped(text: bytes) -> list[bytes]:
        return [line for line in text.split(b"\r\n") if not line.startswith(b"DTSTAMP:")]

    return len(old) == len(data) and unstamped(old) == unstamped(data)
