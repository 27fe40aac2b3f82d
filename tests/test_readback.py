"""Reading the calendar back: answers, declined occurrences and drift, against the Google
and Graph emulators (acting as the members) through the real client code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import example
from .services import Service, both_services

service, emulator = both_services()


@pytest.fixture(autouse=True)
def no_sleep(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service.target, "sleep", staticmethod(lambda seconds: None))


def set_up(cli, service: Service, tmp_path: Path, emulator, name: str = "team-project"
           ) -> tuple[Path, Path]:
    config = service.config(tmp_path, emulator)
    path = tmp_path / "a.toml"
    # These tests were written for check-ins at 09:30 Berlin (the example now says 16:30).
    path.write_text(example(name).read_text().replace('time = "16:30"', 'time = "09:30"'))
    result = cli("--config", config, "setup", path, "--to", service.name, "--yes")
    assert result.exit_code == 0, result.output
    return config, path


def status(cli, config: Path, path: Path, service: Service, *extra: str) -> dict:
    result = cli("--config", config, "status", path, "--to", service.name, "--json",
                 "--on", "2027-03-01", *extra)
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def answers(data: dict) -> dict[tuple[str, str], str]:
    return {(r["key"], r["email"]): r["response"] for r in data["responses"]}


def test_responses_fresh_then_incremental(cli, tmp_path: Path, service: Service,
                                          emulator) -> None:
    config, path = set_up(cli, service, tmp_path, emulator)
    emulator.respond("checkins", "tomas@example.org", "accepted")
    emulator.reset_log()
    first = status(cli, config, path, service)
    assert answers(first)[("checkins", "tomas@example.org")] == "accepted"
    assert answers(first)[("checkins", "mei@example.org")] == "needs-action"
    assert "lena@example.org" not in {r["email"] for r in first["responses"]}  # organizer
    assert "Mei has not answered the check-in series" in first["busters"]
    assert first["read"]["incremental"] is False
    fresh = emulator.http_calls
    emulator.respond("checkins", "mei@example.org", "tentative")
    emulator.reset_log()
    second = status(cli, config, path, service)
    assert second["read"]["incremental"] is True
    assert emulator.http_calls <= 2, emulator.requests
    assert answers(second)[("checkins", "mei@example.org")] == "tentative"
    assert answers(second)[("checkins", "tomas@example.org")] == "accepted"  # from the cache
    print(f"{service.name}: fresh {fresh} request(s), incremental {emulator.http_calls}")


def test_declined_occurrences_and_an_expired_token(cli, tmp_path: Path, service: Service,
                                                   emulator) -> None:
    config, path = set_up(cli, service, tmp_path, emulator)
    first = status(cli, config, path, service)  # a token is stored
    assert first["declined_occurrences"] == []
    occurrences = emulator.occurrences("checkins")
    assert occurrences[:2] == ["2027-02-01T09:30", "2027-02-04T09:30"]
    for email in ("tomas@example.org", "mei@example.org"):
        emulator.respond("checkins", email, "accepted")
    emulator.respond_occurrence("checkins", "2027-02-18T09:30", "tomas@example.org",
                                "declined")
    emulator.respond_occurrence("checkins", "2027-02-25T09:30", "tomas@example.org",
                                "declined")
    emulator.cancel_occurrence("checkins", "2027-02-22T09:30")  # the organizer's, not a decline
    emulator.reset_log()
    data = status(cli, config, path, service)
    assert data["read"]["incremental"] is True and emulator.http_calls <= 2
    assert data["declined_occurrences"] == [
        {"key": "checkins", "email": "tomas@example.org", "start": "2027-02-18T09:30"},
        {"key": "checkins", "email": "tomas@example.org", "start": "2027-02-25T09:30"}]
    assert answers(data)[("checkins", "tomas@example.org")] == "accepted"
    assert "Tomás declined 2 of the last 3 Thursday check-ins" in data["busters"]
    emulator.expire_sync_tokens()
    emulator.reset_log()
    again = status(cli, config, path, service)  # 410 GONE: read everything again
    assert again["read"]["incremental"] is False
    assert next(r.status for r in emulator.requests if not r.batch_part) == 410
    assert again["declined_occurrences"] == data["declined_occurrences"]
    assert answers(again) == answers(data)


def test_agreed_by_everyone_once_all_accepted(cli, tmp_path: Path, service: Service,
                                              emulator) -> None:
    config, path = set_up(cli, service, tmp_path, emulator)
    for key in ("checkins", "review"):
        for email in ("tomas@example.org", "mei@example.org"):
            emulator.respond(key, email, "accepted")
    data = status(cli, config, path, service)
    assert "the alliance is agreed by everyone" in data["busters"]
    assert not any("has not answered" in b for b in data["busters"])
    emulator.respond("review", "mei@example.org", "declined")
    text = cli("--config", config, "status", path, "--to", service.name, "--on", "2027-03-01")
    assert text.exit_code == 0
    assert "Mei declined the alliance review" in text.stdout
    assert "agreed by everyone" not in text.stdout
    rows = [line.split() for line in text.stdout.split("Responses (")[1].splitlines()[1:5]]
    assert ["checkins", "Tomás", "Ferreira", "accepted"] in rows


def test_status_without_to_stays_offline(cli, tmp_path: Path, service: Service,
                                         emulator) -> None:
    config, path = set_up(cli, service, tmp_path, emulator)
    emulator.reset_log()
    result = cli("--config", config, "status", path, "--json", "--on", "2027-03-01")
    assert result.exit_code == 0 and emulator.http_calls == 0
    assert "responses" not in json.loads(result.stdout)


def test_status_before_setup_says_run_setup(cli, tmp_path: Path, service: Service,
                                            emulator) -> None:
    config = service.config(tmp_path, emulator)
    result = cli("--config", config, "status", example("team-project"), "--to", service.name)
    assert result.exit_code == 1 and "alliance setup" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert emulator.http_calls == 1  # one look for tagged events (a lost state), no more


def plan_remote(cli, config: Path, path: Path, service: Service) -> tuple[str, dict]:
    text = cli("--config", config, "plan", path, "--to", service.name, "--check-remote")
    assert text.exit_code == 0, text.output + text.stderr
    data = cli("--config", config, "plan", path, "--to", service.name, "--check-remote",
               "--json")
    assert data.exit_code == 0, data.stderr
    (part,) = json.loads(data.stdout)["targets"]
    return text.stdout, part


def test_drift_is_shown_refused_and_forced(cli, tmp_path: Path, service: Service,
                                           emulator) -> None:
    config, path = set_up(cli, service, tmp_path, emulator)
    emulator.respond("checkins", "mei@example.org", "accepted")  # an answer is no drift
    emulator.respond("review", "mei@example.org", "declined")
    emulator.move_series("checkins", "2027-02-01T10:00")
    emulator.delete("commitment:design")
    emulator.reset_log()
    offline = cli("--config", config, "plan", path, "--to", service.name, "--json")
    assert emulator.http_calls == 0 and "drift" not in json.loads(offline.stdout)["targets"][0]
    text, part = plan_remote(cli, config, path, service)
    assert emulator.http_calls == 2  # one list read per plan
    assert ("! changed in the calendar since last setup: checkins (start 09:30 → 10:00, "
            "end 09:55 → 10:25)") in text
    assert {d["key"]: d["deleted"] for d in part["drift"]} == {"checkins": False,
                                                               "commitment:design": True}
    # An edit of the alliance that would overwrite the moved series is refused ...
    path.write_text(path.read_text().replace('duration = "25 minutes"',
                                             'duration = "30 minutes"'))
    emulator.reset_log()
    refused = cli("--config", config, "setup", path, "--to", service.name, "--yes")
    assert refused.exit_code == 1
    assert "checkins" in refused.stderr and "--force" in refused.stderr
    assert "edit the alliance file" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not [r for r in emulator.requests if r.method in ("POST", "PATCH", "PUT")
                and "calendarView" not in r.path]
    assert services_start(service, emulator, "checkins") == "2027-02-01T10:00"
    # ... and written with --force, after which the calendar is what we wrote.
    forced = cli("--config", config, "setup", path, "--to", service.name, "--yes", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert services_start(service, emulator, "checkins") == "2027-02-01T09:30"
    _, part = plan_remote(cli, config, path, service)
    assert [d["key"] for d in part["drift"]] == ["commitment:design"]  # kept, not remade


def test_editing_the_file_to_match_the_calendar_goes_ahead(cli, tmp_path: Path,
                                                           service: Service, emulator) -> None:
    config, path = set_up(cli, service, tmp_path, emulator)
    emulator.move_series("checkins", "2027-02-01T10:00")
    path.write_text(path.read_text().replace('time = "09:30"', 'time = "10:00"'))
    result = cli("--config", config, "setup", path, "--to", service.name, "--yes")
    assert result.exit_code == 0, result.stderr
    assert "changed in the calendar since last setup: checkins" in result.stdout
    _, part = plan_remote(cli, config, path, service)
    assert part["drift"] == []


def services_start(service: Service, emulator, key: str) -> str:
    return emulator.find(key)["start"]["dateTime"][:16]


def test_exceptions_survive_an_update_that_keeps_the_series_time(cli, tmp_path: Path,
                                                                 service: Service,
                                                                 emulator) -> None:
    config, path = set_up(cli, service, tmp_path, emulator)
    emulator.respond_occurrence("checkins", "2027-02-18T09:30", "tomas@example.org",
                                "declined")
    emulator.move_occurrence("checkins", "2027-02-22T09:30", "2027-02-22T11:00")
    status(cli, config, path, service)
    path.write_text(path.read_text().replace('"What shipped?"', '"What did we ship?"'))
    result = cli("--config", config, "setup", path, "--to", service.name, "--yes")
    assert result.exit_code == 0, result.stderr
    assert "drops" not in result.stdout
    assert emulator.count("PATCH") == 1  # the check-ins agenda changed: our PATCH …
    data = status(cli, config, path, service)  # … kept both exceptions
    assert data["declined_occurrences"] == [
        {"key": "checkins", "email": "tomas@example.org", "start": "2027-02-18T09:30"}]
    # A new time for the whole series would drop them: plan says which, offline.
    path.write_text(path.read_text().replace('time = "09:30"', 'time = "10:00"'))
    emulator.reset_log()
    plan = cli("--config", config, "plan", path, "--to", service.name)
    assert plan.exit_code == 0 and emulator.http_calls == 0
    assert ("checkins: its new time drops 2 occurrence(s) changed in the calendar "
            "(2027-02-18 09:30, 2027-02-22 09:30; as of the last status --to)") in plan.stdout


def test_status_after_a_lost_state_reads_from_the_adopted_records(cli, tmp_path: Path,
                                                                  service: Service, emulator,
                                                                  state_file: Path) -> None:
    config, path = set_up(cli, service, tmp_path, emulator)
    emulator.respond("checkins", "mei@example.org", "accepted")
    state_file.unlink()
    assert cli("--config", config, "setup", path, "--to", service.name, "--yes").exit_code == 0
    data = status(cli, config, path, service)  # records rebuilt from tags: thin summaries
    assert answers(data)[("checkins", "mei@example.org")] == "accepted"
    assert answers(data)[("checkins", "tomas@example.org")] == "needs-action"


@pytest.mark.parametrize(("to", "code", "words"), [
    ("ics", 1, "cannot read responses back"), ("google,outlook", 2, "one calendar at a time"),
    ("nosuch", 2, "unknown target")])
def test_status_to_what_cannot_answer_is_one_line(cli, tmp_path: Path, to: str, code: int,
                                                  words: str, service: Service,
                                                  emulator) -> None:
    config, path = set_up(cli, service, tmp_path, emulator)
    if to == "ics":
        assert cli("--config", config, "setup", path, "--to", "ics").exit_code == 0
    result = cli("--config", config, "status", path, "--to", to)
    assert result.exit_code == code, result.output
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1
