"""Event → Google Calendar API v3 event resource, and the ids and tags that find it again."""

from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime
from typing import Any

from designed_alliance.core.items import Event

TAG_ID = "allianceId"
TAG_KEY = "allianceKey"
TAG_FINGERPRINT = "allianceFingerprint"
TAG_SEQUENCE = "allianceSequence"


def event_id(alliance_id: str, key: str) -> str:
    """Client-chosen id: base32hex (0-9, a-v) of a hash of alliance id + item key.

    Stable across runs and machines, so a retried or repeated insert hits 409, never a twin.
    """
    digest = hashlib.sha256(f"{alliance_id}\0{key}".encode()).digest()[:20]
    return base64.b32hexencode(digest).decode().lower().rstrip("=")


def _moment(value: date | datetime, timezone: str) -> dict[str, str]:
    if isinstance(value, datetime):
        return {"dateTime": value.isoformat(), "timeZone": timezone}
    return {"date": value.isoformat()}


def body(event: Event, sequence: int, *, organizer: str) -> dict[str, Any]:
    """The full resource for insert (and the patch body: every field we own). `organizer`
    is the address of the calendar the event is created in: Google never invites it to its
    own event, so it is the one member left out."""
    resource: dict[str, Any] = {
        "summary": event.title,
        "description": event.description,
        "location": event.location,
        "start": _moment(event.start, event.timezone),
        "end": _moment(event.end, event.timezone),
        "recurrence": [f"RRULE:{event.rrule}"] if event.rrule else [],
        "attendees": [
            {"email": p.email, "displayName": p.name,
             "optional": p.role == "OPT-PARTICIPANT"}
            for p in event.attendees if p.email.lower() != organizer.lower()
        ],
        "reminders": {"useDefault": False,
                      "overrides": [{"method": "popup", "minutes": m}
                                    for m in event.alarms_minutes]},
        "transparency": "transparent" if event.all_day else "opaque",
        "guestsCanModify": False,
        "status": "confirmed",
        "extendedProperties": {"private": {
            TAG_ID: event.alliance_id, TAG_KEY: event.key,
            TAG_FINGERPRINT: event.fingerprint, TAG_SEQUENCE: str(sequence),
        }},
    }
    return resource
