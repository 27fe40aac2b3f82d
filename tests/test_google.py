"""The google target through the real googleapiclient, against the emulator over HTTP."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from designed_alliance.core.config import Config, load_config
from designed_alliance.core.state import State
from designed_alliance.core.target import Options
from designed_alliance.integrations.google.target import GoogleTarget

from .conftest import example
from .contract import (
    EVENT_KEYS,
    RemoteView,
    TargetContract,
    alliance_from,
    run,
)

TOKEN_COMMAND = "echo test-token"


def google_config(tmp_path: Path, emulator, *, command: str | None = TOKEN_COMMAND) -> Path:
    path = tmp_path / "google.toml"
    lines = ["[google]", 'calendar_id = "primary"', f'api_root = "{emulator.base_url}"']
    if command:
        lines.append(f"access_token_command = '{command}'")  # TOML literal string
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff waits are recorded, not slept: the tests stay fast and can check them."""
    waits: list[float] = []
    monkeypatch.setattr(GoogleTarget, "sleep", staticmethod(waits.append))
    return waits


@pytest.fixture
def config(tmp_path: Path, google_emulator, slept) -> Config:
    return load_config(google_config(tmp_path, google_emulator), explicit=True)


def view(emulator) -> dict[str, RemoteView]:
    found: dict[str, RemoteView] = {}
    for event in emulator.events("primary"):
        private = event.get("extendedProperties", {}).get("private", {})
        key = private["allianceKey"]
        assert key not in found, f"two events for {key}"
        found[key] = RemoteView("cancelled" if event["status"] == "cancelled" else "active",
                                private["allianceFingerprint"],
                                int(private["allianceSequence"]))
    return found


class TestGoogleTarget(TargetContract):
    @pytest.fixture
    def target(self, config: Config, tmp_path: Path):
        return GoogleTarget(config, Options(out_dir=tmp_path))

    @pytest.fixture
    def remote(self, google_emulator):
        return lambda: view(google_emulator)


def setup_cli(cli, config_path: Path, alliance: Path, *extra: str):
    return cli("--config", config_path, "setup", alliance, "--to", "google", "--yes", *extra)


def test_fresh_setup_is_one_list_one_batch_one_draft(cli, tmp_path: Path, google_emulator,
                                                     slept) -> None:
    config = google_config(tmp_path, google_emulator)
    result = setup_cli(cli, config, example("website-relaunch"))
    assert result.exit_code == 0, result.output
    top = [r for r in google_emulator.requests if not r.batch_part]
    assert [(r.method, r.path) for r in top] == [
        ("GET", "/calendar/v3/calendars/primary/events"),
        ("POST", "/batch/calendar/v3"),
        ("POST", "/gmail/v1/users/me/drafts"),
    ]
    assert google_emulator.http_calls == 3
    assert google_emulator.count("POST", "/events", batch_parts=True) == 5
    events = {e["extendedProperties"]["private"]["allianceKey"]: e
              for e in google_emulator.events()}
    assert set(events) == EVENT_KEYS
    checkins = events["checkins"]
    assert checkins["start"] == {"dateTime": "2026-12-07T09:30:00-05:00",
                                 "timeZone": "America/New_York"}
    assert checkins["recurrence"] == ["RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20270401T035959Z"]
    assert {a["email"] for a in checkins["attendees"]} == {"ana@example.com", "ben@example.com"}
    assert checkins["reminders"] == {"useDefault": False,
                                     "overrides": [{"method": "popup", "minutes": 10}]}
    assert events["commitment:design"]["start"] == {"date": "2027-01-08"}
    ((_, draft),) = google_emulator.drafts()
    assert draft["Subject"] == "Our designed alliance: Website relaunch"
    assert len([p for p in draft.iter_attachments()
                if p.get_content_type() == "text/calendar"]) == 5
    inserts = [r for r in google_emulator.requests if r.batch_part and r.method == "POST"]
    assert {r.query["sendUpdates"][0] for r in inserts} == {"all"}

    # Unchanged re-run: no request at all (the state says everything is in place).
    google_emulator.reset_log()
    assert setup_cli(cli, config, example("website-relaunch")).exit_code == 0
    assert google_emulator.http_calls == 0


def test_edit_patches_one_event_and_drafts_a_change_summary(cli, tmp_path: Path,
                                                             google_emulator, slept) -> None:
    config = google_config(tmp_path, google_emulator)
    path = tmp_path / "a.toml"
    path.write_text(example("website-relaunch").read_text())
    setup_cli(cli, config, path)
    google_emulator.reset_log()
    path.write_text(path.read_text().replace('time = "09:30"', 'time = "10:00"'))
    result = setup_cli(cli, config, path, "--notify", "external")
    assert result.exit_code == 0, result.output
    patches = [r for r in google_emulator.requests if r.method == "PATCH"]
    assert len(patches) == 1 and patches[0].query["sendUpdates"] == ["externalOnly"]
    assert view(google_emulator)["checkins"].sequence == 1
    subjects = sorted(str(m["Subject"]) for _, m in google_emulator.drafts())
    assert subjects == ["Changes to our designed alliance: Website relaunch",
                        "Our designed alliance: Website relaunch"]
    assert google_emulator.count("PUT", "/drafts/") == 1  # the kickoff draft, updated in place


