"""What the schedule produces and every target consumes: events and messages with stable keys."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import field
from datetime import date, datetime
from functools import cached_property
from typing import Any

from designed_alliance.core.records import dataclass

from .colors import default_for as default_color

UID_DOMAIN = "designed-alliance"
VIDEO_SERVICES = ("google-meet", "teams")  # meetings the calendar service makes itself


@dataclass(frozen=True)
class Person:
    """An attendee of an event: name, address and iCalendar ROLE."""

    name: str
    email: str
    role: str = "REQ-PARTICIPANT"  # iCalendar ROLE: REQ-PARTICIPANT, OPT-PARTICIPANT, CHAIR


@dataclass(frozen=True)
class Event:
    """One calendar object (a single event or a recurring series).

    `start`/`end` are aware datetimes in `timezone`, or dates for all-day events (end exclusive).
    `rrule` is the RRULE value without the "RRULE:" prefix; its UNTIL is in UTC.
    """

    alliance_id: str
    key: str  # "checkins", "review", "celebration", "commitment:<id>"
    title: str
    start: datetime | date
    end: datetime | date
    timezone: str
    description: str
    organizer: Person
    attendees: tuple[Person, ...]
    rrule: str | None = None
    location: str = ""
    alarms_minutes: tuple[int, ...] = ()  # minutes before start
    categories: tuple[str, ...] = ()
    when: str = field(default="", compare=False)  # in words, for plans and change emails
    # "google-meet" / "teams" (the calendar service makes the meeting) or a meeting URL.
    video: str = ""
    color: str = ""  # a CSS3 colour name (RFC 7986 COLOR); schedule fills the kind's default
    #: what the target that wrote it learnt (the meeting link the service made,
    #: ("video_url", …)): kept in the record's summary, never part of the fingerprint
    facts: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

    kind = "event"

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    @property
    def video_url(self) -> str:
        """The meeting link when the file gave one ("" for a service-made meeting or none)."""
        return self.video if self.video not in ("", *VIDEO_SERVICES) else ""

    @property
    def uid(self) -> str:
        return item_uid(self.alliance_id, self.key)

    @cached_property
    def fingerprint(self) -> str:
        # Cached (the event is frozen): plan, the writers and state each ask for it, and it
        # hashes the whole description — four times per event per run before.
        return fingerprint(self.content())

    @property
    def summary(self) -> dict[str, Any]:
        """What state keeps of an event: enough to describe it and to cancel it later."""
        return {
            "kind": "event",
            "title": self.title, "when": self.when, "start": self.start.isoformat(),
            "end": self.end.isoformat(), "timezone": self.timezone, "rrule": self.rrule,
            "organizer": [self.organizer.name, self.organizer.email],
            "attendees": [[p.name, p.email] for p in self.attendees],
            # What the calendars show as the place (drift compares it): a room, else the link.
            "location": self.location or self.video_url,
            # Kept so an update knows the service already made the meeting (never twice).
            **({"video": self.video} if self.video else {}),
            **dict(self.facts),
        }

    def content(self) -> dict[str, Any]:
        """Everything that, when changed, the members must hear about (SEQUENCE + 1)."""
        content: dict[str, Any] = {
            "title": self.title, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "timezone": self.timezone, "rrule": self.rrule, "location": self.location,
            "description": self.description,
            "organizer": [self.organizer.name, self.organizer.email],
            "attendees": [[p.name, p.email, p.role] for p in self.attendees],
            "alarms": list(self.alarms_minutes), "categories": list(self.categories),
        }
        # Only when set or not the kind's default: events written before these fields existed
        # keep their fingerprint, so adding the feature does not re-send every invitation.
        if self.video:
            content["video"] = self.video
        if self.color and self.color != default_color(self.key):
            content["color"] = self.color
        return content


@dataclass(frozen=True)
class Message:
    """An email the members get: the kickoff (key "kickoff"), a change summary
    ("changes-<hash>"), and later agendas and nudges — each a planned item with a stable key."""

    alliance_id: str
    key: str
    subject: str
    text: str
    html: str
    sender: Person
    to: tuple[Person, ...]
    msgid: str = ""  # set for change summaries: derived from what changed, not from the key
    #: what a reply in the kickoff's thread is about ("Agenda for our check-in on …"): its
    #: subject is the thread's ("Re: <kickoff subject>"), so the plan names it by this
    topic: str = ""
    #: what the target that delivered it knows about it (e.g. ("draft", True), the thread):
    #: kept in the record's summary, never part of the fingerprint
    delivery: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

    kind = "message"

    @cached_property
    def fingerprint(self) -> str:
        return fingerprint({"subject": self.subject, "text": self.text, "html": self.html,
                            "to": [[p.name, p.email] for p in self.to],
                            "from": [self.sender.name, self.sender.email]})

    @property
    def message_id(self) -> str:
        """Stable across runs, so mail targets can find their own draft again."""
        return self.msgid or message_id(self.alliance_id, self.key)

    @property
    def summary(self) -> dict[str, Any]:
        return {"kind": "message", "title": self.topic or self.subject, "when": "",
                "message_id": self.message_id, **dict(self.delivery)}


Item = Event | Message


def message_id(alliance_id: str, key: str) -> str:
    """The Message-ID of an alliance's message with this key (e.g. the kickoff)."""
    digest = hashlib.sha256(f"{alliance_id}\0{key}".encode()).hexdigest()[:24]
    return f"<{key}.{digest}@{UID_DOMAIN}>"


def video_key(key: str) -> str:
    """The alliance-file key an event's `video` comes from (for errors that point at it)."""
    return f"{key}.video" if key in ("checkins", "review") else "celebration.video"


def fingerprint(content: dict[str, Any]) -> str:
    blob = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def item_uid(alliance_id: str, key: str) -> str:
    """Stable iCalendar UID from alliance id + item key; readable, yet safe in any client."""
    slug = re.sub(r"[^A-Za-z0-9.-]+", "-", key).strip("-")
    return f"{slug}.{alliance_id}@{UID_DOMAIN}"


def slug(key: str) -> str:
    """A file-name-safe form of an item key: no separators, no dots at the start."""
    text = re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-_")
    return text[:80] or "item"
