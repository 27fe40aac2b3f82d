"""One Gmail conversation per alliance, with only the scopes `alliance auth google` asks for.

The emulator grants the default test token exactly calendar + gmail.compose (what the sign-in
asks for a shared calendar): messages.list/get (a search of sent mail) is a 403 for it, as at
Google. The user's own actions — sending or discarding a draft in Gmail — are the emulator's
`user_sends_draft` / `user_deletes_draft`. Every message is read back from the emulator's
stored raw bytes (or the written .eml) with `email`, never with the code that wrote it.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import urllib.error
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from designed_alliance.core.config import load_config
from designed_alliance.core.items import message_id
from designed_alliance.core.load import load
from designed_alliance.core.messages import KICKOFF
from designed_alliance.core.target import Options
from designed_alliance.integrations.google.target import GoogleTarget

from .conftest import example
from .emulators.google_emu import GRANTED, thread_subject
from .services import GOOGLE

KICKOFF_SUBJECT = "Our designed alliance: Website relaunch"


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GoogleTarget, "sleep", staticmethod(lambda seconds: None))


def _parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _first_line(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).splitlines()[0]


def _drafts(emulator: Any) -> list[tuple[str, EmailMessage]]:
    """(threadId, parsed raw message) of every draft the emulator stores."""
    return [(d["message"]["threadId"], _parse(d["raw_bytes"]))
            for d in emulator.draft_store.values()]


def _setup(cli: Any, tmp_path: Path, emulator: Any, *, token: str | None = None
           ) -> tuple[Path, tuple[Any, ...]]:
    command = f"echo {token}" if token else "default"
    config = GOOGLE.config(tmp_path, emulator, command=command)
    path = tmp_path / "a.toml"
    path.write_text(example("website-relaunch").read_text())
    args = ("--config", config, "setup", path, "--to", "google", "--yes")
    result = cli(*args)
    assert result.exit_code == 0, result.output + result.stderr
    return path, args


def _move_checkins(path: Path, to: str) -> None:
    text = path.read_text()
    moved = text.replace('time = "09:30"', f'time = "{to}"', 1)
    assert moved != text
    path.write_text(moved)


def _searches(emulator: Any) -> list[int]:
    """Statuses of every search of the mailbox (users.messages.list)."""
    return [r.status for r in emulator.requests if r.path.endswith("/messages")]


def test_a_kickoff_sent_by_the_user_gets_its_change_summary_in_its_thread_under_compose(
        cli, tmp_path: Path, google_emulator) -> None:
    path, args = _setup(cli, tmp_path, google_emulator)
    ((kickoff_thread, kickoff),) = _drafts(google_emulator)
    assert kickoff["Subject"] == KICKOFF_SUBJECT
    (draft_id,) = google_emulator.draft_store
    assert google_emulator.user_sends_draft() == kickoff_thread  # a sent draft keeps it
    _move_checkins(path, "10:00")
    google_emulator.reset_log()
    result = cli(*args)
    assert result.exit_code == 0, result.output + result.stderr
    ((thread, summary),) = _drafts(google_emulator)
    # In the kickoff's conversation: threadId, References/In-Reply-To and the same subject.
    assert thread == kickoff_thread
    assert summary["Subject"] == f"Re: {KICKOFF_SUBJECT}"
    assert summary["In-Reply-To"] == kickoff["Message-ID"] == summary["References"]
    assert _first_line(summary) == "Changes to our designed alliance: Website relaunch"
    # Nothing asked for more than the sign-in allows; sent mail was never searched. The one
    # refusal is the look at the kickoff draft: gone, because it was sent.
    refused = [(r.method, r.path, r.status) for r in google_emulator.requests
               if r.status >= 400]
    assert refused == [("GET", f"/gmail/v1/users/me/drafts/{draft_id}", 404)]
    assert _searches(google_emulator) == []
    # Sent by the user too, it stays in the one conversation.
    assert google_emulator.user_sends_draft() == kickoff_thread
    assert {t for t, _ in google_emulator.sent()} == {kickoff_thread}
    # The plan says which message it is, not only its (shared) subject.
    path.write_text(path.read_text().replace('time = "10:00"', 'time = "10:30"', 1))
    plan = cli(*args[:2], "plan", path, "--to", "google", "--json")
    assert plan.exit_code == 0, plan.output
    (part,) = json.loads(plan.stdout)["targets"]
    titles = {c["title"] for c in part["changes"] if c["kind"] == "message"
              and c["action"] == "create"}
    assert titles == {"Changes to our designed alliance: Website relaunch"}


def test_a_lost_state_under_compose_drafts_the_kickoff_again_and_says_why(
        cli, tmp_path: Path, google_emulator, state_file: Path) -> None:
    """Under gmail.compose a sent kickoff cannot be seen once its draft is gone: after a lost
    state it is drafted again (this target only drafts: nothing is sent twice), and the plan
    says why and what to do."""
    path, args = _setup(cli, tmp_path, google_emulator)
    google_emulator.user_sends_draft()
    state_file.unlink()
    _move_checkins(path, "10:00")
    google_emulator.reset_log()
    result = cli(*args)
    assert result.exit_code == 0, result.output + result.stderr
    (note,) = [line for line in result.output.splitlines() if "kickoff:" in line]
    assert "may not read sent mail" in note and "delete the new draft" in note
    assert _searches(google_emulator) == [403]  # Google's answer to a token command's token
    ((_, again),) = _drafts(google_emulator)
    assert again["Subject"] == KICKOFF_SUBJECT
    assert len(google_emulator.sent_store) == 1  # the user's own send; none of ours
    assert cli(*args).exit_code == 0  # recorded now: nothing drafted twice
    assert len(_drafts(google_emulator)) == 1


def test_events_without_a_kickoff_draft_plan_the_kickoff_not_a_reply(
        cli, tmp_path: Path, google_emulator, state_file: Path) -> None:
    """Tagged events and no kickoff draft, with nothing recorded: a first setup killed
    before it drafted the kickoff looks just so. The kickoff is planned, never taken as
    sent (which would leave the members without it)."""
    path, args = _setup(cli, tmp_path, google_emulator)
    google_emulator.user_deletes_draft()
    state_file.unlink()
    config = load_config(GOOGLE.config(tmp_path, google_emulator), explicit=True)
    alliance = load(path)
    target = GoogleTarget(config, Options(out_dir=tmp_path))
    found = target.lookup(alliance.id)
    assert "checkins" in found and KICKOFF not in found
    (note,) = target.lookup_notes()
    assert note.startswith("kickoff: no draft of it is left")
    result = cli(*args)
    assert result.exit_code == 0, result.output + result.stderr
    ((_, kickoff),) = _drafts(google_emulator)
    assert kickoff["Subject"] == KICKOFF_SUBJECT


def test_a_token_that_reads_mail_finds_the_sent_kickoff_after_a_lost_state(
        cli, tmp_path: Path, google_emulator, state_file: Path) -> None:
    google_emulator.token_scopes["reader"] = GRANTED | {"gmail.readonly"}
    path, args = _setup(cli, tmp_path, google_emulator, token="reader")
    thread = google_emulator.user_sends_draft()
    state_file.unlink()
    google_emulator.reset_log()
    result = cli(*args)
    assert result.exit_code == 0, result.output + result.stderr
    assert _searches(google_emulator) == [200]  # find_sent, allowed by gmail.readonly
    assert "may not read sent mail" not in result.output
    _move_checkins(path, "10:00")
    assert cli(*args).exit_code == 0
    ((reply_thread, summary),) = _drafts(google_emulator)
    assert reply_thread == thread and summary["Subject"] == f"Re: {KICKOFF_SUBJECT}"


def test_a_kickoff_draft_discarded_by_hand_is_taken_as_sent_never_drafted_twice(
        cli, tmp_path: Path, google_emulator) -> None:
    # gmail.compose cannot tell a discarded draft from a sent one. Taking it as sent means
    # the change summary is a draft the user sees; taking it as discarded would draft a
    # second kickoff that may go out twice.
    path, args = _setup(cli, tmp_path, google_emulator)
    google_emulator.user_deletes_draft()
    _move_checkins(path, "10:00")
    result = cli(*args)
    assert result.exit_code == 0, result.output + result.stderr
    ((_, only),) = _drafts(google_emulator)
    assert only["Subject"] == f"Re: {KICKOFF_SUBJECT}"
    assert _first_line(only).startswith("Changes to our designed alliance")


# -- the emulator threads as Gmail does ----------------------------------------------------

def _raw(emulator: Any, method: str, path: str, body: Any, token: str = "test-token"
         ) -> tuple[int, Any]:
    request = urllib.request.Request(
        emulator.base_url + path, method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # only ever 127.0.0.1
            text = answer.read()
            return answer.status, json.loads(text) if text else {}
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _draft(emulator: Any, subject: str, *, thread: str | None = None,
           replies_to: str | None = None) -> str:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "a@example.net", "b@example.com", subject
    mail["Message-ID"] = message_id("x", subject)
    if replies_to:
        mail["In-Reply-To"] = mail["References"] = replies_to
    mail.set_content("hello")
    message: dict[str, Any] = {"raw": base64.urlsafe_b64encode(bytes(mail)).decode()}
    if thread:
        message["threadId"] = thread
    status, answer = _raw(emulator, "POST", "gmail/v1/users/me/drafts", {"message": message})
    assert status == 200, answer
    return str(answer["message"]["threadId"])


def test_the_emulator_joins_a_thread_only_with_its_subject_and_references(
        google_emulator) -> None:
    first = _draft(google_emulator, "Our plan")
    google_emulator.user_sends_draft()
    anchor = message_id("x", "Our plan")
    assert _draft(google_emulator, "Re: Our plan", thread=first, replies_to=anchor) == first
    assert _draft(google_emulator, "AW:  our PLAN", thread=first, replies_to=anchor) == first
    assert _draft(google_emulator, "Agenda for Thursday", thread=first,
                  replies_to=anchor) != first  # another subject: a conversation of its own
    assert _draft(google_emulator, "Re: Our plan", thread=first) != first  # no References
    assert thread_subject("Re: Fwd: AW: Our  plan") == thread_subject("our plan")
    status, _ = _raw(google_emulator, "GET", "gmail/v1/users/me/messages?q=in%3Asent", None)
    assert status == 403  # calendar + gmail.compose: no search of sent mail
    google_emulator.token_scopes["metadata"] = {"gmail.metadata"}
    status, _ = _raw(google_emulator, "GET", "gmail/v1/users/me/messages?q=in%3Asent", None,
                     token="metadata")
    assert status == 403  # gmail.metadata lists but may not search
    assert _raw(google_emulator, "GET", "gmail/v1/users/me/messages", None,
                token="metadata")[0] == 200


def test_eml_replies_carry_the_kickoff_subject_and_their_topic_first(
        cli, tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text(example("website-relaunch").read_text())
    out = tmp_path / "out"
    assert cli("setup", path, "--to", "eml", "--out", out).exit_code == 0
    _move_checkins(path, "10:00")
    assert cli("setup", path, "--to", "eml", "--out", out).exit_code == 0
    (kickoff,) = [_parse(p.read_bytes()) for p in out.glob("kickoff*.eml")]
    (summary,) = [_parse(p.read_bytes()) for p in out.glob("changes-*.eml")]
    assert summary["Subject"] == f"Re: {kickoff['Subject']}"
    assert summary["In-Reply-To"] == kickoff["Message-ID"]
    assert _first_line(summary) == "Changes to our designed alliance: Website relaunch"
    html = summary.get_body(("html",))
    assert html is not None and "Changes to our designed alliance" in html.get_content()


def test_an_agenda_replies_in_the_kickoffs_thread_and_a_nudge_stays_out_of_it(
        cli, tmp_path: Path, google_emulator) -> None:
    path, args = _setup(cli, tmp_path, google_emulator)
    thread = google_emulator.user_sends_draft()
    config = args[1]
    result = cli("--config", config, "agenda", path, "--to", "google", "--on", "2027-01-05")
    assert result.exit_code == 0, result.output + result.stderr
    ((agenda_thread, agenda),) = _drafts(google_emulator)
    assert agenda_thread == thread and agenda["Subject"] == f"Re: {KICKOFF_SUBJECT}"
    assert _first_line(agenda) == "Agenda for our check-in on Mon 11 Jan 2027: Website relaunch"
    google_emulator.user_sends_draft()
    result = cli("--config", config, "remind", path, "--to", "google",
                 "--on", "2027-01-06T09:00")
    assert result.exit_code == 0, result.output + result.stderr
    ((nudge_thread, nudge),) = _drafts(google_emulator)
    # To one member about their own part: its own subject, not the conversation's.
    assert nudge["Subject"] == "Due Fri 8 Jan 2027: Page templates for the new brand"
    assert nudge_thread != thread


def test_a_kickoff_draft_rewritten_after_a_lost_state_keeps_its_thread_for_the_replies(
        cli, tmp_path: Path, google_emulator, state_file: Path) -> None:
    path, args = _setup(cli, tmp_path, google_emulator)
    state_file.unlink()
    _move_checkins(path, "10:00")
    assert cli(*args).exit_code == 0  # the draft is found again and rewritten in place
    thread = google_emulator.user_sends_draft()
    path.write_text(path.read_text().replace('time = "10:00"', 'time = "10:30"', 1))
    google_emulator.reset_log()
    result = cli(*args)
    assert result.exit_code == 0, result.output + result.stderr
    ((reply_thread, summary),) = _drafts(google_emulator)
    assert reply_thread == thread and summary["Subject"] == f"Re: {KICKOFF_SUBJECT}"
    assert _searches(google_emulator) == []  # its thread was recorded at drafts.update