def test_lost_state_creates_nothing_new(cli, tmp_path: Path, google_emulator, slept,
                                        state_file: Path) -> None:
    config = google_config(tmp_path, google_emulator)
    setup_cli(cli, config, example("website-relaunch"))
    before = view(google_emulator)
    state_file.unlink()
    google_emulator.reset_log()
    result = setup_cli(cli, config, example("website-relaunch"))
    assert result.exit_code == 0, result.output
    assert google_emulator.count("POST", "/events") == 0
    assert google_emulator.count("POST", "/drafts") == 0
    assert view(google_emulator) == before
    assert len(google_emulator.drafts()) == 1


def test_retry_after_is_honoured(config: Config, google_emulator, slept, tmp_path: Path
                                 ) -> None:
    google_emulator.faults.push(status=429, retry_after="7", path_contains="/batch")
    target = GoogleTarget(config, Options(out_dir=tmp_path))
    run(target, alliance_from(), State(tmp_path / "s.sqlite"))
    assert slept and slept[0] >= 7
    assert set(view(google_emulator)) == EVENT_KEYS


def test_a_slow_answer_times_out_and_is_retried(config: Config, google_emulator, slept,
                                                tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(GoogleTarget, "timeout", 0.5)
    google_emulator.faults.push(kind="slow", delay=1.5, path_contains="/events")
    target = GoogleTarget(config, Options(out_dir=tmp_path))
    run(target, alliance_from(), State(tmp_path / "s.sqlite"))
    assert {k: v.status for k, v in view(google_emulator).items()} == dict.fromkeys(
        EVENT_KEYS, "active")


@pytest.mark.parametrize("seed", range(100))
def test_seeded_faults_end_in_exactly_the_expected_state(seed: int, google_emulator, slept,
                                                         tmp_path: Path) -> None:
    config = load_config(google_config(tmp_path, google_emulator), explicit=True)
    google_emulator.faults.random(rate=0.2, seed=seed)
    state = State(tmp_path / "state.sqlite")
    alliance = alliance_from()
    rng = random.Random(seed)
    for _attempt in range(10):  # the documented recovery: run the same command again
        try:
            run(GoogleTarget(config, Options(out_dir=tmp_path)), alliance, state)
            break
        except Exception:
            if rng.random() < 0.5:
                state.close()
                state = State(tmp_path / f"lost-{_attempt}.sqlite")  # and sometimes lose state
    else:
        pytest.fail("did not converge in 10 runs")
    google_emulator.faults.clear()
    found = view(google_emulator)
    assert set(found) == EVENT_KEYS
    assert {v.status for v in found.values()} == {"active"}
    assert len(google_emulator.events()) == len(EVENT_KEYS)
    assert len(google_emulator.drafts()) == 1


def test_missing_section_or_credentials_is_one_line_exit_1(cli, tmp_path: Path,
                                                           google_emulator, state_file) -> None:
    result = cli("setup", example("household"), "--to", "google", "--yes")
    assert result.exit_code == 1
    assert "[google]" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    config = google_config(tmp_path, google_emulator, command=None)
    result = cli("--config", config, "setup", example("household"), "--to", "google", "--yes")
    assert result.exit_code == 1
    assert "alliance auth google" in result.stderr
    assert google_emulator.http_calls == 0
    assert not state_file.exists()


def test_revoked_token_says_run_auth(cli, tmp_path: Path, google_emulator, slept,
                                     state_file) -> None:
    google_emulator.revoked_tokens.add("test-token")
    config = google_config(tmp_path, google_emulator)
    result = cli("--config", config, "setup", example("household"), "--to", "google", "--yes")
    assert result.exit_code == 1
    assert "alliance auth google" in result.stderr
    assert "test-token" not in result.output
    assert google_emulator.events() == []


def test_emulator_rejects_unknown_fields_like_google(google_emulator) -> None:
    import google_auth_httplib2
    import httplib2
    from google.oauth2.credentials import Credentials
    from googleapiclient.discovery import build
    from googleapiclient.errors import HttpError

    http = google_auth_httplib2.AuthorizedHttp(Credentials(token="test-token"),
                                               http=httplib2.Http(timeout=5))
    service = build("calendar", "v3", http=http, static_discovery=True,
                    client_options={"api_endpoint": google_emulator.base_url + "calendar/v3/"})
    with pytest.raises(HttpError) as bad_field:
        service.events().insert(calendarId="primary", body={"summary": "x", "colour": 1}
                                ).execute()
    assert bad_field.value.resp.status == 400
    with pytest.raises(HttpError) as bad_type:
        service.events().insert(calendarId="primary", body={"summary": 42}).execute()
    assert bad_type.value.resp.status == 400
    made = service.events().insert(calendarId="primary",
                                   body={"id": "abcdef12345", "summary": "ok"}).execute()
    assert made["id"] == "abcdef12345"
    with pytest.raises(HttpError) as duplicate:
        service.events().insert(calendarId="primary", body={"id": "abcdef12345"}).execute()
    assert duplicate.value.resp.status == 409
