"""The `eml` target: the kickoff draft, and a change summary each time the alliance changes.

It writes no events, it announces them: its state is "what the members have been told", so
an edit produces `changes-<n>.eml` with exactly the invites that changed. The messages are
planned (and composed) in core; this target only writes them as files.
"""

from __future__ import annotations

from pathlib import Path

from designed_alliance.core.items import Message, slug
from designed_alliance.core.plan import Action, Change
from designed_alliance.core.state import Record
from designed_alliance.core.target import ApplyContext, Remote, Target

from .files import read_regular, remove, safe_path, write_atomic

KICKOFF = "kickoff.eml"


class EmlTarget(Target):
    """Writes `kickoff.eml` and `changes-<n>.eml` drafts (X-Unsent: 1) into the output folder."""

    name = "eml"
    handles = frozenset({"message"})
    announces = True
    can_lookup = False
    is_remote = False
    writes_files = True

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

    def missing(self, alliance_id: str, records: dict[str, Record]) -> set[str]:
        """The kickoff when `kickoff.eml` is gone or is no longer our draft (another
        Message-ID, or not a mail). Change summaries are history: a deleted one is not
        written again (what it said was planned from the state of that day)."""
        import email.parser
        from email.policy import compat32

        record = records.get("kickoff")
        if record is None or not record.active:
            return set()
        path = safe_path(self.folder, KICKOFF)
        if not path.exists() and not path.is_symlink():
            return {"kickoff"}
        # compat32: a Message-ID is ASCII, and the modern policy's header classes cost an
        # unchanged re-run more than everything else it does.
        headers = email.parser.BytesHeaderParser(policy=compat32).parsebytes(
            read_regular(path))
        wanted = record.summary.get("message_id")
        if wanted and str(headers.get("Message-ID", "")).strip() != wanted:
            return {"kickoff"}
        return set()

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
            # Never through a link, never a FIFO (opening one would wait for a writer
            # forever): read_regular names what is in the way in one line.
            headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(
                read_regular(path))
            if str(headers.get("Message-ID", "")) == message_id:
                return path.name
        return f"changes-{highest + 1}.eml"

    def deliver(self, change: Change, context: ApplyContext) -> str:
        from . import mail  # only when something is written: a re-run reads headers only

        if change.key == "kickoff":
            path = safe_path(self.folder, KICKOFF)
            if change.action is Action.CANCEL:
                remove(path)
                return KICKOFF
            assert isinstance(change.item, Message)
            invites = mail.invites_for_all(context.events, context.sequences)
            write_atomic(path, mail.build_bytes(change.item, invites))
            context.progress(self.options, f"wrote {KICKOFF}")
            return KICKOFF
        message = change.item
        assert isinstance(message, Message)
        invites = mail.invites_for_changes(context.alliance.id, context.announced(change.key))
        # Change summaries are numbered in order; agendas and nudges are named by their key
        # (agenda-2027-01-18.eml), so writing one again rewrites it, never a second copy.
        name = (self._changes_name(message.message_id) if change.key.startswith("changes-")
                else f"{slug(change.key)}.eml")
        write_atomic(safe_path(self.folder, name), mail.build_bytes(message, invites))
        context.progress(self.options, f"wrote {name}")
        return name
