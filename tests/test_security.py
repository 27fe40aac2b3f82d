"""No header or property injection, no markup injection, no path escape, no secret leaks."""

from __future__ import annotations

import email
import email.policy
import json
import os
import stat
from html.parser import HTMLParser
from pathlib import Path

import icalendar
import pytest

from .conftest import example

BASE = example("website-relaunch").read_text()
PAYLOADS = [
    "x\r\nBcc: evil@example.com",
    "x\nATTENDEE:mailto:evil@example.com",
    "x\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:injected",
    "x\u2028Subject: evil",
    "x\x00y",
]
SENTINEL = "SENTINEL-s3cr3t-7c1f"

# Fields that must stay on one line: the loader refuses control characters in them.
SINGLE_LINE = {
    "alliance.title": ('title = "Website relaunch"', "title = {}"),
    "members[0].name": ('name = "Ana Ruiz"', "name = {}"),
    "commitments[0].what": ('what = "Page templates for the new brand"', "what = {}"),
    "checkins.where": ('where = "https://meet.example.com/relaunch"', "where = {}"),
    "measures[0].name": ('name = "Pages migrated"', "name = {}"),
}
# Fields where several lines are fine: they must arrive verbatim, inside their property.
MULTI_LINE = {
    "goal.why": ('why = "Prospects are confused by the old site; demo requests fell 30%"',
                 "why = {}"),
    "celebration.how": ('how = "Team dinner at Lupa"', "how = {}"),
}


def toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string with \\uXXXX escapes is a valid TOML basic string


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("field", sorted(SINGLE_LINE))
def test_control_characters_in_one_line_fields_are_refused(cli, tmp_path: Path, field: str,
                                                           payload: str, isolated: Path) -> None:
    old, new = SINGLE_LINE[field]
    path = tmp_path / "a.toml"
    path.write_text(BASE.replace(old, new.format(toml_string(payload))))
    result = cli("setup", path)
    assert result.exit_code == 2, result.output
    assert field in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "alliance-out").exists()


EXPECTED_HEADERS = {"From", "To", "Subject", "Date", "Message-ID", "X-Unsent", "MIME-Version",
                    "Content-Type"}
EVENT_PROPS = {"UID", "DTSTAMP", "SEQUENCE", "SUMMARY", "DTSTART", "DTEND", "RRULE",
               "DESCRIPTION", "LOCATION", "STATUS", "ORGANIZER", "ATTENDEE", "CATEGORIES",
               "TRANSP", "COLOR", "X-DESIGNED-ALLIANCE-ID", "X-DESIGNED-ALLIANCE-KEY",
               "X-DESIGNED-ALLIANCE-FINGERPRINT"}


@pytest.mark.parametrize("payload", PAYLOADS[:3])
@pytest.mark.parametrize("field", sorted(MULTI_LINE))
def test_multi_line_text_cannot_inject_headers_or_properties(cli, tmp_path: Path, field: str,
                                                             payload: str,
                                                             isolated: Path) -> None:
    old, new = MULTI_LINE[field]
    path = tmp_path / "a.toml"
    path.write_text(BASE.replace(old, new.format(toml_string(payload))))
    result = cli("setup", path)
    assert result.exit_code == 0, result.output
    out = tmp_path / "alliance-out" / "website-relaunch-7f3k"
    kickoff = email.message_from_bytes((out / "kickoff.eml").read_bytes(),
                                       policy=email.policy.default)
    assert set(kickoff.keys()) == EXPECTED_HEADERS
    assert "evil@example.com" not in str(kickoff["To"]) and kickoff["Bcc"] is None
    text = kickoff.get_body(("plain",)).get_content()
    assert payload.replace("\r\n", "\n") in text.replace("\r\n", "\n")
    whole = icalendar.Calendar.from_ical((out / "alliance.ics").read_bytes())
    events = whole.walk("VEVENT")
    assert len(events) == 5  # nothing smuggled in as an extra event
    for event in events:
        assert set(event.keys()) <= EVENT_PROPS
        attendees = event.get("ATTENDEE")
        assert "evil" not in str(attendees)
        assert "injected" not in str(event.get("SUMMARY"))
    descriptions = [str(e.get("DESCRIPTION", "")) for e in events]
    assert any(payload.replace("\r\n", "\n") in d.replace("\r\n", "\n") for d in descriptions)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        self.attrs.extend(name for name, _ in attrs)


