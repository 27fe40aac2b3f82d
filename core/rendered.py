"""What `desired` rendered, kept in state so a re-run renders only what changed.

Rendering (the schedule's descriptions, the kickoff in text and HTML) is a pure function of
the alliance, the journal, the user configuration, the templates, the code and the time-zone
data. `inputs_digest` hashes all of them; state keeps the last rendered items of each
alliance under that digest (`State.rendered`), and a run whose digest matches decodes them
instead of loading jinja2 and rendering again. Only the rendering is skipped: the plan is
made from these items exactly as from fresh ones, so drift checks, pending messages (a
kickoff still unsent) and healing see what they always saw.

When the digest differs (the file was edited), each text is still looked up by its own
template and values (compose.Words, `renders` below): a text whose values did not change
is reused, so one edited commitment renders that commitment, those waiting on it and the
kickoff, not the whole schedule. Those texts are used only under the same `code_stamp`
(the same code, templates and libraries); the values they were keyed by are complete.

The items are stored as zlib-compressed JSON, not pickled: the state file is data, and a
damaged or foreign row is simply not used (the run renders).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .config import Config
from .items import Event, Message, Person
from .journal import Journal
from .model import Alliance

FORMAT = 2  # bump when the encoding below changes: older rows are then simply not used
_CODE = Path(__file__).resolve().parent  # designed_alliance.core
_LIBRARIES = ("jinja2", "dateutil", "markupsafe")  # what rendering runs on besides our code


def inputs_digest(alliance: Alliance, config: Config, journal: Journal | None, *,
                  code: str | None = None) -> str:
    """A digest of everything rendering reads. The model objects are hashed by their repr
    (frozen dataclasses: every field, in file order) — what was loaded, not the file read
    again, which might have changed since. Code, templates and libraries through
    `code_stamp` (pass it when already computed)."""
    def parts() -> Iterator[object]:
        yield from (code if code is not None else code_stamp(), alliance, journal,
                    config.defaults, config.sections)
        for zone in sorted({alliance.timezone, *(m.timezone for m in alliance.members
                                                 if m.timezone)}):
            yield from (zone, *zone_stamp(zone))

    return _digest(parts())


def code_stamp() -> str:
    """A digest of what turns values into text: our code, the templates and the libraries
    rendering runs on, by size and modification time, so an upgrade or an edit of any of
    them renders again."""
    from designed_alliance import __version__

    def parts() -> Iterator[object]:
        yield from (FORMAT, __version__)
        templates = _templates_folder()
        for folder, suffix in ((_CODE, ".py"), (templates, ".j2")):
            if folder is None:
                continue
            # scandir, not Path.glob: the same names, without compiling a pattern for them
            with os.scandir(folder) as entries:
                names = sorted(e.name for e in entries if e.name.endswith(suffix))
            for name in names:
                yield from (name, *file_stamp(folder / name))
        for name in _LIBRARIES:
            spec = importlib.util.find_spec(name)  # finds without importing
            yield from (name, *(file_stamp(Path(spec.origin)) if spec and spec.origin
                                else ()))

    return _digest(parts())


def _digest(parts: Iterable[object]) -> str:
    """sha256 over each part's repr, NUL after each."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _templates_folder() -> Path | None:
    spec = importlib.util.find_spec("designed_alliance.templates")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def file_stamp(path: Path) -> tuple[int, int]:
    """(size, mtime) of a file: what changes when it is edited or upgraded; (-1, -1) if gone.
    integrations/ical.py stamps its own cache with it too."""
    try:
        info = path.stat()
    except OSError:
        return (-1, -1)
    return (info.st_size, info.st_mtime_ns)


def zone_stamp(zone: str) -> tuple[object, ...]:
    """The time-zone data file zoneinfo reads for `zone` (system TZPATH first, as zoneinfo
    looks), else the tzdata package's version."""
    import zoneinfo

    for folder in zoneinfo.TZPATH:
        path = Path(folder, zone)
        if path.is_file():
            return (str(path), *file_stamp(path))
    spec = importlib.util.find_spec("tzdata")
    return ("tzdata", *(file_stamp(Path(spec.origin)) if spec and spec.origin else ()))


