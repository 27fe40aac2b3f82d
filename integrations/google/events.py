"""Event → Google Calendar API v3 event resource, and the ids and tags that find it again."""

from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime
from typing import Any

from designed_alliance.core.colors import nearest
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


# Google Calendar's event colours (colorId "1"–"11"), as its web UI shows them; a CSS3 name
# becomes the nearest one. (colors.get answers older, paler shades for the same ids.)
PALETTE = {"1": 0x7986CB, "2": 0x33B679, "3": 0x8E24AA, "4": 0xE67C73, "5": 0xF6BF26,
           "6": 0xF4511E, "7": 0x039BE5, "8": 0x616161, "9": 0x3F51B5, "10": 0x0B8043,
           "11": 0xD50000}
MEET = "hangoutsMeet"


def color_id(event: Event) -> str | None:
    return nearest(event.color, PALETTE) if event.color else None


def conference_request_id(event: Event, sequence: int) -> str:
    """The createRequest's requestId: the same for every attempt at this version of the item
    (Google ignores a repeat, so a retried or re-sent write makes one meeting, not two),
    new when a meeting is asked for again later (after one was removed)."""
    digest = hashlib.sha256(f"{event.alliance_id}\0{event.key}\0meet\0{sequence}".encode())
    return digest.hexdigest()[:32]


def meet_link(resource: dict[str, Any]) -> str:
    """The video entry point of an event's conference ("" while pending or without one)."""
    data = resource.get("conferenceData") or {}
    for entry in data.get("entryPoints") or []:
        if entry.get("entryPointType") == "video" and entry.get("uri"):
            return str(entry["uri"])
    return str(resource.get("hangoutLink") or "")


def conference_status(resource: dict[str, Any]) -> str:
    """"pending", "success", "failure", or "" when the event asked for no meeting."""
    data = resource.get("conferenceData") or {}
    status = ((data.get("createRequest") or {}).get("status") or {}).get("statusCode")
    if status:
        return str(status)
    return "success" if data.get("entryPoints") else ""


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
        # A room when the file names one, else the meeting URL (Google shows it as a link).
        "location": event.location or event.video_url,
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
    colour = color_id(event)
    if colour is not None:
        resource["colorId"] = colour
    return resource


def conference(event: Event, sequence: int, *, exists: bool) -> dict[str, Any]:
    """The conferenceData part of a write (sent with conferenceDataVersion=1): {} to leave
    the meeting as it is, a createRequest to make one, or null to remove one.

    Asked for once: when the meeting exists already an update leaves it alone, so the link
    the members saved keeps working.
    """
    if event.video == "google-meet":
        if exists:
            return {}
        return {"conferenceData": {"createRequest": {
            "requestId": conference_request_id(event, sequence),
            "conferenceSolutionKey": {"type": MEET}}}}
    return {"conferenceData": None} if exists else {}
