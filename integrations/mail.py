"""Message → RFC 5322 email with iTIP invites (RFC 6047 iMIP); shared by eml, smtp and the drafts.

Every mail is written with CRLF line ends (RFC 5322, and what .eml readers expect), and every
text/calendar part says `charset=utf-8` (RFC 6047 §2.4): without it a client may read
"Tomás" as ASCII.
"""

from __future__ import annotations

import binascii
import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from designed_alliance.core.items import Event, Message, Person, slug
from designed_alliance.core.items import message_id as item_message_id
from designed_alliance.core.plan import Action, Change
from designed_alliance.core.records import dataclass

from . import ical, mime

if TYPE_CHECKING:  # the email package is imported by the functions that use it
    from email.headerregistry import Address
    from email.message import EmailMessage
    from email.policy import EmailPolicy


@dataclass(frozen=True)
class Invite:
    """One .ics attached to a mail (a docstring spares @dataclass an inspect.signature)."""

    filename: str
    method: str  # REQUEST or CANCEL
    data: bytes


# Headers folded here instead of by `email`: its folder drops the space between two
# encoded words when a fold falls between them ("— “quotes”" came back as "—“quotes”").
_OWN_FOLDING = frozenset({"subject"})
# And these by mime.address_header: its folder also cuts a name inside a word, or encodes
# the comma between two addresses so that a reader merges them (see mime).
_ADDRESSES = frozenset({"from", "to"})
_encoded_words = mime.encoded_words


@functools.cache
def policy() -> EmailPolicy:
    """`email.policy.SMTP` (CRLF), with non-ASCII subjects folded without losing spaces.

    Made on first use: importing the email package is most of what writing a kickoff
    .eml used to cost, and `build_bytes` (the eml target) no longer needs it."""
    from email.policy import EmailPolicy

    class MailPolicy(EmailPolicy):
        def _fold(self, name: str, value: Any, refold_binary: bool = False) -> str:
            text = str(value)
            if name.lower() in _OWN_FOLDING and not self.utf8 and not text.isascii():
                return _encoded_words(name, text, self.linesep)
            if name.lower() in _ADDRESSES and not self.utf8 and hasattr(value, "addresses"):
                folded = mime.address_header(
                    name, [(a.display_name, a.addr_spec) for a in value.addresses],
                    self.linesep)
                if folded is not None:
                    return folded
            return super()._fold(name, value, refold_binary)  # type: ignore[misc]

    return MailPolicy(linesep="\r\n")


def _address(person: Person) -> Address:
    from email.headerregistry import Address

    local, _, domain = person.email.partition("@")
    return Address(display_name=person.name, username=local, domain=domain)


def _headers(message: Message, *, draft: bool, message_id: str | None,
             date: datetime | None) -> EmailMessage:
    from email.message import EmailMessage
    from email.utils import format_datetime

    mail = EmailMessage(policy=policy())
    mail["From"] = _address(message.sender)
    mail["To"] = [_address(p) for p in message.to]
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(date or datetime.now(UTC))
    mail["Message-ID"] = message_id or message.message_id
    if message.key != "kickoff":
        # One thread per alliance: change summaries, agendas and nudges answer the kickoff
        # (RFC 5322 §3.6.4), so every client files them under it.
        kickoff = item_message_id(message.alliance_id, "kickoff")
        mail["In-Reply-To"] = kickoff
        mail["References"] = kickoff
    if draft:
        # Outlook, Thunderbird and Apple Mail open an X-Unsent message as a draft to send.
        mail["X-Unsent"] = "1"
    return mail


def _calendar_part(invite: Invite) -> EmailMessage:
    """The invite as an inline text/calendar part (RFC 6047 §2.4), no Content-Disposition.

    base64, so the iCalendar object's CRLF line ends and folding arrive byte for byte.
    """
    from email.message import MIMEPart

    # A part, not a message: no MIME-Version of its own (the type stubs know only one class).
    part: Any = MIMEPart(policy=policy())
    part.set_content(invite.data, maintype="text", subtype="calendar", disposition=None,
                     params={"method": invite.method, "charset": "utf-8"})
    return part


def build(message: Message, invites: Sequence[Invite] = (), *, draft: bool = True,
          message_id: str | None = None, date: datetime | None = None) -> EmailMessage:
    """The mail: text + HTML, and the invites.

    One invite (a change summary with one changed event) goes inline, as a third
    alternative `text/calendar; method=…` part — the iMIP form that lets a client show
    Accept/Decline. Several go as attachments, one .ics each.
    """
    mail = _headers(message, draft=draft, message_id=message_id, date=date)
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    if len(invites) == 1:
        _check_method(invites[0])
        mail.attach(_calendar_part(invites[0]))
        return mail
    for number, invite in enumerate(invites):
        _check_method(invite)
        if number and mime.PLAIN_NAME.fullmatch(invite.filename) and invite.method.isalpha():
            # The same part add_attachment makes, header for header, without parsing each
            # header it sets again: a kickoff of 1,000 invites spent a second on that alone.
            mail.attach(_attachment(invite))
            continue
        # The first one through the email API: it turns the message into multipart/mixed.
        mail.add_attachment(invite.data, maintype="text", subtype="calendar",
                            filename=invite.filename,
                            params={"method": invite.method, "charset": "utf-8"})
    return mail



def build_bytes(message: Message, invites: Sequence[Invite] = (), *, draft: bool = True,
                message_id: str | None = None, date: datetime | None = None) -> bytes:
    """`bytes(build(...))`, byte for byte (but for the random boundaries), written by
    `mime.write` without the email package when it has a rule for every header and part
    (names, subject, Message-ID, date: see `mime`), else by `_generated_bytes`."""
    for invite in invites:
        _check_method(invite)  # the error build() raises, before anything is written
    written = _fast_bytes(message, invites, draft=draft, message_id=message_id, date=date)
    if written is not None:
        return written
    return _generated_bytes(message, invites, draft=draft, message_id=message_id, date=date)