# -- the encoding -----------------------------------------------------------------------------
def _moment(value: date | datetime) -> list[Any]:
    if isinstance(value, datetime):
        zone = value.tzinfo.key if isinstance(value.tzinfo, ZoneInfo) else None
        return ["datetime", value.isoformat(), zone]
    return ["date", value.isoformat()]


def _unmoment(value: list[Any]) -> date | datetime:
    if value[0] == "date":
        return date.fromisoformat(value[1])
    moment = datetime.fromisoformat(value[1])
    return moment.astimezone(ZoneInfo(value[2])) if value[2] else moment


def _person(person: Person) -> list[str]:
    return [person.name, person.email, person.role]


def _event(event: Event) -> dict[str, Any]:
    return {"alliance_id": event.alliance_id, "key": event.key, "title": event.title,
            "start": _moment(event.start), "end": _moment(event.end),
            "timezone": event.timezone, "description": event.description,
            "organizer": _person(event.organizer),
            "attendees": [_person(p) for p in event.attendees], "rrule": event.rrule,
            "location": event.location, "alarms_minutes": list(event.alarms_minutes),
            "categories": list(event.categories), "when": event.when, "video": event.video,
            "color": event.color}


def _message(message: Message) -> dict[str, Any]:
    return {"alliance_id": message.alliance_id, "key": message.key,
            "subject": message.subject, "text": message.text, "html": message.html,
            "sender": _person(message.sender), "to": [_person(p) for p in message.to],
            "msgid": message.msgid, "delivery": [list(d) for d in message.delivery]}


def encode(events: tuple[Event, ...], messages: tuple[Message, ...],
           reasons: dict[str, str], *, code: str = "",
           renders: dict[str, str] | None = None) -> bytes:
    """The items, and the texts they were rendered from by key (compose.Words) under the
    code that rendered them."""
    document = {"format": FORMAT, "events": [_event(e) for e in events],
                "messages": [_message(m) for m in messages], "reasons": reasons,
                "code": code, "renders": renders or {}}
    return zlib.compress(json.dumps(document, ensure_ascii=False).encode(), 6)


def decode_renders(blob: bytes, code: str) -> dict[str, str]:
    """The texts `encode` kept, when they were rendered by the same code; else none."""
    try:
        document = json.loads(zlib.decompress(blob))
        if document.get("format") != FORMAT or document.get("code") != code or not code:
            return {}
        renders = document["renders"]
        return {k: v for k, v in renders.items() if isinstance(k, str) and isinstance(v, str)}
    except (ValueError, TypeError, KeyError, AttributeError, zlib.error):
        return {}


def decode(blob: bytes
           ) -> tuple[tuple[Event, ...], tuple[Message, ...], dict[str, str]] | None:
    """The items `encode` stored, or None for anything else (damaged, another format)."""
    try:
        document = json.loads(zlib.decompress(blob))
        if document.get("format") != FORMAT:
            return None
        events = tuple(Event(**{**e, "start": _unmoment(e["start"]), "end": _unmoment(e["end"]),
                                "organizer": Person(*e["organizer"]),
                                "attendees": tuple(Person(*p) for p in e["attendees"]),
                                "alarms_minutes": tuple(e["alarms_minutes"]),
                                "categories": tuple(e["categories"])})
                       for e in document["events"])
        messages = tuple(Message(**{**m, "sender": Person(*m["sender"]),
                                    "to": tuple(Person(*p) for p in m["to"]),
                                    "delivery": tuple(tuple(d) for d in m["delivery"])})
                         for m in document["messages"])
        reasons = {str(k): str(v) for k, v in document["reasons"].items()}
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, zlib.error,
            OSError):  # OSError: a zone the data no longer has
        return None
    return events, messages, reasons

