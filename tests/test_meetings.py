"""Meetings ready to join on the calendar services (issue 19): Google Meet and colorId,
Teams and categories on Outlook — through the real client code, against the emulators,
which check these fields the way Google and Microsoft do."""

from __future__ import annotations

from pathlib import Path

import pytest

from designed_alliance.integrations.google.target import GoogleTarget
from designed_alliance.integrations.outlook.target import OutlookTarget

from . import services
from .conftest import EXAMPLES
from .services import GOOGLE, OUTLOOK

BASE = (EXAMPLES / "website-relaunch.toml").read_text(encoding="utf-8")
MEET_KEYS = {"checkins", "review"}  # the review joins like the check-ins


@pytest.fixture(autouse=True)
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff and Meet polling waits are recorded, not slept."""
    waits: list[float] = []
    for target in (GoogleTarget, OutlookTarget):
        monkeypatch.setattr(target, "sleep", staticmethod(waits.append))
    return waits


def alliance_file(tmp_path: Path, video: str) -> Path:
    path = tmp_path / "a.toml"
    path.write_text(BASE.replace("[checkins]\n", f'[checkins]\nvideo = "{video}"\n'))
    return path


def setup(cli, config: Path, path: Path, to: str, *extra: str):
    return cli("--config", config, "setup", path, "--to", to, "--yes", *extra)


def event_writes(emulator, method: str) -> list:
    return [r for r in emulator.requests if r.method == method and "/events" in r.path
            and r.body is not None]


# -- Google -------------------------------------------------------------------------------------
def test_google_meet_is_asked_for_once_and_its_link_read_after_pending(
        cli, tmp_path: Path, google_emulator) -> None:
    google_emulator.pending_gets = 1  # the write answers "pending", so does the first get
    config = GOOGLE.config(tmp_path, google_emulator)
    path = alliance_file(tmp_path, "google-meet")
    result = setup(cli, config, path, "google")
    assert result.exit_code == 0, result.output
    inserts = event_writes(google_emulator, "POST")
    assert len(inserts) == 5
    assert all(r.query["conferenceDataVersion"] == ["1"] for r in inserts)
    asked = {r.body["extendedProperties"]["private"]["allianceKey"]:
             r.body["conferenceData"]["createRequest"] for r in inserts
             if "conferenceData" in r.body}
    assert set(asked) == MEET_KEYS
    assert {a["conferenceSolutionKey"]["type"] for a in asked.values()} == {"hangoutsMeet"}
    assert len({a["requestId"] for a in asked.values()}) == 2
    assert google_emulator.meetings_made == 2
    # Pending at first: the target asked again until Google had made the link.
    gets = [r for r in google_emulator.requests if r.method == "GET" and "/events/" in r.path]
    assert len(gets) == 4  # two meetings, each "pending" once more, then "success"
    events = services.google_events(google_emulator)
    links = {k: events[k]["conferenceData"]["entryPoints"][0]["uri"] for k in MEET_KEYS}
    assert all(link.startswith("https://meet.google.com/") for link in links.values())
    assert {k: events[k]["conferenceData"]["createRequest"]["status"]["statusCode"]
            for k in MEET_KEYS} == dict.fromkeys(MEET_KEYS, "success")
    assert "conferenceData" not in events["celebration"]

    # An edit patches the series without asking for a meeting again: the link stays.
    google_emulator.reset_log()
    path.write_text(path.read_text().replace('time = "09:30"', 'time = "10:00"'))
    assert setup(cli, config, path, "google").exit_code == 0
    patches = event_writes(google_emulator, "PATCH")
    assert patches and all(r.query["conferenceDataVersion"] == ["1"] for r in patches)
    assert all("conferenceData" not in r.body for r in patches)
    assert google_emulator.meetings_made == 2
    after = services.google_events(google_emulator)
    assert {k: after[k]["conferenceData"]["entryPoints"][0]["uri"] for k in MEET_KEYS} == links


def test_google_meet_survives_lost_state_and_goes_when_dropped(
        cli, tmp_path: Path, google_emulator, state_file: Path) -> None:
    config = GOOGLE.config(tmp_path, google_emulator)
    path = alliance_file(tmp_path, "google-meet")
    assert setup(cli, config, path, "google").exit_code == 0
    link = services.google_events(google_emulator)["checkins"]["hangoutLink"]
    state_file.unlink()  # rebuilt from the tagged events: they say a meeting exists
    path.write_text(path.read_text().replace('time = "09:30"', 'time = "10:00"'))
    assert setup(cli, config, path, "google").exit_code == 0
    assert google_emulator.meetings_made == 2
    assert services.google_events(google_emulator)["checkins"]["hangoutLink"] == link
    # No video any more: the meeting is removed (conferenceData null), not left dangling.
    path.write_text(path.read_text().replace('video = "google-meet"\n', ""))
    assert setup(cli, config, path, "google").exit_code == 0
    events = services.google_events(google_emulator)
    assert "conferenceData" not in events["checkins"] and "hangoutLink" not in events["checkins"]


def test_google_colours_by_kind_and_an_override(cli, tmp_path: Path, google_emulator) -> None:
    config = GOOGLE.config(tmp_path, google_emulator)
    path = tmp_path / "a.toml"
    path.write_text(BASE)
    assert setup(cli, config, path, "google").exit_code == 0
    events = services.google_events(google_emulator)
    ids = {k: e["colorId"] for k, e in events.items()}
    assert ids == {"checkins": "9", "review": "3", "commitment:design": "11",
                   "commitment:copy": "11", "celebration": "5"}
    path.write_text(BASE.replace("[checkins]\n", '[checkins]\ncolor = "seagreen"\n')
                    + '\n[colors]\ndeadlines = "orangered"\n')
    google_emulator.reset_log()
    assert setup(cli, config, path, "google").exit_code == 0
    patched = {r.body["extendedProperties"]["private"]["allianceKey"]: r.body["colorId"]
               for r in event_writes(google_emulator, "PATCH")}
    assert patched == {"checkins": "10", "commitment:design": "6", "commitment:copy": "6"}


def test_google_refuses_teams_before_anything_is_sent(cli, tmp_path: Path,
                                                      google_emulator) -> None:
    config = GOOGLE.config(tmp_path, google_emulator)
    result = setup(cli, config, alliance_file(tmp_path, "teams"), "google")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "checkins.video" in line and "--to outlook" in line
    assert google_emulator.events() == []


def test_google_emulator_drops_meetings_without_version_and_refuses_bad_colours(
        google_emulator) -> None:
    import google_auth_httplib2
    import httplib2
    from google.oauth2.credentials import Credentials
    from googleapiclient.discovery import build
    from googleapiclient.errors import HttpError

    http = google_auth_httplib2.AuthorizedHttp(Credentials(token="test-token"),
                                               http=httplib2.Http(timeout=5))
    calendar = build("calendar", "v3", http=http, static_discovery=True,
                     client_options={"api_endpoint": google_emulator.base_url + "calendar/v3/"})
    meet = {"createRequest": {"requestId": "r1",
                              "conferenceSolutionKey": {"type": "hangoutsMeet"}}}
    dropped = calendar.events().insert(calendarId="primary", body={
        "id": "abcde00001", "summary": "x", "conferenceData": meet}).execute()
    assert "conferenceData" not in dropped and google_emulator.meetings_made == 0
    made = calendar.events().insert(calendarId="primary", conferenceDataVersion=1, body={
        "id": "abcde00002", "summary": "x", "conferenceData": meet}).execute()
    assert made["conferenceData"]["createRequest"]["status"]["statusCode"] == "pending"
    again = calendar.events().get(calendarId="primary", eventId="abcde00002").execute()
    assert again["conferenceData"]["createRequest"]["status"]["statusCode"] == "success"
    for bad in ("0", "12", "red"):
        with pytest.raises(HttpError) as refused:
            calendar.events().insert(calendarId="primary",
                                     body={"summary": "x", "colorId": bad}).execute()
        assert refused.value.resp.status == 400
    with pytest.raises(HttpError) as wrong_kind:
        calendar.events().insert(calendarId="primary", conferenceDataVersion=1, body={
            "summary": "x", "conferenceData": {"createRequest": {
                "requestId": "r2", "conferenceSolutionKey": {"type": "teams"}}}}).execute()
    assert wrong_kind.value.resp.status == 400


# -- Outlook ------------------------------------------------------------------------------------
def test_teams_meetings_where_the_calendar_allows_them(cli, tmp_path: Path,
                                                       graph_emulator) -> None:
    config = OUTLOOK.config(tmp_path, graph_emulator)
    path = alliance_file(tmp_path, "teams")
    assert cli("--config", config, "plan", path, "--to", "outlook").exit_code == 0
    assert graph_emulator.http_calls == 0  # plan stays offline
    result = setup(cli, config, path, "outlook")
    assert result.exit_code == 0, result.output
    calendar_gets = [r for r in graph_emulator.requests if r.path == "/me/calendar"]
    assert len(calendar_gets) == 1
    events = services.graph_events(graph_emulator)
    for key in MEET_KEYS:
        assert events[key]["isOnlineMeeting"] is True
        assert events[key]["onlineMeetingProvider"] == "teamsForBusiness"
        assert events[key]["onlineMeeting"]["joinUrl"].startswith("https://teams.microsoft.com/")
    assert "isOnlineMeeting" not in events["celebration"]


def test_teams_refused_with_what_to_use_when_the_calendar_has_none(cli, tmp_path: Path,
                                                                   graph_emulator) -> None:
    graph_emulator.allowed_providers = ["skypeForConsumer"]  # a personal account
    config = OUTLOOK.config(tmp_path, graph_emulator)
    result = setup(cli, config, alliance_file(tmp_path, "teams"), "outlook")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "checkins.video" in line and "skypeForConsumer" in line and "URL" in line
    assert graph_emulator.events() == [] and graph_emulator.messages() == []
    assert graph_emulator.master_categories == []


def test_graph_emulator_refuses_a_provider_the_calendar_does_not_allow(graph_emulator) -> None:
    import requests

    graph_emulator.allowed_providers = ["skypeForConsumer"]
    answer = requests.post(graph_emulator.base_url + "me/events", timeout=5,
                           headers={"Authorization": "Bearer graph-token"},
                           json={"subject": "x", "isOnlineMeeting": True,
                                 "onlineMeetingProvider": "teamsForBusiness"})
    assert answer.status_code == 400
    assert graph_emulator.events() == []


def test_outlook_categories_are_made_once_and_found_again_by_name(
        cli, tmp_path: Path, graph_emulator, state_file: Path) -> None:
    # One made by hand before (another colour, other case): found by name, left as it is.
    graph_emulator.master_categories.append(
        {"id": "mine", "displayName": "designed alliance: REVIEWS", "color": "preset12"})
    config = OUTLOOK.config(tmp_path, graph_emulator)
    path = tmp_path / "a.toml"
    path.write_text(BASE)
    assert setup(cli, config, path, "outlook").exit_code == 0
    made = {c["displayName"]: c["color"] for c in graph_emulator.master_categories}
    assert made == {"designed alliance: REVIEWS": "preset12",
                    "Designed alliance: check-ins": "preset7",
                    "Designed alliance: deadlines": "preset9",
                    "Designed alliance: celebration": "preset3"}
    events = services.graph_events(graph_emulator)
    assert events["commitment:copy"]["categories"] == ["Designed alliance: deadlines"]
    assert events["review"]["categories"] == ["Designed alliance: reviews"]
    # A new colour makes its own category; a lost state and a re-run make none twice.
    path.write_text(BASE.replace("[checkins]\n", '[checkins]\ncolor = "tomato"\n'))
    state_file.unlink()
    assert setup(cli, config, path, "outlook").exit_code == 0
    names = [c["displayName"] for c in graph_emulator.master_categories]
    assert len(names) == len({n.lower() for n in names}) == 5
    assert "Designed alliance: check-ins (tomato)" in names
    assert services.graph_events(graph_emulator)["checkins"]["categories"] == [
        "Designed alliance: check-ins (tomato)"]


def test_outlook_refuses_google_meet(cli, tmp_path: Path, graph_emulator) -> None:
    config = OUTLOOK.config(tmp_path, graph_emulator)
    result = setup(cli, config, alliance_file(tmp_path, "google-meet"), "outlook")
    assert result.exit_code == 2
    assert "--to google" in result.stderr and graph_emulator.events() == []


def test_a_category_refused_for_now_is_made_on_the_retry(cli, tmp_path: Path, graph_emulator,
                                                         slept: list[float]) -> None:
    graph_emulator.faults.push(status=503, retry_after="3", method="POST",
                               path_contains="/masterCategories")
    # Made, then the whole batch's connection drops: the next round meets a 409.
    graph_emulator.faults.push(kind="drop_after_apply", method="POST",
                               path_contains="/masterCategories")
    config = OUTLOOK.config(tmp_path, graph_emulator)
    path = tmp_path / "a.toml"
    path.write_text(BASE)
    result = setup(cli, config, path, "outlook")
    assert result.exit_code == 0, result.output
    names = sorted(c["displayName"] for c in graph_emulator.master_categories)
    assert names == ["Designed alliance: celebration", "Designed alliance: check-ins",
                     "Designed alliance: deadlines", "Designed alliance: reviews"]
    assert slept  # waited before trying again
    assert sum(1 for r in graph_emulator.requests if r.batch_part and r.status == 409) >= 1


def test_a_teams_meeting_no_longer_wanted_is_turned_off_even_after_lost_state(
        cli, tmp_path: Path, graph_emulator, state_file: Path) -> None:
    config = OUTLOOK.config(tmp_path, graph_emulator)
    path = alliance_file(tmp_path, "teams")
    assert setup(cli, config, path, "outlook").exit_code == 0
    state_file.unlink()  # rebuilt from the tagged events, which say they are online meetings
    path.write_text(path.read_text().replace('video = "teams"\n', ""))
    assert setup(cli, config, path, "outlook").exit_code == 0
    events = services.graph_events(graph_emulator)
    for key in MEET_KEYS:
        assert events[key]["isOnlineMeeting"] is False and "onlineMeeting" not in events[key]
