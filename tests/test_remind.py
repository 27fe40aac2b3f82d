"""`alliance remind` and `alliance agenda` deliver through the plan: run hourly for a month,
each agenda reaches each member once per meeting and each nudge its one member once; the
journal moves deadlines and the change summary says why."""

from __future__ import annotations

import email
import email.policy
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from designed_alliance.core.agenda import meeting_days
from designed_alliance.core.commands.remind import run_remind
from designed_alliance.core.config import load_config
from designed_alliance.core.load import load

from .conftest import example


@pytest.fixture
def alliance_file(tmp_path: Path) -> Path:
    """The example and its journal, with the design done late (on 12 Jan, due 8 Jan)."""
    path = tmp_path / "relaunch.toml"
    path.write_text(example("website-relaunch").read_text())
    journal = (example("website-relaunch").parent / "website-relaunch.progress.toml")
    path.with_name("relaunch.progress.toml").write_text(journal.read_text())
    return path


def smtp_config(tmp_path: Path, smtp_server, monkeypatch) -> Path:
    monkeypatch.setenv("REMIND_SMTP", smtp_server.password)
    path = tmp_path / "smtp.toml"
    path.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\n'
                    f'security = "none"\nusername = "{smtp_server.username}"\n'
                    'password_env = "REMIND_SMTP"\n')
    return path


def _topic(message: email.message.EmailMessage) -> str:
    """What a mail is about: a reply in the kickoff's conversation ("Re: <kickoff subject>")
    says it on its first line; a nudge (to one member) in its own subject."""
    subject = str(message["Subject"])
    if subject.startswith("Re: "):
        return message.get_body(("plain",)).get_content().splitlines()[0]
    return subject


def test_hourly_for_a_month_sends_each_agenda_and_nudge_once(alliance_file: Path, tmp_path,
                                                            smtp_server, monkeypatch) -> None:
    config = load_config(smtp_config(tmp_path, smtp_server, monkeypatch), explicit=True)
    start = datetime(2027, 1, 1, 0, 0)
    hours = 31 * 24
    for hour in range(hours):
        at = start + timedelta(hours=hour)
        run_remind(alliance_file, config, on=at.isoformat(), to=["eml"], out=tmp_path / "out",
                   send=True, dry_run=False, as_json=False, days_before=2)
    got = Counter()
    for received in smtp_server.messages:
        key = _topic(received.message)
        for rcpt in received.rcpt_tos:
            got[(key, rcpt)] += 1
    assert got and set(got.values()) == {1}, [k for k, n in got.items() if n > 1]
    alliance = load(alliance_file)
    meetings = [d for d in meeting_days(alliance) if start.date() < d <= (
        start + timedelta(hours=hours)).date()]
    agendas = {k for k, _ in got if k.startswith("Agenda for our")}
    assert len(agendas) == len(meetings) == 5  # the Mondays of January 2027 after the 1st
    for subject in agendas:  # every member got every agenda
        assert {r for k, r in got if k == subject} == {"ana@example.com", "ben@example.com"}
    nudges = {(k, r) for k, r in got if k.startswith("Due ")}
    # Ben is nudged before his 8 Jan (he was done on the 12th); Ana's copy, due 22 Jan, moved
    # to 26 Jan when the design was done late, and she is nudged before the new date only.
    assert nudges == {("Due Fri 8 Jan 2027: Page templates for the new brand", "ben@example.com"),
                      ("Due Tue 26 Jan 2027: Write the homepage copy", "ana@example.com")}
    # The files beside them (eml) hold one copy per key too.
    names = sorted(p.name for p in (tmp_path / "out").glob("*.eml"))
    assert len([n for n in names if n.startswith("agenda-")]) == 5


