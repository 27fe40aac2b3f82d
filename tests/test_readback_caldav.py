"""Reading back from a real Radicale: PARTSTAT on the stored copy, RECURRENCE-ID overrides,
sync-collection for incremental reads, ETags for drift. The test acts as the members'
calendar apps by rewriting the stored objects over plain HTTP (urllib, not our client)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from .conftest import example
from .test_caldav_smtp import caldav_config

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def dav(tmp_path: Path, radicale, monkeypatch: pytest.MonkeyPatch, cli) -> tuple[Path, Path]:
    monkeypatch.setenv("ALLIANCE_TEST_DAV", radicale.password)
    config = caldav_config(tmp_path, radicale)
    path = tmp_path / "a.toml"
    # These tests were written for check-ins at 09:30 Berlin (the example now says 16:30).
    path.write_text(example("team-project").read_text().replace('time = "16:30"',
                                                                 'time = "09:30"'))
    result = cli("--config", config, "setup", path, "--to", "caldav", "--yes")
    assert result.exit_code == 0, result.output
    return config, path


def stored(radicale, key: str) -> tuple[str, icalendar.Calendar]:
    (found,) = [(name, cal) for name, cal in radicale.report().items()
                if any(str(c.get("X-DESIGNED-ALLIANCE-KEY")) == key for c in cal.walk("VEVENT"))]
    return found


def answer(component, email: str, partstat: str) -> None:
    for attendee in component.get("attendee"):
        if str(attendee).lower() == f"mailto:{email}":
            attendee.params["PARTSTAT"] = partstat
            return
    raise AssertionError(email)


def declined(master, day: int, email: str):
    """The override a calendar app stores when `email` declines the 2027-02-<day> one."""
    override = icalendar.Event()
    for prop in ("uid", "summary", "organizer", "x-designed-alliance-id",
                 "x-designed-alliance-key"):
        override[prop] = master[prop]
    moment = datetime(2027, 2, day, 9, 30, tzinfo=BERLIN)
    override.add("recurrence-id", moment)
    override.add("dtstart", moment)
    override.add("dtend", datetime(2027, 2, day, 9, 55, tzinfo=BERLIN))
    override.add("dtstamp", datetime(2027, 1, 1, tzinfo=ZoneInfo("UTC")))
    for attendee in master.get("attendee"):
        copy = icalendar.vCalAddress(str(attendee))
        copy.params.update(attendee.params)
        if str(attendee).lower() == f"mailto:{email}":
            copy.params["PARTSTAT"] = "DECLINED"
        override.add("attendee", copy)
    return override


def status(cli, config: Path, path: Path) -> dict:
    result = cli("--config", config, "status", path, "--to", "caldav", "--json",
                 "--on", "2027-03-01")
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def test_partstat_overrides_and_sync_collection(cli, dav, radicale) -> None:
    config, path = dav
    first = status(cli, config, path)
    got = {(r["key"], r["email"]): r["response"] for r in first["responses"]}
    assert got[("checkins", "mei@example.org")] == "needs-action"
    assert first["read"]["incremental"] is False and first["read"]["requests"] == 1
    name, cal = stored(radicale, "checkins")
    (master,) = cal.walk("VEVENT")
    answer(master, "tomas@example.org", "ACCEPTED")
    answer(master, "mei@example.org", "ACCEPTED")
    for day in (18, 25):  # Tomás's calendar app declines two Thursdays
        cal.add_component(declined(master, day, "tomas@example.org"))
    assert radicale.put(name, cal.to_ical()) in (201, 204)
    second = status(cli, config, path)
    assert second["read"]["incremental"] is True and second["read"]["requests"] <= 2
    got = {(r["key"], r["email"]): r["response"] for r in second["responses"]}
    assert got[("checkins", "tomas@example.org")] == "accepted"
    assert got[("review", "mei@example.org")] == "needs-action"  # unchanged: from the cache
    assert second["declined_occurrences"] == [
        {"key": "checkins", "email": "tomas@example.org", "start": "2027-02-18T09:30"},
        {"key": "checkins", "email": "tomas@example.org", "start": "2027-02-25T09:30"}]
    assert "Tomás declined 2 of the last 3 Thursday check-ins" in second["busters"]


def test_drift_by_etag(cli, dav, radicale) -> None:
    config, path = dav
    name, cal = stored(radicale, "checkins")
    (master,) = cal.walk("VEVENT")
    del master["dtstart"], master["dtend"]
    master.add("dtstart", datetime(2027, 2, 1, 10, 0, tzinfo=BERLIN))
    master.add("dtend", datetime(2027, 2, 1, 10, 25, tzinfo=BERLIN))
    assert radicale.put(name, cal.to_ical()) in (201, 204)
    result = cli("--config", config, "plan", path, "--to", "caldav", "--check-remote")
    assert result.exit_code == 0, result.stderr
    assert ("! changed in the calendar since last setup: checkins (start 09:30 → 10:00, "
            "end 09:55 → 10:25)") in result.stdout
    assert "review" not in result.stdout.split("changed in the calendar")[1]
    path.write_text(path.read_text().replace('duration = "25 minutes"',
                                             'duration = "30 minutes"'))
    refused = cli("--config", config, "setup", path, "--to", "caldav", "--yes")
    assert refused.exit_code == 1 and "--force" in refused.stderr
    _, now = stored(radicale, "checkins")
    assert now.walk("VEVENT")[0]["dtstart"].dt.hour == 10  # not overwritten


def test_overrides_and_exdate_survive_an_update_that_keeps_the_time(cli, dav, radicale
                                                                    ) -> None:
    config, path = dav
    name, cal = stored(radicale, "checkins")
    (master,) = cal.walk("VEVENT")
    cal.add_component(declined(master, 18, "mei@example.org"))
    master.add("exdate", datetime(2027, 2, 22, 9, 30, tzinfo=BERLIN))
    assert radicale.put(name, cal.to_ical()) in (201, 204)
    path.write_text(path.read_text().replace('"What shipped?"', '"What did we ship?"'))
    result = cli("--config", config, "setup", path, "--to", "caldav", "--yes")
    assert result.exit_code == 0, result.stderr
    _, now = stored(radicale, "checkins")
    events = now.walk("VEVENT")
    assert "What did we ship?" in str(events[0]["description"])  # our update is in …
    assert [e["recurrence-id"].dt for e in events[1:]] == [
        datetime(2027, 2, 18, 9, 30, tzinfo=BERLIN)]  # … and the override kept
    exdates = [d.dt for d in events[0]["exdate"].dts]
    assert exdates == [datetime(2027, 2, 22, 9, 30, tzinfo=BERLIN)]
    data = status(cli, config, path)
    assert data["declined_occurrences"] == [
        {"key": "checkins", "email": "mei@example.org", "start": "2027-02-18T09:30"}]
    path.write_text(path.read_text().replace('time = "09:30"', 'time = "10:00"'))
    plan = cli("--config", config, "plan", path, "--to", "caldav")
    assert "its new time drops 1 occurrence(s) changed in the calendar" in plan.stdout
    assert cli("--config", config, "setup", path, "--to", "caldav", "--yes").exit_code == 0
    _, moved = stored(radicale, "checkins")
    assert len(moved.walk("VEVENT")) == 1 and "exdate" not in moved.walk("VEVENT")[0]