def test_user_text_is_escaped_in_html_email_and_page(cli, tmp_path: Path,
                                                     isolated: Path) -> None:
    hostile = 'Go <img src=x onerror="alert(1)"><script>steal()</script> now'
    path = tmp_path / "a.toml"
    path.write_text(BASE.replace('statement = "Relaunch the company website with the new brand"',
                                 f"statement = {toml_string(hostile)}")
                    .replace("Team dinner at Lupa", "Dinner & <b>cake</b>"))
    assert cli("setup", path).exit_code == 0
    kickoff = email.message_from_bytes(
        (tmp_path / "alliance-out" / "website-relaunch-7f3k" / "kickoff.eml").read_bytes(),
        policy=email.policy.default)
    for html in (kickoff.get_body(("html",)).get_content(),
                 cli("show", path, "--format", "html").output):
        parser = Tags()
        parser.feed(html)
        assert not {"img", "script", "b"} & set(parser.tags)
        assert "onerror" not in parser.attrs
        assert "&lt;script&gt;" in html


def test_state_and_token_files_are_private(cli, tmp_path: Path, state_file: Path) -> None:
    from designed_alliance.integrations.tokens import TokenStore

    assert cli("setup", example("household")).exit_code == 0
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(state_file.parent.stat().st_mode) == 0o700
    os.environ["ALLIANCE_NO_KEYRING"] = "1"
    try:
        store = TokenStore("probe", tmp_path / "cfg")
        store.set(SENTINEL)
    finally:
        del os.environ["ALLIANCE_NO_KEYRING"]
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700


def _outputs(result) -> str:
    return result.output + (result.stderr or "")


def test_no_secret_in_any_output(cli, tmp_path: Path, monkeypatch, smtp_server,
                                 radicale) -> None:
    """A sentinel secret reaches the program by every route; it must never come back out."""
    found = []
    monkeypatch.setenv("ALLIANCE_SENTINEL", SENTINEL)
    script = tmp_path / "secret.sh"
    script.write_text(f"#!/bin/sh\necho {SENTINEL}\n")
    script.chmod(0o700)
    failing = tmp_path / "failing.sh"
    failing.write_text(f"#!/bin/sh\necho {SENTINEL} >&2\necho {SENTINEL}\nexit 3\n")
    failing.chmod(0o700)
    configs = {
        "smtp-env": f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\nsecurity = "none"\n'
                    f'username = "alice"\npassword_env = "ALLIANCE_SENTINEL"\n',
        "smtp-cmd": f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\nsecurity = "none"\n'
                    f'username = "alice"\npassword_command = "{script}"\n',
        "caldav-fail": f'[caldav]\nurl = "{radicale.calendar_url}"\nusername = "alice"\n'
                       f'password_command = "{failing}"\n',
        "caldav-wrong": f'[caldav]\nurl = "{radicale.calendar_url}"\nusername = "alice"\n'
                        'password_env = "ALLIANCE_SENTINEL"\n',
        "google-token": f'[google]\napi_root = "http://127.0.0.1:9/"\n'
                        f'access_token_command = "{script}"\n',
        "outlook-token": f'[outlook]\ngraph_root = "http://127.0.0.1:9/v1.0/"\n'
                         f'access_token_command = "{script}"\n',
    }
    monkeypatch.setattr("designed_alliance.integrations.google.target.GoogleTarget.sleep",
                        staticmethod(lambda s: None))
    monkeypatch.setattr("designed_alliance.integrations.outlook.target.OutlookTarget.sleep",
                        staticmethod(lambda s: None))
    monkeypatch.setattr("designed_alliance.integrations.google.target.GoogleTarget."
                        "max_retry_seconds", 0.0, raising=False)
    runs = 0
    for name, text in configs.items():
        config = tmp_path / f"{name}.toml"
        config.write_text(text)
        target = name.split("-")[0]
        for extra in ([], ["--json"], ["--dry-run"]):
            args = ["--config", config, "setup", example("household"), "--yes", *extra]
            args += ["--to", "ics", "--send"] if target == "smtp" else ["--to", target]
            result = cli(*args)
            runs += 1
            if SENTINEL in _outputs(result):
                found.append((name, extra))
        result = cli("--config", config, "plan", example("household"), "--to",
                     "ics" if target == "smtp" else target)
        runs += 1
        if SENTINEL in _outputs(result):
            found.append((name, "plan"))
    assert runs == 24
    assert found == []