def test_agenda_twice_for_one_meeting_updates_the_file(cli, alliance_file: Path,
                                                       tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli("agenda", alliance_file, "--on", "2027-01-30", "--out", out)
    assert result.exit_code == 0, result.output
    (path,) = out.glob("agenda-*.eml")
    assert path.name == "agenda-2027-02-01.eml"
    first = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    journal = alliance_file.with_name("relaunch.progress.toml")
    assert cli("log", alliance_file, "Pages migrated", "21", "--on", "2027-01-31").exit_code == 0
    result = cli("agenda", alliance_file, "--on", "2027-01-30", "--out", out)
    assert "~ update message agenda-2027-02-01" in result.output
    assert [p.name for p in out.glob("agenda-*.eml")] == ["agenda-2027-02-01.eml"]
    second = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert "21" in second.get_body(("plain",)).get_content()
    assert first["Subject"] == second["Subject"]
    assert journal.exists()


def test_dry_run_writes_and_sends_nothing(cli, alliance_file: Path, tmp_path: Path,
                                          smtp_server, monkeypatch, state_file: Path) -> None:
    config = smtp_config(tmp_path, smtp_server, monkeypatch)
    out = tmp_path / "out"
    result = cli("--config", config, "remind", alliance_file, "--on", "2027-01-10T09:00",
                 "--send", "--dry-run", "--out", out)
    assert result.exit_code == 0, result.output
    assert "+ create message agenda-2027-01-11" in result.output
    assert smtp_server.messages == [] and not out.exists() and not state_file.exists()


def test_a_late_upstream_moves_the_deadline_and_the_summary_says_why(
        cli, tmp_path: Path) -> None:
    path = tmp_path / "relaunch.toml"
    path.write_text(example("website-relaunch").read_text())
    out = tmp_path / "out"
    assert cli("setup", path, "--out", out).exit_code == 0
    assert cli("done", path, "design", "--on", "2027-01-12", "--by", "ben").exit_code == 0
    result = cli("plan", path, "--out", out)
    assert "~ update commitment:copy" in result.output, result.output
    assert cli("setup", path, "--out", out).exit_code == 0
    (summary,) = out.glob("changes-*.eml")
    mail = email.message_from_bytes(summary.read_bytes(), policy=email.policy.default)
    text = mail.get_body(("plain",)).get_content()
    assert "moved because design was done on Tue 12 Jan 2027" in text
    assert "Tue 26 Jan 2027" in text  # 12 Jan + 2 weeks


def test_bad_when_is_one_line_exit_2(cli, alliance_file: Path, state_file: Path) -> None:
    result = cli("remind", alliance_file, "--on", "next tuesday")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "--on" in result.stderr
    assert not state_file.exists()


def test_the_celebration_names_what_was_achieved_and_who_did_it(cli, alliance_file: Path,
                                                                tmp_path: Path) -> None:
    import vobject

    out = tmp_path / "out"
    assert cli("setup", alliance_file, "--out", out).exit_code == 0
    invite = vobject.readOne((out / "celebration.ics").read_text())
    description = invite.vevent.description.value
    assert "Who did what:" in description
    assert "Ben Okafor: Page templates for the new brand (done Tue 12 Jan 2027)" in description
    result = cli("remind", alliance_file, "--on", "2027-03-31T09:00", "--out", out)
    assert result.exit_code == 0, result.output
    mail = email.message_from_bytes((out / "celebration-mail.eml").read_bytes(),
                                    policy=email.policy.default)
    assert mail["Subject"] == "Re: Our designed alliance: Website relaunch"
    assert _topic(mail) == "We celebrate today: Website relaunch"
    text = mail.get_body(("plain",)).get_content()
    assert "- Ben Okafor: Page templates for the new brand" in text
    assert "Pages migrated: 15 (target 42)" in text
    assert "Still open, for another day: Write the homepage copy." in text
    html = mail.get_body(("html",)).get_content()
    assert "<strong>Ben Okafor</strong>" in html
    # Once: the next hourly run sends nothing new.
    again = cli("remind", alliance_file, "--on", "2027-03-31T10:00", "--out", out)
    assert "Nothing to do" in again.output


def test_a_target_in_words_is_shown_not_judged(alliance_file: Path) -> None:
    from designed_alliance.core.celebrate import celebration_message
    from designed_alliance.core.journal import load_journal
    from designed_alliance.core.schedule import organizer_for

    alliance_file.write_text(alliance_file.read_text().replace(
        "target = 42", 'target = "every page on the new brand"'))
    alliance = load(alliance_file)
    message = celebration_message(alliance, load_journal(alliance), organizer_for(alliance))
    assert "Pages migrated: 15 (target every page on the new brand)\n" in message.text