def _fast_bytes(message: Message, invites: Sequence[Invite] = (), *, draft: bool = True,
                message_id: str | None = None, date: datetime | None = None,
                boundaries: tuple[str, str] | None = None) -> bytes | None:
    """What `mime.write` writes for `build(...)`'s arguments (None: no rule for them)."""
    return mime.write(
        (message.sender.name, message.sender.email),
        [(p.name, p.email) for p in message.to], message.subject, message.text,
        message.html, [(i.filename, i.method, i.data) for i in invites], draft=draft,
        message_id=message_id or message.message_id,
        reply_to=(None if message.key == "kickoff"
                  else item_message_id(message.alliance_id, "kickoff")),
        date=date or datetime.now(UTC), boundaries=boundaries)


def _generated_bytes(message: Message, invites: Sequence[Invite] = (), *, draft: bool = True,
                     message_id: str | None = None, date: datetime | None = None) -> bytes:
    """`bytes(build(...))`, made faster for a mail with many invites: the text, the HTML
    and the first two invites go through the email package, and the other invite parts
    are written out directly before the closing boundary. Flattening a kickoff of 1,000
    invites through the email generator cost a second: it parses every part's
    Content-Type again to write it."""
    if len(invites) <= 2:
        return bytes(build(message, invites, draft=draft, message_id=message_id, date=date))
    mail = build(message, invites[:2], draft=draft, message_id=message_id, date=date)
    head = bytes(mail)
    boundary = mail.get_boundary()
    closing = f"\r\n--{boundary}--\r\n".encode("ascii")
    if boundary is None or not head.endswith(closing):
        return bytes(build(message, invites, draft=draft, message_id=message_id, date=date))
    delimiter = f"\r\n--{boundary}\r\n".encode("ascii")
    parts = [head[:-len(closing)]]
    for invite in invites[2:]:
        _check_method(invite)
        parts.append(delimiter)
        parts.append(_attachment_bytes(invite))
    parts.append(closing)
    return b"".join(parts)


def _attachment_bytes(invite: Invite) -> bytes:
    """One invite part as the generator writes `_attachment(invite)` inside a multipart:
    by mime's rule, else (a name or method the policy would fold or encode) by the
    generator, this one part."""
    written = mime.invite_part(invite.filename, invite.method, invite.data, attached=True)
    if written is not None:
        return written
    part = _attachment(invite) if mime.PLAIN_NAME.fullmatch(invite.filename) else None
    if part is None:
        from email.message import EmailMessage

        part = EmailMessage(policy=policy())
        part.set_content(invite.data, maintype="text", subtype="calendar",
                         disposition="attachment", filename=invite.filename,
                         params={"method": invite.method, "charset": "utf-8"})
    return bytes(part)


def _attachment(invite: Invite) -> EmailMessage:
    """An invite attachment as `EmailMessage.add_attachment` writes it (the same headers in
    the same order, base64 in lines of 76), for a file name that needs no encoding."""
    from email.message import EmailMessage

    part = EmailMessage(policy=policy())
    part.set_raw("Content-Transfer-Encoding", "base64")
    part.set_raw("Content-Disposition", f'attachment; filename="{invite.filename}"')
    part.set_raw("Content-Type",
                 f'text/calendar; method="{invite.method}"; charset="utf-8"')
    part.set_raw("MIME-Version", "1.0")
    step = (policy().max_line_length or 78) // 4 * 3  # as email.contentmanager encodes base64
    data = invite.data
    part.set_payload("".join(binascii.b2a_base64(data[i:i + step]).decode("ascii")
                             for i in range(0, len(data), step)))
    return part


def build_invite(message: Message, invite: Invite, *, draft: bool = False,
                 message_id: str | None = None, date: datetime | None = None) -> EmailMessage:
    """An iMIP message (RFC 6047) for exactly one invite: multipart/alternative of the text
    and the invite inline as `text/calendar; method=REQUEST; charset=utf-8`.

    This is the form clients answer: Accept/Decline in the message, a REPLY to the
    organizer. The sender should be the invite's ORGANIZER (RFC 6047 §3).
    """
    _check_method(invite)
    mail = _headers(message, draft=draft, message_id=message_id, date=date)
    mail.set_content(message.text)
    mail.make_alternative()
    mail.attach(_calendar_part(invite))
    return mail


def _check_method(invite: Invite) -> None:
    """The Content-Type method must be the iCalendar object's METHOD (RFC 6047 §2.4).

    Read from the calendar's own properties, before its first component, without parsing
    the whole object: a kickoff of 1,000 invites parsed each one again just for this."""
    method = _method_of(invite.data)
    if method.upper() != invite.method.upper():
        raise ValueError(f"invite {invite.filename} says METHOD:{method or '(none)'} inside "
                         f"but method={invite.method} outside")


def _method_of(data: bytes) -> str:
    """The METHOD of a VCALENDAR ("" when it has none): the unfolded content lines between
    BEGIN:VCALENDAR and its first component."""
    text = data.decode("utf-8", errors="replace")
    lines = text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")
    if len(lines) == 1:  # a bare-LF file: not ours, but read it the same way
        lines = text.replace("\n ", "").replace("\n\t", "").split("\n")
    for line in lines[1:] if lines and lines[0].upper() == "BEGIN:VCALENDAR" else []:
        name, _, value = line.partition(":")
        if name.upper().startswith("BEGIN"):
            break
        if name.split(";", 1)[0].strip().upper() == "METHOD":
            return value.strip()
    return ""


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

