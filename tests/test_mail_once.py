"""Mail is never sent twice and never dropped silently (issue 14).

Against a real aiosmtpd on 127.0.0.1 that can refuse a recipient, answer DATA late, or kill
the sending process right after it took the mail. Each test asserts what every member's
mailbox received (the server's own record, parsed with `email`) and what is on disk (the
sent copies parsed with `email`/`json`, the state read with sqlite3) — not the log.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import pytest

from designed_alliance.core.state import State

from .conftest import example
from .servers.local import Received, free_port

JORDAN, PRIYA = "jordan@example.net", "priya@example.net"
ALLIANCE = "career-move-c4t8"


class FaultySmtp:
    """aiosmtpd without auth that refuses the addresses in `refuse`, waits `delay` seconds
    before answering DATA (the mail is already recorded then), or kills `kill_pid` right
    after taking a mail (before its 250 reaches the client)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Received] = []
        self.refuse: set[str] = set()
        self.delay = 0.0
        self.kill_pid: int | None = None
        self.reject_data = False  # answer DATA with 554: the mail is not taken
        server = self

        class Handler:
            async def handle_RCPT(self, smtp, session, envelope, address, options):
                if address in server.refuse:
                    return "550 5.1.1 mailbox unavailable"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, smtp, session, envelope):
                if server.reject_data:
                    return "554 5.6.0 message rejected"
                raw = envelope.original_content or envelope.content
                server.messages.append(Received(
                    envelope.mail_from, list(envelope.rcpt_tos), raw,
                    email.message_from_bytes(raw, policy=email.policy.default)))
                if server.kill_pid is not None:
                    os.kill(server.kill_pid, signal.SIGKILL)
                    server.kill_pid = None
                    await asyncio.sleep(1)
                if server.delay:
                    await asyncio.sleep(server.delay)
                return "250 OK"

        import logging

        logging.getLogger("mail.log").setLevel(logging.ERROR)
        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def received(self) -> Counter[str]:
        """Mails per member mailbox."""
        return Counter(r for m in self.messages for r in m.rcpt_tos)

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp():
    server = FaultySmtp()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def config(tmp_path: Path, smtp: FaultySmtp) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\n'
                    "timeout = 1\n")
    return path


@pytest.fixture
def coach(tmp_path: Path) -> Path:
    path = tmp_path / "coach.toml"
    path.write_text(example("coach-client").read_text())
    return path


def send(cli, config: Path, coach: Path, *extra: str):
    return cli("--config", config, "setup", coach, "--to", "smtp", "--send", "--yes", *extra)


