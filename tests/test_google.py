"""The google target through the real googleapiclient, against the emulator over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from designed_alliance.core.config import Config
from designed_alliance.core.state import State
from designed_alliance.core.target import Options
from designed_alliance.integrations.google.target import GoogleTarget

from . import services
from .conftest import example
from .contract import (
    EVENT_KEYS,
    alliance_from,
    run,
)
from .services import GOOGLE
from .services import google_view as view

google_config, slept, config, setup_cli = services.module_helpers(GOOGLE)


def test_fresh_setup_is_one_list_one_batch_one_draft(cli, tmp_path: Path, google_emulator,
                                                     slept) -> None:
    services.fresh_setup(cli, GOOGLE, tmp_path, google_emulator, "website-relaunch")
    assert google_emulator.count("POST", "/events", batch_parts=True) == 5
    events = services.google_events(google_emulator)
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


def test_edit_patches_one_event_and_rewrites_the_unsent_kickoff(cli, tmp_path: Path,
                                                                google_emulator, slept) -> None:
    services.set_up_then_move_checkins(cli, GOOGLE, tmp_path, google_emulator, "website-relaunch",
                              "--notify", "external")
    patches = [r for r in google_emulator.requests if r.method == "PATCH"]
    assert len(patches) == 1 and patches[0].query["sendUpdates"] == ["externalOnly"]
    assert view(google_emulator)["checkins"].sequence == 1
    subjects = sorted(str(m["Subject"]) for _, m in google_emulator.drafts())
    assert subjects == ["Our designed alliance: Website relaunch"]  # no second draft
    assert google_emulator.count("PUT", "/drafts/") == 1  # the kickoff draft, updated in place






def test_a_slow_answer_times_out_and_is_retried(config: Config, google_emulator, slept,
                                                tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(GoogleTarget, "timeout", 0.5)
    google_emulator.faults.push(kind="slow", delay=1.5, path_contains="/events")
    target = GoogleTarget(config, Options(out_dir=tmp_path))
    run(target, alliance_from(), State(tmp_path / "s.sqlite"))
    assert {k: v.status for k, v in view(google_emulator).items()} == dict.fromkeys(
        EVENT_KEYS, "active")




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
