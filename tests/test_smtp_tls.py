"""--send over STARTTLS and implicit TLS against a real aiosmtpd with a certificate made in
the test, and SmtpTarget.verify() (what doctor will call) against the same servers."""

from __future__ import annotations

from pathlib import Path

import icalendar
import pytest

from designed_alliance.core.config import load_config
from designed_alliance.core.errors import AllianceError
from designed_alliance.core.target import Options
from designed_alliance.integrations.smtp import SmtpTarget

from .conftest import example
from .servers.local import SmtpServer, make_certificates


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(params=["starttls", "tls"])
def tls_server(request, certs):
    server = SmtpServer(request.param, certs)
    try:
        yield server
    finally:
        server.stop()


def config_for(tmp_path: Path, server: SmtpServer, monkeypatch, *, ca_file: Path | None,
               password: str | None = None) -> Path:
    monkeypatch.setenv("ALLIANCE_TEST_SMTP", password or server.password)
    path = tmp_path / "smtp.toml"
    ca = f'ca_file = "{ca_file}"\n' if ca_file else ""
    path.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {server.port}\n'
                    f'security = "{server.security}"\nusername = "{server.username}"\n'
                    f'password_env = "ALLIANCE_TEST_SMTP"\n{ca}')
    return path


def one_line(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_send_over_tls_with_a_private_ca(cli, tmp_path: Path, tls_server: SmtpServer,
                                         certs, monkeypatch) -> None:
    config = config_for(tmp_path, tls_server, monkeypatch, ca_file=certs[0])
    result = cli("--config", config, "setup", example("coach-client"), "--to", "ics",
                 "--send", "--yes")
    assert result.exit_code == 0, result.output
    assert len(tls_server.messages) == 1
    sent = tls_server.messages[0]
    assert sent.over_tls
    assert tls_server.logins == [(tls_server.username, True)]  # the password went over TLS
    assert sent.message["Subject"] == "Our designed alliance: Career move coaching"
    invites = [p for p in sent.message.iter_attachments()
               if p.get_content_type() == "text/calendar"]
    assert invites and all(icalendar.Calendar.from_ical(p.get_content()).walk("VEVENT")
                           for p in invites)


def test_an_untrusted_certificate_is_one_line_and_nothing_is_sent_or_recorded(
        cli, tmp_path: Path, tls_server: SmtpServer, certs, monkeypatch,
        state_file: Path) -> None:
    config = config_for(tmp_path, tls_server, monkeypatch, ca_file=None)  # system CAs only
    line = one_line(cli("--config", config, "setup", example("coach-client"), "--to", "ics",
                        "--send", "--yes"))
    assert "TLS" in line or "certificate" in line
    assert tls_server.messages == [] and tls_server.logins == []
    # Now trusted: the kickoff was not recorded as sent, so it goes out.
    config = config_for(tmp_path, tls_server, monkeypatch, ca_file=certs[0])
    assert cli("--config", config, "setup", example("coach-client"), "--to", "ics", "--send",
               "--yes").exit_code == 0
    assert len(tls_server.messages) == 1


def test_a_missing_ca_file_is_bad_input(cli, tmp_path: Path, tls_server: SmtpServer,
                                        monkeypatch) -> None:
    config = config_for(tmp_path, tls_server, monkeypatch, ca_file=tmp_path / "nope.pem")
    line = one_line(cli("--config", config, "setup", example("coach-client"), "--to", "ics",
                        "--send", "--yes"), code=2)
    assert "smtp.ca_file" in line and "nope.pem" in line


def target(config: Path, tmp_path: Path) -> SmtpTarget:
    return SmtpTarget(load_config(config, explicit=True), Options(out_dir=tmp_path))


def test_verify_logs_in_over_tls_and_sends_nothing(tmp_path: Path, tls_server: SmtpServer,
                                                   certs, monkeypatch) -> None:
    target(config_for(tmp_path, tls_server, monkeypatch, ca_file=certs[0]), tmp_path).verify()
    assert tls_server.logins == [(tls_server.username, True)] and tls_server.messages == []
    sentinel = "wrong-password-sentinel"
    wrong = target(config_for(tmp_path, tls_server, monkeypatch, ca_file=certs[0],
                              password=sentinel), tmp_path)
    with pytest.raises(AllianceError, match="refused the login") as refused:
        wrong.verify()
    untrusted = target(config_for(tmp_path, tls_server, monkeypatch, ca_file=None), tmp_path)
    with pytest.raises(AllianceError, match="certificate we cannot trust") as tls:
        untrusted.verify()
    for error in (refused.value, tls.value):
        assert len(str(error).splitlines()) == 1 and sentinel not in str(error)


def test_verify_names_a_plain_server_asked_for_tls_and_a_closed_port(tmp_path: Path, certs,
                                                                     monkeypatch) -> None:
    plain = SmtpServer("none")
    try:
        path = config_for(tmp_path, plain, monkeypatch, ca_file=certs[0])
        path.write_text(path.read_text().replace('security = "none"', 'security = "starttls"'))
        with pytest.raises(AllianceError, match="does not offer"):
            target(path, tmp_path).verify()
        path.write_text(path.read_text().replace('security = "starttls"', 'security = "tls"'))
        with pytest.raises(AllianceError, match=r"TLS problem|hung up"):
            target(path, tmp_path).verify()
        path.write_text(path.read_text().replace('security = "tls"', 'security = "none"'))
        target(path, tmp_path).verify()
        assert plain.logins == [(plain.username, False)]
    finally:
        plain.stop()
    with pytest.raises(AllianceError, match="cannot talk"):
        target(path, tmp_path).verify()