def one_line(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def sent_dir(state_file: Path, smtp: FaultySmtp) -> Path:
    return state_file.parent / "sent" / ALLIANCE / f"127-0-0-1-{smtp.port}"


def deliveries(state_file: Path) -> dict[str, str]:
    with sqlite3.connect(state_file) as conn:
        return dict(conn.execute("SELECT recipient, status FROM deliveries WHERE key = "
                                 "'kickoff'").fetchall())


def recorded(state_file: Path) -> set[str]:
    with sqlite3.connect(state_file) as conn:
        return {row[0] for row in conn.execute("SELECT key FROM records WHERE instance "
                                               "LIKE 'smtp:%'")}


def test_a_refused_recipient_is_named_and_only_they_get_it_later(cli, config: Path,
                                                                 coach: Path, smtp,
                                                                 state_file: Path) -> None:
    smtp.refuse = {PRIYA}
    line = one_line(send(cli, config, coach))
    assert PRIYA in line and "refused" in line and JORDAN not in line
    assert smtp.received() == {JORDAN: 1}
    assert "kickoff" not in recorded(state_file)  # not recorded as sent
    assert deliveries(state_file) == {JORDAN: "sent", PRIYA: "refused"}
    # Still refused: Jordan is not sent it again.
    one_line(send(cli, config, coach))
    assert smtp.received() == {JORDAN: 1}
    smtp.refuse = set()
    result = send(cli, config, coach)
    assert result.exit_code == 0, result.output
    assert smtp.received() == {JORDAN: 1, PRIYA: 1}
    assert smtp.messages[-1].rcpt_tos == [PRIYA]
    assert "kickoff" in recorded(state_file)
    assert send(cli, config, coach).exit_code == 0
    assert smtp.received() == {JORDAN: 1, PRIYA: 1}


def test_everyone_refused_is_exit_1_and_nothing_recorded(cli, config: Path, coach: Path,
                                                         smtp, state_file: Path) -> None:
    smtp.refuse = {JORDAN, PRIYA}
    line = one_line(send(cli, config, coach))
    assert JORDAN in line and PRIYA in line
    assert smtp.messages == []
    assert not sent_dir(state_file, smtp).exists() or not any(
        sent_dir(state_file, smtp).iterdir())
    smtp.refuse = set()
    assert send(cli, config, coach).exit_code == 0
    assert smtp.received() == {JORDAN: 1, PRIYA: 1}


def test_a_rejected_data_is_a_failure_and_the_next_run_sends_it(cli, config: Path,
                                                                coach: Path, smtp,
                                                                state_file: Path) -> None:
    smtp.reject_data = True
    line = one_line(send(cli, config, coach))
    assert JORDAN in line and PRIYA in line and "554" in line
    assert smtp.messages == []
    assert deliveries(state_file) == {JORDAN: "refused", PRIYA: "refused"}
    smtp.reject_data = False
    assert send(cli, config, coach).exit_code == 0
    assert smtp.received() == {JORDAN: 1, PRIYA: 1}


def test_an_answer_after_the_timeout_is_not_sent_again_without_resend(
        cli, config: Path, coach: Path, smtp, state_file: Path) -> None:
    smtp.delay = 3  # the client gives up after 1 s; the server has the mail
    line = one_line(send(cli, config, coach))
    message_id = str(smtp.messages[0].message["Message-ID"])
    assert message_id in line and "--resend" in line and "may already" in line
    assert smtp.received() == {JORDAN: 1, PRIYA: 1}
    assert deliveries(state_file) == {JORDAN: "sending", PRIYA: "sending"}
    smtp.delay = 0
    line = one_line(send(cli, config, coach))  # outcome unknown: not sent again
    assert message_id in line and "--resend" in line
    assert smtp.received() == {JORDAN: 1, PRIYA: 1}
    # The user checked the mailboxes and asks for it: sent once more, then recorded.
    result = send(cli, config, coach, "--resend")
    assert result.exit_code == 0, result.output
    assert smtp.received() == {JORDAN: 2, PRIYA: 2}
    assert send(cli, config, coach).exit_code == 0
    assert smtp.received() == {JORDAN: 2, PRIYA: 2}


def alliance_process(*args: object) -> subprocess.Popen:
    command = Path(sys.executable).parent / "alliance"
    return subprocess.Popen([str(command), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)


def test_a_kill_right_after_the_server_took_the_mail_sends_no_second_copy(
        cli, config: Path, coach: Path, smtp, state_file: Path) -> None:
    child = alliance_process("--config", config, "setup", coach, "--to", "smtp", "--send",
                             "--yes")
    smtp.kill_pid = child.pid
    child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert smtp.received() == {JORDAN: 1, PRIYA: 1}
    assert deliveries(state_file) == {JORDAN: "sending", PRIYA: "sending"}
    line = one_line(send(cli, config, coach))
    assert "may already" in line and str(smtp.messages[0].message["Message-ID"]) in line
    assert smtp.received() == {JORDAN: 1, PRIYA: 1}


def test_state_that_cannot_record_the_outcome_sends_no_second_copy(
        cli, config: Path, coach: Path, smtp, state_file: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from designed_alliance.core.state import DELIVERED, StateError

    real = State.mark_deliveries

    def read_only_after_send(self, alliance_id, instance, key, recipients, message_id,
                             status):
        if status == DELIVERED:
            raise StateError(f"cannot write the state file {self.path} (attempt to write a "
                             "readonly database) — check the permissions")
        return real(self, alliance_id, instance, key, recipients, message_id, status)

    monkeypatch.setattr(State, "mark_deliveries", read_only_after_send)
    line = one_line(send(cli, config, coach))
    assert "state file" in line
    assert smtp.received() == {JORDAN: 1, PRIYA: 1}
    monkeypatch.setattr(State, "mark_deliveries", real)
    one_line(send(cli, config, coach))
    assert smtp.received() == {JORDAN: 1, PRIYA: 1}


def test_a_deleted_state_file_does_not_send_the_kickoff_again(cli, config: Path, coach: Path,
                                                              smtp, state_file: Path) -> None:
    assert send(cli, config, coach).exit_code == 0
    assert smtp.received() == {JORDAN: 1, PRIYA: 1}
    folder = sent_dir(state_file, smtp)
    copy = email.message_from_bytes((folder / "kickoff.eml").read_bytes(),
                                    policy=email.policy.default)
    assert copy["Message-ID"] == smtp.messages[0].message["Message-ID"]
    index = json.loads((folder / "kickoff.json").read_text())
    assert sorted(index["delivered_to"]) == [JORDAN, PRIYA]
    for path in state_file.parent.glob("state.sqlite*"):
        path.unlink()
    result = send(cli, config, coach)
    assert result.exit_code == 0, result.output
    assert smtp.received() == {JORDAN: 1, PRIYA: 1}
    assert "state rebuilt from" in result.output and "Nothing to do" in result.output
    # An edit after that tells the members once, with just the change.
    coach.write_text(coach.read_text().replace('time = "12:15"', 'time = "12:30"'))
    assert send(cli, config, coach).exit_code == 0
    assert smtp.received() == {JORDAN: 2, PRIYA: 2}
    summary: EmailMessage = smtp.messages[-1].message
    assert summary["Subject"].startswith("Re: Our designed alliance")  # the kickoff's thread
    assert summary.get_body(("plain",)).get_content().startswith(
        "Changes to our designed alliance")


def test_a_second_run_waits_for_the_lock_then_says_another_run_is_active(
        cli, config: Path, coach: Path, smtp, state_file: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLIANCE_LOCK_WAIT", "0.3")
    holder = State(state_file)
    with holder.locked(ALLIANCE):
        started = time.monotonic()
        line = one_line(send(cli, config, coach))
        assert time.monotonic() - started >= 0.3
    assert "another alliance run" in line and ALLIANCE in line
    assert smtp.messages == []
    assert send(cli, config, coach).exit_code == 0  # released: the next run goes ahead
    assert smtp.received() == {JORDAN: 1, PRIYA: 1}


@pytest.mark.parametrize("trial", range(5))
def test_two_concurrent_send_runs_mail_each_member_once(config: Path, coach: Path, smtp,
                                                        tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        trial: int) -> None:
    smtp.delay = 0.5  # widen the window in which both runs would have planned a kickoff
    monkeypatch.setenv("ALLIANCE_LOCK_WAIT", "30")
    args = ("--config", config, "setup", coach, "--to", "smtp", "--send", "--yes")
    runs = [alliance_process(*args), alliance_process(*args)]
    results = [(run.communicate(timeout=90), run.returncode) for run in runs]
    assert [code for _, code in results] == [0, 0], results
    assert smtp.received() == {JORDAN: 1, PRIYA: 1}
    assert sum("Nothing to do" in out for (out, _), _ in results) == 1


def test_a_journal_command_waits_for_another_and_writes_nothing_meanwhile(
        cli, tmp_path: Path, state_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "household.toml"
    path.write_text(example("household").read_text())
    journal = tmp_path / "household.progress.toml"
    monkeypatch.setenv("ALLIANCE_LOCK_WAIT", "0.3")
    with State(state_file).locked("home-reset-h7w1", scope="journal"):
        line = one_line(cli("done", path, "quotes", "--on", "2027-03-10"))
        assert "another alliance journal write" in line
        assert not journal.exists()
        # A setup is not a journal write: it does not wait for this lock.
        assert cli("setup", path, "--out", tmp_path / "out").exit_code == 0
    result = cli("done", path, "quotes", "--on", "2027-03-10")
    assert result.exit_code == 0, result.output
    import tomllib

    entries = tomllib.loads(journal.read_text())
    assert [e["commitment"] for e in entries.get("done", [])] == ["quotes"]


@pytest.mark.parametrize("garbage", ["not json", '{"key": "kickoff", "delivered_to": ["x"], '
                                     '"told": {"checkins": {"sequence": "many"}}}', "[]"])
def test_a_damaged_sent_index_is_no_proof_and_no_traceback(cli, config: Path, coach: Path,
                                                           smtp, state_file: Path,
                                                           garbage: str) -> None:
    assert send(cli, config, coach).exit_code == 0
    (sent_dir(state_file, smtp) / "kickoff.json").write_text(garbage)
    for path in state_file.parent.glob("state.sqlite*"):
        path.unlink()
    result = send(cli, config, coach)  # nothing says it was sent: it is sent (not lost)
    assert result.exit_code == 0, result.output
    assert smtp.received() == {JORDAN: 2, PRIYA: 2}
    index = json.loads((sent_dir(state_file, smtp) / "kickoff.json").read_text())
    assert sorted(index["delivered_to"]) == [JORDAN, PRIYA]


def test_resend_without_send_is_a_usage_error_and_sends_nothing(cli, config: Path,
                                                                coach: Path, smtp,
                                                                state_file: Path) -> None:
    result = cli("--config", config, "setup", coach, "--to", "ics", "--resend", "--yes")
    assert result.exit_code == 2 and "--resend" in result.stderr
    assert smtp.messages == [] and not state_file.exists()