def test_password_in_the_caldav_url_is_refused_and_never_printed_or_stored(
        cli, tmp_path: Path, radicale, isolated: Path, state_file: Path) -> None:
    """`https://user:pass@host` in [caldav] url: refused at config time, pointing to
    password_command; the password is in no output, no error and no state byte."""
    url = radicale.calendar_url.replace("http://", f"http://alice:{SENTINEL}@")
    config = tmp_path / "dav-url.toml"
    config.write_text(f'[caldav]\nurl = "{url}"\nusername = "alice"\n')
    runs = [("plan", example("household"), "--to", "caldav"),
            ("plan", example("household"), "--to", "caldav", "--json"),
            ("setup", example("household"), "--to", "caldav", "--yes"),
            ("setup", example("household"), "--to", "caldav", "--yes", "--json"),
            ("setup", example("household"), "--to", "caldav", "--dry-run"),
            ("teardown", example("household"), "--to", "caldav", "--yes")]
    for args in runs:
        result = cli("--config", config, *args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "caldav.url" in lines[0] and "password_command" in lines[0]
        assert SENTINEL not in _outputs(result)
    result = cli("--config", config, "doctor", "--json")
    assert SENTINEL not in _outputs(result)
    assert not state_file.exists()
    assert radicale.report() == {}
    leaked = [p for p in tmp_path.rglob("*") if p.is_file() and p != config
              and SENTINEL.encode() in p.read_bytes()]
    assert leaked == []


@pytest.mark.parametrize(("url", "shown"), [
    ("https://ana:pw@dav.example.com/cal/", "https://ana:***@dav.example.com/cal/"),
    ("https://ana:p%40ss@dav.example.com/", "https://ana:***@dav.example.com/"),
    ("https://ana:p@ss@dav.example.com/x", "https://ana:***@dav.example.com/x"),
    ("http://:pw@[::1]:8080/c/", "http://:***@[::1]:8080/c/"),
    ("https://ana@dav.example.com/", "https://ana@dav.example.com/"),
    ("https://dav.example.com/u/ana@example.com/", "https://dav.example.com/u/ana@example.com/"),
    ("https://dav.example.com/?next=a:b@c", "https://dav.example.com/?next=a:b@c"),
    ("https://ana:pw@bad-port:99999999/", "https://ana:***@bad-port:99999999/"),
    ("not a url at all", "not a url at all"),
])
def test_redact_url(url: str, shown: str) -> None:
    from designed_alliance.core.secrets import redact_url, url_has_password

    assert redact_url(url) == shown
    assert url_has_password(url) == (":***@" in shown)


def test_credentials_in_the_authority_url_are_not_printed(cli, tmp_path: Path) -> None:
    config = tmp_path / "outlook.toml"
    config.write_text('[outlook]\nclient_id = "11111111-2222-3333-4444-555555555555"\n'
                      f'authority_host = "https://ana:{SENTINEL}@127.0.0.1:9"\n')
    result = cli("--config", config, "auth", "outlook")
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert SENTINEL not in _outputs(result) and "ana:***@127.0.0.1:9" in result.stderr


@pytest.mark.parametrize(("command", "code", "fragment"), [
    ("yes", 1, "printed more than 64 kB"),
    ("cat /dev/zero", 1, "printed more than 64 kB"),
    ("pass show 'dav", 2, "check the quotes"),
    ("{not_executable}", 2, "cannot be run"),
    ("/", 2, "cannot be run"),
], ids=["yes", "dev-zero", "unbalanced-quote", "not-executable", "a-folder"])
def test_a_wrong_password_command_is_one_line_fast(cli, tmp_path: Path, smtp_server,
                                                   command: str, code: int,
                                                   fragment: str) -> None:
    import time

    script = tmp_path / "pw.sh"
    script.write_text("#!/bin/sh\necho secret\n")
    script.chmod(0o600)  # not executable
    config = tmp_path / "smtp.toml"
    command = command.format(not_executable=script)
    config.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\n'
                      f'security = "none"\nusername = "alice"\n'
                      f"password_command = {json.dumps(command)}\n")
    started = time.monotonic()
    result = cli("--config", config, "setup", example("household"), "--to", "ics", "--send",
                 "--yes")
    assert time.monotonic() - started < 15
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and "smtp.password_command" in lines[0]
    assert smtp_server.messages == []
