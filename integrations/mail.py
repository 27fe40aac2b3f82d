"""Message → RFC 5322 email with iTIP invites attached; shared by eml, smtp and the drafts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from designed_alliance.core.items import Event, Message, Person, slug
from designed_alliance.core.plan import Action, Change

from . import ical


@dataclass(frozen=True)
class Invite:
    filename: str
    method: str  # REQUEST or CANCEL
    data: bytes


def _address(person: Person) -> Address:
    local, _, domain = person.email.partition("@")
    return Address(display_name=person.name, username=local, domain=domain)


def build(message: Message, invites: Sequence[Invite] = (), *, draft: bool = True,
          message_id: str | None = None, date: datetime | None = None) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = _address(message.sender)
    mail["To"] = [_address(p) for p in message.to]
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(date or datetime.now(UTC))
    mail["Message-ID"] = message_id or message.message_id
    if draft:
        # Outlook, Thunderbird and Apple Mail open an X-Unsent message as a draft to send.
        mail["X-Unsent"] = "1"
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    for invite in invites:
        mail.add_attachment(invite.data, maintype="text", subtype="calendar",
                            filename=invite.filename, params={"method": invite.method})
    return mail


def invites_for_all(events: Sequence[Event], sequences: dict[str, int]) -> list[Invite]:
    return [Invite(f"{slug(e.key)}.ics", "REQUEST", ical.request(e, sequences.get(e.key, 0)))
            for e in events]


def invites_for_changes(alliance_id: str, changes: Sequence[Change]) -> list[Invite]:
    invites = []
    for change in changes:
        if change.key == "kickoff" or change.action is Action.KEEP:
            continue
        name = f"{slug(change.key)}.ics"
        if change.action is Action.CANCEL:
            if change.record is None or "start" not in change.record.summary:
                continue
            invites.append(Invite(name, "CANCEL",
                                  ical.cancel(alliance_id, change.record, change.sequence)))
        elif isinstance(change.item, Event):
            invites.append(Invite(name, "REQUEST", ical.request(change.item, change.sequence)))
    return invites

