"""The `eml` target: the kickoff draft, and a change summary each time the alliance changes.

It tracks every event too: its state is "what the members have been told", so an edit
produces `changes-<n>.eml` with exactly the invites that changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from designed_alliance.core import compose
from designed_alliance.core.items import Message
from designed_alliance.core.plan import Action, TargetPlan
from designed_alliance.core.schedule import organizer_for
from designed_alliance.core.target import Applied, ApplyContext, Remote, Target

from . import mail
from .files import remove, safe_path, write_atomic

KICKOFF = "kickoff.eml"


class EmlTarget(Target):
    """Writes `kickoff.eml` and `changes-<n>.eml` drafts (X-Unsent: 1) into the output folder."""

    name = "eml"
    handles = frozenset({"event", "message"})
    is_remote = False

    @property
    def folder(self) -> Path:
        return self.options.out_dir

    @property
    def instance(self) -> str:
        return f"eml:{self.folder.resolve()}"

    def lookup(self, alliance_id: str) -> dict[str, Remote]:
        # A draft file says nothing reliable about which invites the members accepted, so a
        # lost state means "tell them again": the next run writes a fresh kickoff.
        return {}

    def _changes_name(self, message_id: str) -> str:
        """changes-<n>.eml, numbered in order; the same summary keeps its file (a run that
        was interrupted after writing it must not write it twice)."""
        import email
        import email.parser
        import email.policy
        import re

        highest = 0
        for path in self.folder.glob("changes-*.eml"):
            match = re.fullmatch(r"changes-(\d+)\.eml", path.name)
            if not match:
                continue
            highest = max(highest, int(match.group(1)))
            with path.open("rb") as handle:
                headers = email.parser.BytesHeaderParser(policy=email.policy.default).parse(
                    handle)
            if str(headers.get("Message-ID", "")) == message_id:
                return path.name
        return f"changes-{highest + 1}.eml"

    def apply(self, plan: TargetPlan, context: ApplyContext) -> Iterator[tuple[Applied, ...]]:
        alliance = context.alliance
        changes = [c for c in plan.changes if c.action is not Action.KEEP]
        kickoff_change = next((c for c in changes if c.key == "kickoff"), None)
        kickoff_path = safe_path(self.folder, KICKOFF)
        message = next((m for m in context.messages if m.key == "kickoff"), None)

        if kickoff_change is not None and kickoff_change.action is Action.CREATE:
            assert isinstance(message, Message)
            invites = mail.invites_for_all(context.events, context.sequences)
            write_atomic(kickoff_path, bytes(mail.build(message, invites)))
            context.progress(self.options, f"wrote {KICKOFF}")
            yield tuple(Applied(c, remote_id=KICKOFF) for c in changes)
            return

        sender = organizer_for(alliance, self.config.defaults.organizer)
        summary = compose.changes(alliance, changes, sender)
        written = ""
        if summary is not None:
            invites = mail.invites_for_changes(alliance.id, changes)
            name = self._changes_name(summary.message_id)
            path = safe_path(self.folder, name)
            write_atomic(path, bytes(mail.build(summary, invites)))
            context.progress(self.options, f"wrote {name}")
            written = name
        if kickoff_change is not None:
            if kickoff_change.action is Action.CANCEL:
                remove(kickoff_path)
            elif message is not None:
                invites = mail.invites_for_all(context.events, context.sequences)
                write_atomic(kickoff_path, bytes(mail.build(message, invites)))
        yield tuple(Applied(change, remote_id=KICKOFF if change.key == "kickoff" else written)
                    for change in changes)


