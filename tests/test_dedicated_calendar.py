"""A calendar of the alliance's own (`calendar = "dedicated"`), Google and Outlook alike:
made once and found again by its tag (two setups, a lost state, a lost create answer),
renamed with the alliance, removed whole by `teardown --remove-calendar` (and only that
one), and a switch between the shared and the dedicated calendar refused before anything
is written. Everything is read back from the emulators' own stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from designed_alliance.core.config import Config
from designed_alliance.core.load import load
from designed_alliance.core.run import desired
from designed_alliance.integrations.outlook.target import PROP_KEY

from .conftest import example
from .services import (
    GOOGLE,
    OUTLOOK,
    Service,
    both_services,
    calendar_creates,
    keys_in,
    own_calendars,
)

service, emulator = both_services()


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    for target in (GOOGLE.target, OUTLOOK.target):
        monkeypatch.setattr(target, "sleep", staticmethod(lambda seconds: None))


def _alliance(tmp_path: Path) -> Path:
    path = tmp_path / "relaunch.toml"
    path.write_text(example("website-relaunch").read_text())
    return path


def _event_keys(path: Path) -> list[str]:
    return sorted(e.key for e in desired(load(path), Config()).events)


def _setup(cli, config: Path, path: Path, *extra: str):
    return cli("--config", config, "setup", path, "--to", config.stem, "--yes", *extra)


def _recorded_calendar(state_file: Path, instance_prefix: str) -> dict[str, tuple[str, str]]:
    """key "calendar" rows in the state, by instance: (remote id, status)."""
    import sqlite3

    with sqlite3.connect(state_file) as conn:
        rows = conn.execute("SELECT instance, remote_id, status FROM records WHERE key = "
                            "'calendar' AND instance LIKE ?", (instance_prefix + "%",))
        return {row[0]: (row[1], row[2]) for row in rows}


def test_made_once_across_two_setups_and_events_land_in_it(
        cli, tmp_path: Path, service: Service, emulator, state_file: Path) -> None:
    config = service.config(tmp_path, emulator, dedicated=True)
    path = _alliance(tmp_path)
    for _ in range(2):
        result = _setup(cli, config, path)
        assert result.exit_code == 0, result.output + result.stderr
    made = own_calendars(service, emulator)
    assert list(made.values()) == ["Alliance: Website relaunch"]
    (calendar_id,) = made
    plan = cli("--config", config, "plan", path, "--to", service.name, "--json")
    (part,) = json.loads(plan.output)["targets"]
    assert "calendar: 'Alliance: Website relaunch', the alliance's own" in part["notes"]
    assert keys_in(service, emulator, calendar_id) == _event_keys(path)
    assert keys_in(service, emulator, None) == []  # nothing in the primary calendar
    assert calendar_creates(service, emulator) == 1
    recorded = _recorded_calendar(state_file, service.name)
    assert list(recorded.values()) == [(calendar_id, "active")]


def test_found_again_after_the_state_is_lost(cli, tmp_path: Path, service: Service,
                                             emulator, state_file: Path) -> None:
    config = service.config(tmp_path, emulator, dedicated=True)
    path = _alliance(tmp_path)
    assert _setup(cli, config, path).exit_code == 0
    state_file.unlink()
    emulator.reset_log()
    result = _setup(cli, config, path)
    assert result.exit_code == 0, result.output + result.stderr
    assert calendar_creates(service, emulator) == 0
    for method, request_path in service.creates:
        assert emulator.count(method, request_path) == 0, (method, request_path)
    (calendar_id,) = own_calendars(service, emulator)
    assert keys_in(service, emulator, calendar_id) == _event_keys(path)
    # The found calendar is recorded again: the next run needs no look-up for it.
    assert list(_recorded_calendar(state_file, service.name).values()) == [
        (calendar_id, "active")]


def test_a_lost_create_answer_makes_no_second_calendar(cli, tmp_path: Path,
                                                       service: Service, emulator) -> None:
    config = service.config(tmp_path, emulator, dedicated=True)
    path = _alliance(tmp_path)
    where = "/calendar/v3/calendars" if service is GOOGLE else "/me/calendars"
    # The create is done, then the connection drops before the answer: the run looks
    # before it makes another, finds it, and goes on.
    emulator.faults.push(kind="drop_after_apply", method="POST", path_contains=where)
    result = _setup(cli, config, path)
    assert result.exit_code == 0, result.output + result.stderr
    assert emulator.faults.injected == 1
    made = own_calendars(service, emulator)
    assert len(made) == 1
    (calendar_id,) = made
    assert keys_in(service, emulator, calendar_id) == _event_keys(path)


def test_a_renamed_alliance_renames_its_calendar(cli, tmp_path: Path, service: Service,
                                                 emulator, state_file: Path) -> None:
    config = service.config(tmp_path, emulator, dedicated=True)
    path = _alliance(tmp_path)
    assert _setup(cli, config, path).exit_code == 0
    text = path.read_text()
    renamed = text.replace('title = "Website relaunch"', 'title = "Site relaunch 2027"', 1)
    assert renamed != text
    path.write_text(renamed)
    result = _setup(cli, config, path, "--force")  # --force: the same file, a new title
    assert result.exit_code == 0, result.output + result.stderr
    assert list(own_calendars(service, emulator).values()) == ["Alliance: Site relaunch 2027"]
    assert calendar_creates(service, emulator) == 1


def test_teardown_removes_the_calendar_whole_only_with_force(
        cli, tmp_path: Path, service: Service, emulator, state_file: Path) -> None:
    config = service.config(tmp_path, emulator, dedicated=True)
    path = _alliance(tmp_path)
    assert _setup(cli, config, path).exit_code == 0
    (calendar_id,) = own_calendars(service, emulator)
    args = ("--config", config, "teardown", path, "--to", service.name, "--yes",
            "--remove-calendar")
    dry = cli(*args, "--dry-run")
    assert dry.exit_code == 0, dry.output + dry.stderr
    assert "'Alliance: Website relaunch' is deleted whole" in dry.output
    refused = cli(*args)
    assert refused.exit_code == 1
    assert "--force" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert list(own_calendars(service, emulator)) == [calendar_id]  # nothing was done
    assert keys_in(service, emulator, calendar_id) == _event_keys(path)
    done = cli(*args, "--force")
    assert done.exit_code == 0, done.output + done.stderr
    assert "deleted the calendar 'Alliance: Website relaunch'" in done.output
    assert own_calendars(service, emulator) == {}
    assert calendar_id in emulator.deleted_calendars
    assert list(_recorded_calendar(state_file, service.name).values()) == [
        (calendar_id, "cancelled")]
    # Nothing is left for a second teardown to remove, and that is said, not failed.
    again = cli(*args, "--force")
    assert again.exit_code == 0, again.output + again.stderr
    assert "no calendar of this alliance's own" in again.output


def test_remove_calendar_is_refused_for_the_shared_calendar(
        cli, tmp_path: Path, service: Service, emulator) -> None:
    config = service.config(tmp_path, emulator)  # primary / default calendar
    path = _alliance(tmp_path)
    assert _setup(cli, config, path).exit_code == 0
    emulator.reset_log()
    result = cli("--config", config, "teardown", path, "--to", service.name, "--yes",
                 "--remove-calendar", "--force")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--remove-calendar" in lines[0], result.stderr
    assert "teardown never deletes it" in lines[0]
    assert emulator.requests == []  # refused before anything was read or written
    assert keys_in(service, emulator, None) == _event_keys(path)


def test_switching_to_dedicated_after_events_exist_is_refused(
        cli, tmp_path: Path, service: Service, emulator) -> None:
    path = _alliance(tmp_path)
    shared = service.config(tmp_path, emulator)
    assert _setup(cli, shared, path).exit_code == 0
    dedicated = service.config(tmp_path, emulator, dedicated=True)
    emulator.reset_log()
    for command in (("plan", path, "--to", service.name),
                    ("setup", path, "--to", service.name, "--yes")):
        result = cli("--config", dedicated, *command)
        assert result.exit_code == 2, result.output + result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert f"{service.name}.calendar" in lines[0]
        assert "alliance teardown" in lines[0] and "twice" in lines[0]
    assert emulator.requests == []
    assert own_calendars(service, emulator) == {}
    # The way the message gives: the old setting back, teardown, then the new setting.
    shared = service.config(tmp_path, emulator)
    assert cli("--config", shared, "teardown", path, "--to", service.name,
               "--yes").exit_code == 0
    dedicated = service.config(tmp_path, emulator, dedicated=True)
    result = _setup(cli, dedicated, path)
    assert result.exit_code == 0, result.output + result.stderr
    (calendar_id,) = own_calendars(service, emulator)
    assert keys_in(service, emulator, calendar_id) == _event_keys(path)
    assert keys_in(service, emulator, None) == []


def test_config_refuses_a_calendar_id_beside_dedicated(cli, tmp_path: Path,
                                                       service: Service, emulator) -> None:
    config = service.config(tmp_path, emulator, dedicated=True)
    config.write_text(config.read_text() + 'calendar_id = "team@example.com"\n')
    result = cli("--config", config, "plan", _alliance(tmp_path), "--to", service.name)
    assert result.exit_code == 2
    assert f"{service.name}.calendar_id" in result.stderr
    bad = service.config(tmp_path, emulator)
    bad.write_text(bad.read_text() + 'calendar = "mine"\n')
    result = cli("--config", bad, "plan", _alliance(tmp_path), "--to", service.name)
    assert result.exit_code == 2 and f"{service.name}.calendar" in result.stderr


def test_state_knows_the_calendar_so_an_unchanged_rerun_asks_nothing_of_it(
        cli, tmp_path: Path, service: Service, emulator) -> None:
    config = service.config(tmp_path, emulator, dedicated=True)
    path = _alliance(tmp_path)
    assert _setup(cli, config, path).exit_code == 0
    emulator.reset_log()
    assert _setup(cli, config, path).exit_code == 0
    assert all("calendarList" not in r.path and r.path != "/me/calendars"
               for r in emulator.requests), [r.path for r in emulator.requests]


# -- Google: the narrow scope when every Google target is dedicated ---------------------------

NARROW = {"calendar.app.created", "calendar.calendarlist.readonly", "gmail.compose"}


def _token_config(tmp_path: Path, emulator, token: str, *, dedicated: bool) -> Path:
    emulator.token_scopes[token] = set(NARROW)
    return GOOGLE.config(tmp_path, emulator, command=f"echo {token}", dedicated=dedicated)


def test_every_call_of_a_dedicated_setup_is_allowed_by_the_narrow_scopes(
        cli, tmp_path: Path, google_emulator) -> None:
    config = _token_config(tmp_path, google_emulator, "narrow-token", dedicated=True)
    path = _alliance(tmp_path)
    for _ in range(2):  # the first run makes everything, the second reads and keeps it
        result = _setup(cli, config, path)
        assert result.exit_code == 0, result.output + result.stderr
    teardown = cli("--config", config, "teardown", path, "--to", "google", "--yes",
                   "--remove-calendar", "--force")
    assert teardown.exit_code == 0, teardown.output + teardown.stderr
    assert all(r.status < 400 for r in google_emulator.requests), [
        (r.method, r.path, r.status) for r in google_emulator.requests if r.status >= 400]
    assert google_emulator.own_calendars == {}


def test_a_token_without_the_scope_is_one_line_that_says_what_to_do(
        cli, tmp_path: Path, google_emulator) -> None:
    # The shared (primary) calendar is out of reach of calendar.app.created: the emulator
    # refuses as Google does (403 insufficientPermissions) and nothing is written.
    config = _token_config(tmp_path, google_emulator, "narrow-token", dedicated=False)
    result = _setup(cli, config, _alliance(tmp_path))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "insufficient scopes" in lines[0]
    assert "access_token_command a token with the scopes calendar, gmail.compose" in lines[0]
    assert any(r.status == 403 for r in google_emulator.requests)
    assert google_emulator.events() == [] and google_emulator.draft_store == {}


@pytest.mark.parametrize(("dedicated", "asked"), [
    (True, {"https://www.googleapis.com/auth/calendar.app.created",
            "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
            "https://www.googleapis.com/auth/gmail.compose"}),
    (False, {"https://www.googleapis.com/auth/calendar",
             "https://www.googleapis.com/auth/gmail.compose"}),
], ids=["dedicated", "shared"])
def test_auth_asks_for_the_scopes_the_config_needs_and_says_why(
        cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dedicated: bool,
        asked: set[str]) -> None:
    from google_auth_oauthlib.flow import InstalledAppFlow

    seen: list[list[str]] = []

    class Flow:
        def __init__(self, scopes: list[str]) -> None:
            self.scopes = scopes

        def run_local_server(self, **kwargs: object) -> object:
            scopes = self.scopes

            class Creds:
                def to_json(self) -> str:
                    return json.dumps({"token": "t", "refresh_token": "r", "client_id": "c",
                                       "client_secret": "s", "scopes": scopes})

            return Creds()

    def from_file(path: str, scopes: list[str]) -> Flow:
        seen.append(list(scopes))
        return Flow(scopes)

    monkeypatch.setattr(InstalledAppFlow, "from_client_secrets_file", staticmethod(from_file))
    monkeypatch.setenv("ALLIANCE_NO_KEYRING", "1")
    (tmp_path / "client.json").write_text("{}")
    config = tmp_path / "config.toml"
    config.write_text(f'[google]\nclient_secrets = "{tmp_path}/client.json"\n'
                      + ('calendar = "dedicated"\n' if dedicated else ""))
    result = cli("--config", config, "auth", "google", "--no-browser")
    assert result.exit_code == 0, result.output + result.stderr
    assert [set(s) for s in seen] == [asked]
    said = [line for line in result.stderr.splitlines() if line.startswith("asks for ")]
    assert {line.split()[2].rstrip(":") for line in said} == asked  # one line per scope
    assert all(len(line.split(": ", 1)[1]) > 20 for line in said)  # each says why


def test_a_stored_token_with_other_scopes_says_to_sign_in_again(
        cli, tmp_path: Path, google_emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from designed_alliance.core.config import load_config
    from designed_alliance.integrations.google.auth import token_store

    monkeypatch.setenv("ALLIANCE_NO_KEYRING", "1")
    config = tmp_path / "config.toml"
    config.write_text(f'[google]\nclient_secrets = "{tmp_path}/client.json"\n'
                      f'api_root = "{google_emulator.base_url}"\n')
    narrow = ["https://www.googleapis.com/auth/calendar.app.created",
              "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
              "https://www.googleapis.com/auth/gmail.compose"]
    token_store(load_config(config, explicit=True)).set(json.dumps({
        "token": "test-token", "refresh_token": "r", "client_id": "c", "client_secret": "s",
        "scopes": narrow, "expiry": "2999-01-01T00:00:00Z"}))
    result = cli("--config", config, "setup", _alliance(tmp_path), "--to", "google", "--yes")
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert "missing: calendar" in line and "run: alliance auth google" in line
    assert google_emulator.requests == []
    report = cli("--config", config, "doctor", "--json")
    checks = [c for c in json.loads(report.output)["checks"] if c["name"] == "google"]
    assert any(c["status"] == "fail" and "missing: calendar" in c["detail"] for c in checks)


# -- the meeting link in state: agenda shows it without asking the service again -------------

def test_the_meeting_link_is_recorded_at_setup_and_the_agenda_reads_it_from_state(
        cli, tmp_path: Path, service: Service, emulator, state_file: Path) -> None:
    import email
    import email.policy
    import sqlite3

    video = "google-meet" if service is GOOGLE else "teams"
    if service is GOOGLE:
        emulator.pending_gets = 1  # the write answers "pending": the link comes by a get
    path = _alliance(tmp_path)
    path.write_text(path.read_text().replace("[checkins]\n", f'[checkins]\nvideo = "{video}"\n'))
    config = service.config(tmp_path, emulator, dedicated=True)
    result = _setup(cli, config, path)
    assert result.exit_code == 0, result.output + result.stderr
    (calendar_id,) = own_calendars(service, emulator)
    if service is GOOGLE:
        made = {e["extendedProperties"]["private"]["allianceKey"]: e.get("hangoutLink")
                for e in emulator.events(calendar_id)}
    else:
        made = {next(p["value"] for p in e["singleValueExtendedProperties"]
                     if p["id"] == PROP_KEY): (e.get("onlineMeeting") or {}).get("joinUrl")
                for e in emulator.events_in(calendar_id)}
    links = {k: v for k, v in made.items() if v}
    assert set(links) == {"checkins", "review"}  # the review joins like the check-ins
    link = links["checkins"]
    with sqlite3.connect(state_file) as conn:
        (summary,) = conn.execute("SELECT summary FROM records WHERE key = 'checkins' AND "
                                  "instance LIKE ?", (service.name + "%",)).fetchone()
    assert json.loads(summary)["video_url"] == link
    emulator.reset_log()
    out = tmp_path / "agenda-out"
    result = cli("--config", config, "agenda", path, "--on", "2026-12-01", "--to", "eml",
                 "--out", out)
    assert result.exit_code == 0, result.output + result.stderr
    assert emulator.requests == []  # read from the state: not one request
    (written,) = out.glob("agenda-*.eml")
    message = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert f"Join the call: {link}" in text
    status = cli("--config", config, "status", path, "--on", "2026-12-01", "--json")
    assert status.exit_code == 0, status.output + status.stderr
    assert json.loads(status.output)["meeting_links"] == links
    plain = cli("--config", config, "status", path, "--on", "2026-12-01")
    assert f"Join the check-ins: {link}" in plain.output
    agreement = cli("--config", config, "show", path)
    assert agreement.exit_code == 0, agreement.output + agreement.stderr
    service_name = "Google Meet" if service is GOOGLE else "Microsoft Teams"
    assert f"We join the check-ins by video: {service_name}, {link}" in agreement.output
    html = cli("--config", config, "show", path, "--format", "html")
    from html.parser import HTMLParser

    class Links(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.hrefs: list[str] = []

        def handle_starttag(self, tag: str, attrs: list) -> None:
            if tag == "a":
                self.hrefs.append(dict(attrs).get("href", ""))

    parser = Links()
    parser.feed(html.output)
    assert link in parser.hrefs
    assert emulator.requests == []  # still not one request


# -- CalDAV: MKCALENDAR in the calendar home of a real Radicale -------------------------------

def _dav_config(tmp_path: Path, radicale, monkeypatch: pytest.MonkeyPatch, *,
                dedicated: bool = True) -> Path:
    monkeypatch.setenv("ALLIANCE_TEST_DAV", radicale.password)
    path = tmp_path / "caldav.toml"
    url = f"{radicale.url}{radicale.username}/" if dedicated else radicale.calendar_url
    path.write_text(f'[caldav]\nurl = "{url}"\nusername = "{radicale.username}"\n'
                    'password_env = "ALLIANCE_TEST_DAV"\n'
                    + ('calendar = "dedicated"\n' if dedicated else ""))
    return path


def _dav_calendars(radicale) -> dict[str, tuple[str, str, list[str]]]:
    """Radicale's own store: folder → (displayname, our tag, UIDs of the events in it),
    for every calendar of the user (the props file is the server's JSON, read directly)."""
    import vobject  # not the library that wrote them

    home = radicale.storage_dir / "collection-root" / radicale.username
    found: dict[str, tuple[str, str, list[str]]] = {}
    for folder in sorted(p for p in home.iterdir() if p.is_dir()):
        props_file = folder / ".Radicale.props"
        props = json.loads(props_file.read_text()) if props_file.exists() else {}
        if props.get("tag") != "VCALENDAR":
            continue
        uids = sorted(str(event.uid.value) for p in folder.iterdir()
                      if p.is_file() and not p.name.startswith(".Radicale")
                      for event in vobject.readOne(p.read_text()).vevent_list)
        found[folder.name] = (props.get("D:displayname", ""),
                              props.get("{urn:designed-alliance}alliance-id", ""), uids)
    return found


def _dav_uids(path: Path) -> list[str]:
    return sorted(e.uid for e in desired(load(path), Config()).events)


def test_caldav_calendar_made_once_in_the_home_and_found_after_lost_state(
        cli, tmp_path: Path, radicale, monkeypatch: pytest.MonkeyPatch,
        state_file: Path) -> None:
    config = _dav_config(tmp_path, radicale, monkeypatch)
    path = _alliance(tmp_path)
    args = ("--config", config, "setup", path, "--to", "caldav", "--yes")
    for _ in range(2):
        result = cli(*args)
        assert result.exit_code == 0, result.output + result.stderr
    state_file.unlink()
    result = cli(*args)
    assert result.exit_code == 0, result.output + result.stderr
    calendars = _dav_calendars(radicale)
    ours = {k: v for k, v in calendars.items() if v[1]}
    assert list(ours.values()) == [("Alliance: Website relaunch", load(path).id,
                                    _dav_uids(path))]
    assert calendars["alliance"][2] == []  # the user's own calendar is left alone


def test_caldav_a_lost_mkcalendar_answer_makes_no_second_calendar(
        cli, tmp_path: Path, radicale, monkeypatch: pytest.MonkeyPatch) -> None:
    import caldav

    config = _dav_config(tmp_path, radicale, monkeypatch)
    path = _alliance(tmp_path)
    real = caldav.DAVClient.mkcalendar

    def made_then_lost(self, url, body="", dummy=None):  # type: ignore[no-untyped-def]
        real(self, url, body)
        raise ConnectionError("the answer was lost")

    monkeypatch.setattr(caldav.DAVClient, "mkcalendar", made_then_lost)
    first = cli("--config", config, "setup", path, "--to", "caldav", "--yes")
    assert first.exit_code == 1 and len(first.stderr.strip().splitlines()) == 1
    monkeypatch.setattr(caldav.DAVClient, "mkcalendar", real)
    again = cli("--config", config, "setup", path, "--to", "caldav", "--yes")
    assert again.exit_code == 0, again.output + again.stderr
    ours = [v for v in _dav_calendars(radicale).values() if v[1]]
    assert ours == [("Alliance: Website relaunch", load(path).id, _dav_uids(path))]


def test_caldav_rename_and_teardown_remove_calendar(cli, tmp_path: Path, radicale,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    config = _dav_config(tmp_path, radicale, monkeypatch)
    path = _alliance(tmp_path)
    assert cli("--config", config, "setup", path, "--to", "caldav", "--yes").exit_code == 0
    path.write_text(path.read_text().replace('title = "Website relaunch"',
                                             'title = "Site relaunch 2027"', 1))
    result = cli("--config", config, "setup", path, "--to", "caldav", "--yes", "--force")
    assert result.exit_code == 0, result.output + result.stderr
    assert [v[0] for v in _dav_calendars(radicale).values() if v[1]] == [
        "Alliance: Site relaunch 2027"]
    result = cli("--config", config, "teardown", path, "--to", "caldav", "--yes",
                 "--remove-calendar", "--force")
    assert result.exit_code == 0, result.output + result.stderr
    assert [v for v in _dav_calendars(radicale).values() if v[1]] == []
    assert "alliance" in _dav_calendars(radicale)  # the user's own calendar stays


def test_caldav_remove_calendar_refused_for_the_configured_calendar(
        cli, tmp_path: Path, radicale, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _dav_config(tmp_path, radicale, monkeypatch, dedicated=False)
    path = _alliance(tmp_path)
    assert cli("--config", config, "setup", path, "--to", "caldav", "--yes").exit_code == 0
    result = cli("--config", config, "teardown", path, "--to", "caldav", "--yes",
                 "--remove-calendar", "--force")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert _dav_calendars(radicale)["alliance"][2] == _dav_uids(path)  # nothing was done


def test_status_reads_the_answers_in_the_dedicated_calendar_it_recorded(
        cli, tmp_path: Path, google_emulator) -> None:
    config = GOOGLE.config(tmp_path, google_emulator, dedicated=True)
    path = _alliance(tmp_path)
    assert _setup(cli, config, path).exit_code == 0
    (calendar_id,) = google_emulator.own_calendars
    google_emulator.respond("checkins", "ben@example.com", "accepted", calendar_id)
    google_emulator.reset_log()
    result = cli("--config", config, "status", path, "--to", "google", "--json")
    assert result.exit_code == 0, result.output + result.stderr
    answers = {(r["key"], r["email"]): r["response"]
               for r in json.loads(result.output)["responses"]}
    assert answers[("checkins", "ben@example.com")] == "accepted"
    # The calendar's id came from the state: no calendarList look-up.
    assert not any("calendarList" in r.path for r in google_emulator.requests)
    assert any(calendar_id in r.path for r in google_emulator.requests)


# -- the emulators refuse what the services refuse ---------------------------------------------

def _raw(emulator, method: str, path: str, body: object = None, token: str = "test-token"
         ) -> tuple[int, dict]:
    """One request with urllib (not the client code under test); only ever 127.0.0.1."""
    import urllib.error
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(emulator.base_url + path.lstrip("/"), data=data,
                                     method=method,
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            text = answer.read()
            return answer.status, json.loads(text) if text else {}
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_google_emulator_refuses_calendar_requests_as_google_does(google_emulator) -> None:
    status, body = _raw(google_emulator, "POST", "calendar/v3/calendars", {"description": "x"})
    assert status == 400 and body["error"]["errors"][0]["reason"] == "required"
    status, body = _raw(google_emulator, "POST", "calendar/v3/calendars",
                        {"summary": "A", "colour": "red"})
    assert status == 400  # an unknown field, per the discovery document
    status, body = _raw(google_emulator, "DELETE", "calendar/v3/calendars/primary")
    assert status == 400 and "primary" in body["error"]["message"]
    google_emulator.token_scopes["narrow"] = {"calendar.app.created"}
    status, body = _raw(google_emulator, "GET", "calendar/v3/users/me/calendarList",
                        token="narrow")
    assert status == 403
    assert body["error"]["errors"][0]["reason"] == "insufficientPermissions"
    status, made = _raw(google_emulator, "POST", "calendar/v3/calendars", {"summary": "A"},
                        token="narrow")
    assert status == 200
    assert _raw(google_emulator, "GET", "calendar/v3/calendars/primary/events",
                token="narrow")[0] == 403  # not a calendar this app made
    assert _raw(google_emulator, "GET", f"calendar/v3/calendars/{made['id']}/events",
                token="narrow")[0] == 200


def test_graph_emulator_refuses_calendar_requests_as_graph_does(graph_emulator) -> None:
    token = "graph-token"
    status, _ = _raw(graph_emulator, "POST", "me/calendars", {"color": "auto"}, token)
    assert status == 400
    status, _ = _raw(graph_emulator, "POST", "me/calendars", {"name": "A", "owner": {}}, token)
    assert status == 400
    assert _raw(graph_emulator, "POST", "me/calendars", {"name": "A"}, token)[0] == 201
    status, body = _raw(graph_emulator, "POST", "me/calendars", {"name": "a"}, token)
    assert status == 409 and body["error"]["code"] == "ErrorFolderExists"
    status, _ = _raw(graph_emulator, "DELETE", "me/calendars/cal1", None, token)
    assert status == 400


def test_a_calendar_deleted_by_hand_is_said_and_teardown_then_setup_makes_a_new_one(
        cli, tmp_path: Path, service: Service, emulator) -> None:
    config = service.config(tmp_path, emulator, dedicated=True)
    path = _alliance(tmp_path)
    assert _setup(cli, config, path).exit_code == 0
    (old,) = own_calendars(service, emulator)
    where = f"calendar/v3/calendars/{old}" if service is GOOGLE else f"me/calendars/{old}"
    assert _raw(emulator, "DELETE", where, None, service.token)[0] == 204  # the user, by hand
    path.write_text(path.read_text().replace('time = "09:30"', 'time = "10:00"', 1))
    result = _setup(cli, config, path)
    assert result.exit_code == 1
    assert "is gone" in result.stderr and "alliance teardown" in result.stderr
    assert cli("--config", config, "teardown", path, "--to", service.name,
               "--yes").exit_code == 0
    result = _setup(cli, config, path)
    assert result.exit_code == 0, result.output + result.stderr
    (new,) = own_calendars(service, emulator)
    assert new != old and keys_in(service, emulator, new) == _event_keys(path)


def test_remove_calendar_with_a_mail_target_beside_it_speaks_only_of_the_calendar(
        cli, tmp_path: Path, google_emulator) -> None:
    config = GOOGLE.config(tmp_path, google_emulator, dedicated=True)
    path = _alliance(tmp_path)
    assert cli("--config", config, "setup", path, "--to", "google,eml", "--yes",
               "--out", tmp_path / "out").exit_code == 0
    result = cli("--config", config, "teardown", path, "--to", "google,eml", "--yes",
                 "--out", tmp_path / "out", "--remove-calendar", "--force", "--json")
    assert result.exit_code == 0, result.output + result.stderr
    assert json.loads(result.output)["removed_calendars"] == [
        {"target": "google", "calendar": "Alliance: Website relaunch"}]
    assert google_emulator.own_calendars == {}


def test_teardown_without_its_calendar_never_touches_the_shared_one(
        cli, tmp_path: Path, service: Service, emulator, state_file: Path) -> None:
    import sqlite3

    path = _alliance(tmp_path)
    config = service.config(tmp_path, emulator, dedicated=True)
    assert _setup(cli, config, path).exit_code == 0
    (calendar_id,) = own_calendars(service, emulator)
    where = (f"calendar/v3/calendars/{calendar_id}" if service is GOOGLE
             else f"me/calendars/{calendar_id}")
    assert _raw(emulator, "DELETE", where, None, service.token)[0] == 204
    with sqlite3.connect(state_file) as conn:  # a state that lost the calendar's row
        conn.execute("DELETE FROM records WHERE key = 'calendar'")
    emulator.reset_log()
    result = cli("--config", config, "teardown", path, "--to", service.name, "--yes")
    assert result.exit_code == 0, result.output + result.stderr
    writes = [(r.method, r.path) for r in emulator.requests
              if r.method in ("DELETE", "POST", "PATCH") and "/events" in r.path]
    assert writes == []  # nothing cancelled in the primary / default calendar


def test_outlook_a_calendar_of_the_same_name_not_ours_is_one_line(
        cli, tmp_path: Path, graph_emulator) -> None:
    assert _raw(graph_emulator, "POST", "me/calendars", {"name": "Alliance: Website relaunch"},
                OUTLOOK.token)[0] == 201  # the user made it by hand: no tag
    config = OUTLOOK.config(tmp_path, graph_emulator, dedicated=True)
    result = _setup(cli, config, _alliance(tmp_path))
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert "already has a calendar named 'Alliance: Website relaunch'" in line
    assert graph_emulator.events() == []


# -- the calendar's time zone: the alliance's ------------------------------------------------

def test_the_calendar_is_made_in_the_alliance_zone(cli, tmp_path: Path, service: Service,
                                                   emulator) -> None:
    config = service.config(tmp_path, emulator, dedicated=True)
    path = _alliance(tmp_path)
    assert _setup(cli, config, path).exit_code == 0
    (made,) = (emulator.own_calendars if service is GOOGLE else emulator.calendars).values()
    if service is GOOGLE:
        assert made["timeZone"] == load(path).timezone == "America/New_York"
    else:
        # A Graph calendar has no zone of its own (the emulator refuses a property the
        # service does not have): its events carry the alliance's zone instead.
        assert not [k for k in made if "zone" in k.lower()]
        (calendar_id,) = own_calendars(service, emulator)
        zones = {e["start"]["timeZone"] for e in emulator.events_in(calendar_id)}
        assert zones == {"Eastern Standard Time"}


def test_google_refuses_a_zone_it_does_not_know_in_one_line(
        cli, tmp_path: Path, google_emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from .emulators import google_emu

    # This machine's tzdata knows the zone, Google's list does not (a zone newer than it).
    known = google_emu._zones() - {"America/New_York"}
    monkeypatch.setattr(google_emu, "_zones", lambda: known)
    config = GOOGLE.config(tmp_path, google_emulator, dedicated=True)
    result = _setup(cli, config, _alliance(tmp_path))
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "time zone 'America/New_York' (HTTP 400)" in lines[0]
    assert "set [alliance] timezone to one it does" in lines[0]
    assert google_emulator.own_calendars == {} and google_emulator.events() == []


def test_caldav_calendar_carries_the_alliance_zone(cli, tmp_path: Path, radicale,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import vobject  # not the library that wrote it

    config = _dav_config(tmp_path, radicale, monkeypatch)
    path = _alliance(tmp_path)
    assert _setup(cli, config, path).exit_code == 0
    home = radicale.storage_dir / "collection-root" / radicale.username
    (props,) = [json.loads(p.read_text()) for p in home.glob("alliance-*/.Radicale.props")]
    # Radicale keeps both: the VTIMEZONE (RFC 4791) and the zone's name (RFC 7809).
    assert props["C:calendar-timezone-id"] == "America/New_York"
    holder = vobject.readOne(props["C:calendar-timezone"])
    (zone,) = holder.vtimezone_list
    assert zone.tzid.value == "America/New_York"
    tz = zone.gettzinfo()
    from datetime import datetime

    assert tz.utcoffset(datetime(2027, 1, 15, 12)).total_seconds() == -5 * 3600
    assert tz.utcoffset(datetime(2027, 7, 15, 12)).total_seconds() == -4 * 3600
