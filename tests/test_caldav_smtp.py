"""CalDAV against a real Radicale, and --send against a real aiosmtpd."""

from __future__ import annotations

from pathlib import Path

import icalendar
import pytest

from designed_alliance.core.config import load_config
from designed_alliance.core.target import Options
from designed_alliance.integrations.caldav import CalDavTarget

from .conftest import example
from .contract import RemoteView, TargetContract


def caldav_config(tmp_path: Path, server, password_env: str = "ALLIANCE_TEST_DAV") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[caldav]\nurl = "{server.calendar_url}"\nusername = "{server.username}"\n'
                    f'password_env = "{password_env}"\n')
    return path


@pytest.fixture
def dav_config(tmp_path: Path, radicale, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALLIANCE_TEST_DAV", radicale.password)
    return caldav_config(tmp_path, radicale)


def server_view(radicale) -> dict[str, RemoteView]:
    """Ground truth from Radicale's storage on disk, not from our state or the client."""
    found: dict[str, RemoteView] = {}
    for cal in radicale.events():
        for event in cal.walk("VEVENT"):
            key = str(event["X-DESIGNED-ALLIANCE-KEY"])
            assert key not in found, f"two objects for {key}"
            status = "cancelled" if str(event.get("STATUS", "")) == "CANCELLED" else "active"
            found[key] = RemoteView(status, str(event["X-DESIGNED-ALLIANCE-FINGERPRINT"]),
                                    int(event.get("SEQUENCE", 0)))
    return found


class TestCalDavTarget(TargetContract):
    @pytest.fixture
    def target(self, dav_config: Path, tmp_path: Path):
        return CalDavTarget(load_config(dav_config, explicit=True), Options(out_dir=tmp_path))

    @pytest.fixture
    def remote(self, radicale):
        return lambda: server_view(radicale)


def test_objects_are_named_after_their_uid_with_no_method(cli, dav_config: Path,
                                                          radicale) -> None:
    result = cli("--config", dav_config, "setup", example("household"), "--to", "caldav",
                 "--yes")
    assert result.exit_code == 0, result.output
    hrefs = sorted(radicale.event_hrefs())
    assert any(h.endswith("checkins.home-reset-h7w1@designed-alliance.ics") for h in hrefs)
    for cal in radicale.events():
        assert "METHOD" not in cal
        event = cal.walk("VEVENT")[0]
        assert str(event["UID"]).endswith("home-reset-h7w1@designed-alliance")


def test_wrong_password_is_one_line_exit_1_nothing_written(cli, tmp_path: Path, radicale,
                                                           monkeypatch, state_file) -> None:
    monkeypatch.setenv("ALLIANCE_TEST_DAV", "not-the-password")
    config = caldav_config(tmp_path, radicale)
    result = cli("--config", config, "setup", example("household"), "--to", "caldav", "--yes")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused" in lines[0] and "password" in lines[0]
    assert "not-the-password" not in result.output
    assert radicale.events() == []
    assert not state_file.exists()


def test_missing_calendar_is_one_line_exit_1(cli, tmp_path: Path, radicale, monkeypatch,
                                             state_file) -> None:
    monkeypatch.setenv("ALLIANCE_TEST_DAV", radicale.password)
    config = tmp_path / "config.toml"
    config.write_text(f'[caldav]\nurl = "{radicale.url}alice/nope/"\n'
                      f'username = "{radicale.username}"\npassword_env = "ALLIANCE_TEST_DAV"\n')
    result = cli("--config", config, "setup", example("household"), "--to", "caldav", "--yes")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no calendar" in lines[0]
    assert not state_file.exists()


def test_stopped_server_is_one_line_exit_1_and_nothing_lost(cli, dav_config: Path, radicale,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "household.toml"
    path.write_text(example("household").read_text())
    assert cli("--config", dav_config, "setup", path, "--to", "caldav", "--yes").exit_code == 0
    before = server_view(radicale)
    radicale.stop()
    path.write_text(path.read_text().replace('time = "18:00"', 'time = "18:30"'))
    result = cli("--config", dav_config, "setup", path, "--to", "caldav", "--yes")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach" in lines[0]
    radicale.start()
    assert server_view(radicale) == before
    result = cli("--config", dav_config, "setup", path, "--to", "caldav", "--yes")
    assert result.exit_code == 0, result.output
    after = server_view(radicale)
    assert after["checkins"].sequence == 1 and after["celebration"] == before["celebration"]


# -- SMTP ------------------------------------------------------------------------------------

def smtp_config(tmp_path: Path, smtp_server, password_env: str = "ALLIANCE_TEST_SMTP") -> Path:
    path = tmp_path / "smtp.toml"
    path.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\n'
                    f'security = "none"\nusername = "{smtp_server.username}"\n'
                    f'password_env = "{password_env}"\n')
    return path


@pytest.fixture
def mail_config(tmp_path: Path, smtp_server, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALLIANCE_TEST_SMTP", smtp_server.password)
    return smtp_config(tmp_path, smtp_server)


def test_send_delivers_the_kickoff_once_with_invites(cli, mail_config: Path, smtp_server,
                                                     tmp_path: Path) -> None:
    path = tmp_path / "coach.toml"
    path.write_text(example("coach-client").read_text())
    result = cli("--config", mail_config, "setup", path, "--to", "ics", "--send", "--yes")
    assert result.exit_code == 0, result.output
    assert len(smtp_server.messages) == 1
    sent = smtp_server.messages[0]
    message = sent.message
    assert sorted(sent.rcpt_tos) == ["jordan@example.net", "priya@example.net"]
    assert message["Subject"] == "Our designed alliance: Career move coaching"
    assert message["X-Unsent"] is None
    invites = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(invites) == 6 and {p.get_param("method") for p in invites} == {"REQUEST"}
    icalendar.Calendar.from_ical(invites[0].get_content())
    # Unchanged: nothing is sent again.
    assert cli("--config", mail_config, "setup", path, "--send", "--yes").exit_code == 0
    assert len(smtp_server.messages) == 1
    # Changed: one change summary with just the changed invite.
    path.write_text(path.read_text().replace('time = "12:15"', 'time = "12:30"'))
    assert cli("--config", mail_config, "setup", path, "--send", "--yes").exit_code == 0
    assert len(smtp_server.messages) == 2
    summary = smtp_server.messages[1].message
    # A reply in the kickoff's conversation, about what its first line says.
    assert summary["Subject"] == "Re: " + message["Subject"]
    assert summary.get_body(("plain",)).get_content().startswith(
        "Changes to our designed alliance")
    # One invite travels inline (iMIP: the client shows Accept/Decline), not as an attachment.
    invites = [p for p in summary.walk() if p.get_content_type() == "text/calendar"]
    assert [str(icalendar.Calendar.from_ical(p.get_content()).walk("VEVENT")[0][
        "X-DESIGNED-ALLIANCE-KEY"]) for p in invites] == ["checkins"]
    assert [p.get_content_disposition() for p in invites] == [None]


def test_notify_none_never_sends(cli, mail_config: Path, smtp_server) -> None:
    result = cli("--config", mail_config, "setup", example("household"), "--send",
                 "--notify", "none", "--yes")
    assert result.exit_code == 0, result.output
    assert smtp_server.messages == []


def test_smtp_without_send_refuses(cli, mail_config: Path, smtp_server) -> None:
    result = cli("--config", mail_config, "setup", example("household"), "--to", "smtp",
                 "--yes")
    assert result.exit_code == 1 and "--send" in result.stderr
    assert smtp_server.messages == []


def test_wrong_smtp_password_is_one_line_and_not_recorded(cli, tmp_path: Path, smtp_server,
                                                          monkeypatch) -> None:
    monkeypatch.setenv("ALLIANCE_TEST_SMTP", "wrong-password-sentinel")
    config = smtp_config(tmp_path, smtp_server)
    result = cli("--config", config, "setup", example("household"), "--to", "ics", "--send",
                 "--yes")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused the login" in lines[0]
    assert "wrong-password-sentinel" not in result.output
    monkeypatch.setenv("ALLIANCE_TEST_SMTP", smtp_server.password)
    # Nothing was recorded as sent, so the next run sends it.
    assert cli("--config", config, "setup", example("household"), "--to", "ics", "--send",
               "--yes").exit_code == 0
    assert len(smtp_server.messages) == 1


