"""Messages are plan items: the kickoff and each change summary, composed here before apply.

A mail target (files, drafts, sent mail) tracks every event as "what the members were told",
so each event change it has is carried by exactly one planned message: the kickoff on a first
run, else a change summary whose key is derived from what changed (`changes-<hash>`). Sent
messages stay in state as history (status "sent"): the same key is never delivered twice.

While the kickoff is still an unsent draft (its record says `draft: true`), the kickoff is
rewritten instead: one draft, never a kickoff plus a summary nobody needs. Once it was sent,
change summaries follow, as replies in its thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from . import compose
from .items import Message, Person
from .model import Alliance
from .plan import Action, Change, record_kind
from .state import Record

KICKOFF = "kickoff"
SENT = "sent"  # status of a one-off message's record: history, never cancelled
#: In a kickoff record's summary: True while the kickoff is a draft nobody sent yet (a target
#: with drafts sets it at delivery and refreshes it before it writes); False once sent.
DRAFT = "draft"
#: In a sent kickoff's record summary: the target's id of the thread its replies go to.
THREAD = "thread"
#: In a drafted kickoff's record summary: the thread the draft is in (Gmail answers it at
#: drafts.create). A sent draft keeps its thread, so the replies go there once it is sent —
#: known without the right to read sent mail.
DRAFT_THREAD = "draft_thread"


def kickoff_subject(alliance: Alliance) -> str:
    """The kickoff's subject: the subject of the alliance's one conversation."""
    return f"Our designed alliance: {alliance.title}"


def in_thread(message: Message, alliance: Alliance) -> Message:
    """`message` as a reply in the kickoff's conversation, the way GitHub's notification
    mails keep one conversation per issue: its subject is "Re: <kickoff subject>" and what
    it is about (its own subject until now) is its first line, in text and HTML, and its
    `topic`, which the plan shows.

    Why every mail target and not only Gmail drafts: a message joins a Gmail thread only
    when its Subject matches the thread's (developers.google.com/gmail/api/guides/threads),
    and the members' own Gmail splits a conversation on a changed subject too, however the
    mail reached them (smtp, an .eml sent by hand, Outlook). Nudges go to one member about
    their own part, not to the conversation, and keep their own subjects."""
    if message.topic:
        return message  # a reply already
    import html  # only a reply needs it: off a fresh setup's path

    topic = message.subject
    line = (f'<p style="font-weight:bold;margin:0 0 12px 0">{html.escape(topic)}</p>')
    page = message.html
    at = page.find("<body")
    at = page.find(">", at) + 1 if at >= 0 else 0
    return replace(message, subject=f"Re: {kickoff_subject(alliance)}", topic=topic,
                   text=f"{topic}\n\n{message.text}", html=page[:at] + line + page[at:])


def unsent_draft(record: Record | None) -> bool:
    """True when the kickoff is, as last seen, a draft the organizer has not sent."""
    return record is not None and record.active and record.summary.get(DRAFT) is True


def plan_messages(alliance: Alliance, kickoff: Message, events: Sequence[Change],
                  records: dict[str, Record], *, sender: Person, teardown: bool,
                  writes_events: bool, reasons: dict[str, str] | None = None
                  ) -> list[Change]:
    """The event changes (each now `announced_by` its message) followed by the messages.

    On teardown a target that writes events tells the members through the calendar's own
    cancellations; a mail-only target sends one cancellation notice.
    """
    pending = [c for c in events if c.action is not Action.KEEP]
    kept = [c for c in events if c.action is Action.KEEP]
    record = records.get(KICKOFF)
    if teardown:
        kick = (Change(Action.CANCEL, KICKOFF, None, record, record.sequence, kind="message")
                if record is not None and record.active else None)
        if pending and not writes_events:
            summary = _reply(alliance, compose.changes(alliance, pending, sender,
                                                       teardown=True))
            if summary is not None:
                return _carried(pending, kept, summary, records, kick)
        return [*events, *([kick] if kick else [])]
    if record is None or not record.active:
        sequence = record.sequence + 1 if record is not None else 0
        kick = Change(Action.CREATE, KICKOFF, kickoff, record, sequence, kind="message")
        return [*(replace(c, announced_by=KICKOFF) for c in pending), *kept, kick]
    if unsent_draft(record):
        # Nobody has read it yet: the kickoff itself is rewritten (its invites too) and tells
        # everything; a change summary beside it would be a second draft about the same.
        if not pending and record.fingerprint == kickoff.fingerprint:
            return [*events, Change(Action.KEEP, KICKOFF, kickoff, record, record.sequence,
                                    kind="message")]
        kick = Change(Action.UPDATE, KICKOFF, kickoff, record, record.sequence, kind="message")
        return [*(replace(c, announced_by=KICKOFF) for c in pending), *kept, kick]
    kick = None
    if record.fingerprint != kickoff.fingerprint:
        kick = Change(Action.UPDATE, KICKOFF, kickoff, record, record.sequence, kind="message")
    if not pending and kick is None:
        return [*events, Change(Action.KEEP, KICKOFF, kickoff, record, record.sequence,
                                kind="message")]
    summary = _reply(alliance, compose.changes(
        alliance, [*pending, *([kick] if kick else [])], sender, reasons=reasons or {}))
    # An unchanged kickoff is in the plan too (KEEP): a record adopted from a lookup is then
    # kept, and the next run does not take the kickoff for one never made.
    same = Change(Action.KEEP, KICKOFF, kickoff, record, record.sequence, kind="message")
    if summary is None:  # nothing the members need to hear about
        return [*events, kick or same]
    if kick is not None:
        # Recorded with the summary, in one unit (rewritten too where `updates_kickoff`), so a
        # crash between the two cannot tell the members half of it.
        kick = replace(kick, announced_by=summary.key)
    return _carried(pending, kept, summary, records, kick or same)


def _reply(alliance: Alliance, summary: Message | None) -> Message | None:
    return in_thread(summary, alliance) if summary is not None else None


def _carried(pending: list[Change], kept: list[Change], summary: Message,
             records: dict[str, Record], kick: Change | None) -> list[Change]:
    old = records.get(summary.key)
    # Delivered before (e.g. found again after a run died before recording its events): the
    # events are recorded as told with it, and the same summary is never delivered twice.
    message = (Change(Action.KEEP, summary.key, summary, old, old.sequence, kind="message")
               if old is not None else
               Change(Action.CREATE, summary.key, summary, None, 0, kind="message"))
    return [*(replace(c, announced_by=summary.key) for c in pending), *kept,
            *([kick] if kick else []), message]


def history(records: dict[str, Record]) -> dict[str, Record]:
    """One-off messages already delivered to this target (change summaries, agendas, …)."""
    return {k: r for k, r in records.items() if record_kind(r) == "message" and k != KICKOFF}
