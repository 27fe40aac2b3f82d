"""--notify on every target: honoured (and said in the plan) or refused at plan time.

CalDAV against the real Radicale: what is stored there is read back with icalendar.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import example
from .test_caldav_smtp import dav_config  # noqa: F401 - the fixture


def _agents(radicale) -> set[str | None]:
    """SCHEDULE-AGENT of every ATTENDEE stored on the server (None: not set)."""
    found: set[str | None] = set()
    for cal in radicale.events():
        for event in cal.walk("VEVENT"):
            attendees = event.get("ATTENDEE")
            for attendee in attendees if isinstance(attendees, list) else [attendees]:
                agent = attendee.params.get("SCHEDULE-AGENT")
                found.add(str(agent) if agent is not None else None)
    return found


@pytest.mark.parametrize(("extra", "agents", "note"), [
    ((), {None}, "the CalDAV server sends them if it does scheduling"),
    (("--notify", "none"), {"CLIENT"}, "the CalDAV server is told not to send them"),
])
def test_caldav_lets_the_server_schedule_only_on_notify_all(
        cli, dav_config: Path, radicale, extra: tuple[str, ...],  # noqa: F811
        agents: set[str | None], note: str) -> None:
    result = cli("--config", dav_config, "setup", example("household"), "--to", "caldav",
                 "--yes", *extra)
    assert result.exit_code == 0, result.output
    assert note in result.output
    assert radicale.events() and _agents(radicale) == agents


def test_caldav_refuses_notify_external(cli, dav_config: Path, radicale,  # noqa: F811
                                        state_file: Path) -> None:
    result = cli("--config", dav_config, "setup", example("household"), "--to", "caldav",
                 "--yes", "--notify", "external")
    assert result.exit_code == 2
    assert "--notify" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert radicale.events() == [] and not state_file.exists()


def test_file_targets_say_you_send_them(cli, tmp_path: Path) -> None:
    result = cli("plan", example("household"), "--to", "ics,eml")
    assert result.exit_code == 0, result.output
    assert result.output.count("invitations: you send the files") == 2


def test_caldav_with_send_leaves_the_invitations_to_smtp(
        cli, tmp_path: Path, radicale, smtp_server, monkeypatch: pytest.MonkeyPatch) -> None:
    from .test_caldav_smtp import caldav_config, smtp_config

    monkeypatch.setenv("ALLIANCE_TEST_DAV", radicale.password)
    monkeypatch.setenv("ALLIANCE_TEST_SMTP", smtp_server.password)
    config = tmp_path / "both.toml"
    config.write_text(caldav_config(tmp_path, radicale).read_text()
                      + smtp_config(tmp_path, smtp_server).read_text())
    result = cli("--config", config, "setup", example("household"), "--to", "caldav",
                 "--send", "--yes")
    assert result.exit_code == 0, result.output
    assert "smtp sends them in this run" in result.output
    assert _agents(radicale) == {"CLIENT"}  # the server mails no one: smtp did, once
    assert len(smtp_server.messages) == 1
