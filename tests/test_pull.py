"""`alliance pull`: calendar edits brought back into the alliance file.

The mapping and the text edits are tested without a service (core/pull.py,
core/tomledit.py); the command against the Google and Graph emulators (acting as the
organizer in the calendar app) and a real Radicale. Every written file is read back with
tomllib, a parser other than the editor that wrote it.
"""

from __future__ import annotations

import json
import tomllib
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from designed_alliance.core.errors import AllianceError, NeedsForce
from designed_alliance.core.load import loads
from designed_alliance.core.plan import Action, Change, Plan, TargetPlan
from designed_alliance.core.pull import plan_pull
from designed_alliance.core.run import check_no_overwrite, describe_drift
from designed_alliance.core.schedule import schedule
from designed_alliance.core.state import Record
from designed_alliance.core.target import RemoteVersion
from designed_alliance.core.tomledit import Assign, apply, check_edits

from .conftest import example
from .services import Service, both_services

service, emulator = both_services()
BERLIN = ZoneInfo("Europe/Berlin")

SMALL = """\
# Our little alliance — comments must survive a pull
[alliance]
id = "pull-test-1"   # never change this
title = 'Pull test'
timezone = "Europe/Berlin"
starts = 2027-02-01
deadline = 2027-04-30

[goal]
statement = "Test pulling"

[[members]]
id = "ana"
name = "Ana"
email = "ana@example.org"

[[members]]
id = "ben"
name = "Ben"
email = "ben@example.org"

[[commitments]]
id = "design"
owner = "ana"
what = "Designs"
due = 2027-02-19          # hard

[[commitments]]
id = "build"
owner = "ben"
what = "Build"
after = "design"
takes = "2 weeks"

[checkins]
every = "week"
day = 'monday'            # literal string: stays literal
time = "15:45"
duration = "30 minutes"
questions = [
  "What moved?",  # first
  "What is in the way?",
]

[review]
every = "4 weeks"

[celebration]
how = "Dinner"
time = "18:00"
"""


def records_for(text: str) -> dict[str, Record]:
    """What setup would have recorded for this text (each with a version marker)."""
    alliance = loads(text, "a.toml")
    return {e.key: Record(e.key, f"id-{e.key}", e.fingerprint, 0, "active",
                          {**e.summary, "version": "v1"}) for e in schedule(alliance)}


def remote(record: Record, **changes: str) -> RemoteVersion:
    """The record as a calendar reports it, with `changes` made there."""
    def wall(value: object) -> str:
        text = str(value or "")
        return text[:16] if "T" in text else text[:10]

    fields = {"title": str(record.summary["title"]), "start": wall(record.summary["start"]),
              "end": wall(record.summary["end"]), "rrule": str(record.summary["rrule"] or ""),
              "location": str(record.summary["location"])}
    return RemoteVersion(record.key, "v2", fields={**fields, **changes})


# -- the text editor -------------------------------------------------------------------------

def test_edits_keep_comments_quoting_and_line_endings() -> None:
    text = SMALL.replace("\n", "\r\n")
    assigns = [Assign("checkins.time", time(10, 0)), Assign("checkins.day", "tuesday"),
               Assign("checkins.where", "Room 4"), Assign("commitments[0].due",
                                                          date(2027, 2, 26))]
    new, written = apply(text, assigns)
    check_edits(text, new, assigns, written)
    data = tomllib.loads(new)
    assert data["checkins"]["time"] == "10:00"
    assert data["checkins"]["day"] == "tuesday"
    assert data["checkins"]["where"] == "Room 4"
    assert data["commitments"][0]["due"] == date(2027, 2, 26)  # still a TOML date
    assert "day = 'tuesday'            # literal string: stays literal\r\n" in new
    assert 'due = 2027-02-26          # hard\r\n' in new
    assert "\n" not in new.replace("\r\n", "")  # every line ending still CRLF
    # Everything else byte for byte: only the three values changed, one line was added.
    old_lines, new_lines = text.splitlines(keepends=True), new.splitlines(keepends=True)
    assert len(new_lines) == len(old_lines) + 1
    changed = [(a, b) for a, b in zip(old_lines, [line for line in new_lines
                                                  if not line.startswith("where")],
                                      strict=True) if a != b]
    assert len(changed) == 3
    assert new_lines.index('where = "Room 4"\r\n') == new_lines.index("]\r\n") + 1


def test_a_list_stays_a_list_and_a_word_makes_way_for_a_date() -> None:
    text = SMALL.replace("day = 'monday'", "day = ['monday']").replace(
        'how = "Dinner"', 'how = "Dinner"\non = "deadline"')
    assigns = [Assign("checkins.day", "tuesday"), Assign("celebration.on", date(2027, 4, 2))]
    new, written = apply(text, assigns)
    check_edits(text, new, assigns, written)
    assert written == ["['tuesday']", "2027-04-02"]
    data = tomllib.loads(new)
    assert data["checkins"]["day"] == ["tuesday"]
    assert data["celebration"]["on"] == date(2027, 4, 2)


def test_a_key_written_in_an_inline_table_is_not_guessed_at() -> None:
    text = 'review = { every = "4 weeks" }\n' + SMALL.replace('[review]\nevery = "4 weeks"\n',
                                                             "")
    assert tomllib.loads(text)["review"] == {"every": "4 weeks"}
    with pytest.raises(ValueError, match="inline"):
        apply(text, [Assign("review.time", time(16, 0))])


# -- the mapping -----------------------------------------------------------------------------

def test_moved_checkins_map_to_time_duration_day_and_where() -> None:
    alliance = loads(SMALL, "a.toml")
    records = records_for(SMALL)
    checkins = records["checkins"]
    rule = str(checkins.summary["rrule"]).replace("BYDAY=MO", "BYDAY=TU")
    moved = remote(checkins, start="2027-02-02T10:00", end="2027-02-02T10:45", rrule=rule,
                   location="Room 4")
    result = plan_pull(alliance, SMALL, [(checkins, moved)])
    assert {e.path: e.value for e in result.edits} == {
        "checkins.time": time(10, 0), "checkins.duration": "45 minutes",
        "checkins.day": "tuesday", "checkins.where": "Room 4",
        # It used to follow the check-ins (16:00 collided with them); the calendar left
        # the review where it was, so the file now says so.
        "review.time": time(16, 15)}
    assert result.left == () and result.adopted == ("checkins",)
    data = tomllib.loads(result.text)
    assert data["checkins"] == {**tomllib.loads(SMALL)["checkins"], "time": "10:00",
                                "duration": "45 minutes", "day": "tuesday",
                                "where": "Room 4"}
    assert data["review"] == {"every": "4 weeks", "time": "16:15"}
    assert "# Our little alliance — comments must survive a pull\n" in result.text
    event = result.events["checkins"]
    assert event.start == datetime(2027, 2, 2, 10, 0, tzinfo=BERLIN)
    assert result.events["review"].start.time() == time(16, 15)
    # The review keeps to check-in days and place: it moves to Tuesdays and to the room too,
    # and the pull says so.
    assert [line.split(":")[0] for line in result.also] == ["review moves with them",
                                                            "review meets there too"]


def test_a_record_written_in_another_zone_is_read_in_the_alliance_zone() -> None:
    # Set up while the alliance said London; the file says Berlin now.
    alliance = loads(SMALL, "a.toml")
    checkins = records_for(SMALL)["checkins"]
    london = Record("checkins", "x", "fp", 0, "active",
                    {**checkins.summary, "timezone": "Europe/London",
                     "start": "2027-02-01T14:45:00+00:00", "end": "2027-02-01T15:15:00+00:00"})
    moved = remote(london, start="2027-02-01T09:00", end="2027-02-01T09:30")
    result = plan_pull(alliance, SMALL, [(london, moved)])
    assert {e.path: e.value for e in result.edits} == {"checkins.time": time(10, 0),
                                                       "review.time": time(16, 15)}
    assert result.left == () and result.adopted == ("checkins",)


def test_dates_map_to_hard_dues_and_the_celebration_only() -> None:
    alliance = loads(SMALL, "a.toml")
    records = records_for(SMALL)
    design, build = records["commitment:design"], records["commitment:build"]
    party = records["celebration"]
    result = plan_pull(alliance, SMALL, [
        (design, remote(design, start="2027-02-26", end="2027-02-27")),
        (build, remote(build, start="2027-03-19", end="2027-03-20")),
        (party, remote(party, start="2027-04-29T19:00", end="2027-04-29T22:00",
                       location="Lupa")),
        (records["review"], remote(records["review"], title="Retro")),
        (records["checkins"], RemoteVersion("checkins", "v2", deleted=True)),
    ], exceptions={"checkins": ["2027-02-08T15:45"]})
    assert {e.path: e.value for e in result.edits} == {
        "commitments[0].due": date(2027, 2, 26), "celebration.on": date(2027, 4, 29),
        "celebration.time": time(19, 0), "celebration.duration": "3 hours",
        "celebration.where": "Lupa"}
    left = "\n".join(result.left)
    assert "commitment:build: moved to 2027-03-19, but its date follows design" in left
    assert left.count("commitment:build") == 1  # said once
    assert "review: title 'Pull test: alliance review' → 'Retro'" in left
    assert "checkins: deleted in the calendar" in left
    assert "checkins: the occurrence of 2027-02-08 15:45 was changed on its own" in left
    assert set(result.adopted) == {"commitment:design", "celebration"}
    data = tomllib.loads(result.text)
    assert data["celebration"] == {"how": "Dinner", "time": "19:00", "on": date(2027, 4, 29),
                                   "duration": "3 hours", "where": "Lupa"}


def test_a_value_the_loader_refuses_writes_nothing() -> None:
    alliance = loads(SMALL, "a.toml")
    checkins = records_for(SMALL)["checkins"]
    long = remote(checkins, end="2027-02-09T15:45")  # eight days long
    with pytest.raises(AllianceError, match="do not make a valid alliance file"):
        plan_pull(alliance, SMALL, [(checkins, long)])


def test_drift_compares_the_place_but_not_in_old_records() -> None:
    checkins = records_for(SMALL)["checkins"]
    drift = describe_drift(checkins, remote(checkins, location="Room 4"))
    assert drift is not None and drift.what == "location '' → 'Room 4'"
    old = Record("checkins", "x", "fp", 0, "active",
                 {k: v for k, v in checkins.summary.items() if k != "location"})
    assert describe_drift(old, remote(checkins, location="Room 4")) is None
    # Graph keeps a series' end as a date of its own (its last occurrence's, "until"): a
    # rule read back without UNTIL is then ours.
    rule = ";".join(p for p in str(checkins.summary["rrule"]).split(";")
                    if not p.startswith("UNTIL"))
    assert describe_drift(checkins, remote(checkins, rrule=rule, until="2027-04-26")) is None


def test_setup_may_change_what_the_calendar_left_alone() -> None:
    checkins = records_for(SMALL)["checkins"]
    drift = describe_drift(checkins, remote(checkins, start="2027-02-01T10:00",
                                            end="2027-02-01T10:30"))
    assert drift is not None

    def plan_for(text: str) -> Plan:
        event = next(e for e in schedule(loads(text, "a.toml")) if e.key == "checkins")
        change = Change(Action.UPDATE, "checkins", event, checkins, 1)
        return Plan("a", "A", (TargetPlan("google", "google:primary", (change,),
                                          drift=(drift,)),))

    matched = SMALL.replace('time = "15:45"', 'time = "10:00"')
    # The calendar's new time, and a room the calendar never had a say in: goes ahead.
    check_no_overwrite(plan_for(matched.replace('duration = "30 minutes"',
                                                'duration = "30 minutes"\nwhere = "R9"')),
                       force=False)
    with pytest.raises(NeedsForce, match="--force"):
        check_no_overwrite(plan_for(SMALL.replace('time = "15:45"', 'time = "11:00"')),
                           force=False)


# -- the series' end (UNTIL, Graph's range.endDate) -------------------------------------------

def _until(rule: str, until: str) -> str:
    return ";".join([*(p for p in rule.split(";") if not p.startswith("UNTIL=")),
                     f"UNTIL={until}"])


def test_a_series_end_moved_in_the_calendar_is_drift_but_its_spelling_is_not() -> None:
    record = records_for(SMALL)["checkins"]  # Mondays to 2027-04-30 (last one: the 26th)
    rule = str(record.summary["rrule"])
    assert "UNTIL=20270430T215959Z" in rule
    # Providers rewrite UNTIL's time part and zone: the same local day, or a day with the
    # same last occurrence (Graph keeps that one's date), is no drift.
    for same in ({"rrule": _until(rule, "20270430")},
                 {"rrule": _until(rule, "20270430T235959Z")},  # 05-01 01:59 in Berlin
                 {"rrule": rule.replace(";UNTIL=20270430T215959Z", ""), "until": "2027-04-26"}):
        assert describe_drift(record, remote(record, **same)) is None, same
    moved = describe_drift(record, remote(record, rrule=_until(rule, "20270331T215959Z")))
    assert moved is not None and moved.what == "until 2027-04-30 → 2027-03-31"
    graph = describe_drift(record, remote(record, rrule=rule.split(";UNTIL")[0],
                                          until="2027-03-29"))
    assert graph is not None and graph.what == "until 2027-04-30 → 2027-03-29"
    endless = describe_drift(record, remote(record, rrule=rule.split(";UNTIL")[0], until=""))
    assert endless is not None and endless.what == "until 2027-04-30 → never"


def test_a_series_end_maps_to_the_rules_until_or_names_the_deadline() -> None:
    own = SMALL.replace("every = \"week\"\nday = 'monday'",
                        'rrule = "FREQ=WEEKLY;BYDAY=MO"')
    assert own != SMALL
    record = records_for(own)["checkins"]
    rule = str(record.summary["rrule"])
    pulled = plan_pull(loads(own, "a.toml"), own,
                       [(record, remote(record, rrule=_until(rule, "20270331T215959Z")))])
    data = tomllib.loads(pulled.text)
    # A local date, as the loader takes a rule's own UNTIL (a UTC one it refuses).
    assert data["checkins"]["rrule"] == "FREQ=WEEKLY;BYDAY=MO;UNTIL=20270331"
    assert data["alliance"]["deadline"] == date(2027, 4, 30)  # the alliance still ends then
    assert pulled.adopted == ("checkins",) and not pulled.left
    assert [e.because for e in pulled.edits] == ["checkins: until 2027-04-30 → 2027-03-31"]
    # A local date and time of the user's own stays one.
    dated = own.replace('BYDAY=MO"', 'BYDAY=MO;UNTIL=20270425T120000"')
    record = records_for(dated)["checkins"]
    pulled = plan_pull(loads(dated, "a.toml"), dated,
                       [(record, remote(record, rrule=_until(str(record.summary["rrule"]),
                                                             "20270320")))])
    assert tomllib.loads(pulled.text)["checkins"]["rrule"] == (
        "FREQ=WEEKLY;BYDAY=MO;UNTIL=20270320T235959")
    # `every` + `day` run to the deadline: listed, with the keys to edit, nothing written.
    record = records_for(SMALL)["checkins"]
    pulled = plan_pull(loads(SMALL, "a.toml"), SMALL,
                       [(record, remote(record, rrule=_until(str(record.summary["rrule"]),
                                                             "20270331T215959Z")))])
    assert pulled.text == SMALL and not pulled.edits
    (left,) = pulled.left
    assert left.startswith("checkins: until 2027-04-30 → 2027-03-31 in the calendar")
    assert "alliance.deadline" in left and "checkins.rrule" in left


@pytest.mark.parametrize("rule", ["FREQ=WEEKLY;BYDAY=MO,TH", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
                                  "FREQ=MONTHLY;BYDAY=1MO", "FREQ=MONTHLY;BYMONTHDAY=1",
                                  "FREQ=DAILY"])
def test_graph_patterns_read_back_as_the_rule_they_came_from(rule: str) -> None:
    from designed_alliance.integrations.outlook.recurrence import (
        from_patterned_recurrence,
        to_patterned_recurrence,
    )

    start = datetime(2027, 2, 1, 9, 30)  # a Monday, the 1st: an occurrence of each rule
    back = from_patterned_recurrence(to_patterned_recurrence(f"{rule};UNTIL=20270430T215959Z",
                                                             start, "Europe/Berlin"))
    assert sorted(back.split(";")) == sorted(rule.split(";"))


# -- the command against the services ---------------------------------------------------------

@pytest.fixture
def no_sleep(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry waits are not slept (and each test using it runs against both services)."""
    monkeypatch.setattr(service.target, "sleep", staticmethod(lambda seconds: None))


SERVICE_TEST = pytest.mark.usefixtures("no_sleep")


def set_up(cli, service: Service, tmp_path: Path, emulator) -> tuple[Path, Path]:
    config = service.config(tmp_path, emulator)
    path = tmp_path / "a.toml"
    # Check-ins at 09:30 Berlin, as the read-back tests have them.
    path.write_text(example("team-project").read_text().replace('time = "16:30"',
                                                                 'time = "09:30"'))
    result = cli("--config", config, "setup", path, "--to", service.name, "--yes")
    assert result.exit_code == 0, result.output
    return config, path


def move_and_relocate(service: Service, emulator) -> None:
    """The organizer drags the series to 10:00 and gives it a room, in the calendar app."""
    emulator.move_series("checkins", "2027-02-01T10:00")
    if service.name == "google":
        emulator.edit("checkins", location="Room 4")
    else:
        emulator.edit("checkins", location={"displayName": "Room 4"})


def remote_place(service: Service, emulator) -> tuple[str, str]:
    event = emulator.find("checkins")
    where = event["location"] if service.name == "google" else event["location"]["displayName"]
    return event["start"]["dateTime"][:16], where


def moved_occurrences(service: Service, emulator) -> int:
    event = emulator.find("checkins")
    if service.name == "google":
        return len(emulator.exceptions(event["id"]))
    return len(emulator.overrides.get(event["id"], {}))


def plan_part(cli, config: Path, path: Path, service: Service) -> dict:
    result = cli("--config", config, "plan", path, "--to", service.name, "--check-remote",
                 "--json")
    assert result.exit_code == 0, result.stderr
    (part,) = json.loads(result.stdout)["targets"]
    return part


@SERVICE_TEST
def test_pull_brings_the_moved_checkins_back_and_setup_goes_ahead(
        cli, tmp_path: Path, service: Service, emulator) -> None:
    config, path = set_up(cli, service, tmp_path, emulator)
    before = path.read_bytes()
    move_and_relocate(service, emulator)
    emulator.move_occurrence("checkins", "2027-02-22T10:00", "2027-02-22T11:00")
    emulator.reset_log()
    result = cli("--config", config, "pull", path, "--to", service.name, "--yes")
    assert result.exit_code == 0, result.stderr
    # One list read of the objects (as plan --check-remote), one of single occurrences.
    assert emulator.http_calls == 2, emulator.requests
    assert '-time = "09:30"\n+time = "10:00"' in result.stdout  # the diff it showed
    # Exactly those two values changed, byte for byte; every comment is still there.
    want = before.decode().replace('time = "09:30"', 'time = "10:00"').replace(
        'where = "https://meet.example.org/beta"', 'where = "Room 4"')
    assert path.read_bytes() == want.encode()
    for line in before.decode().splitlines():
        if line.startswith("#"):
            assert line in path.read_text().splitlines()
    data, old = tomllib.loads(path.read_text()), tomllib.loads(before.decode())
    assert data["checkins"]["time"] == "10:00" and data["checkins"]["where"] == "Room 4"
    old["checkins"].update(time="10:00", where="Room 4")
    assert data == old
    # Nothing to fight: no drift, and the series is updated once, at the calendar's time,
    # so the members are told (SEQUENCE + 1, the kickoff draft rewritten).
    part = plan_part(cli, config, path, service)
    assert part["drift"] == []
    actions = {c["key"]: c["action"] for c in part["changes"]}
    assert actions["checkins"] == "update" and actions["kickoff"] == "update"
    assert not any("drops" in note for note in part["notes"])  # the time is the calendar's
    setup = cli("--config", config, "setup", path, "--to", service.name, "--yes")
    assert setup.exit_code == 0, setup.stderr
    assert remote_place(service, emulator) == ("2027-02-01T10:00", "Room 4")
    assert moved_occurrences(service, emulator) == 1  # the update kept the moved one
    part = plan_part(cli, config, path, service)
    assert part["drift"] == [] and part["counts"]["update"] == 0
    again = cli("--config", config, "pull", path, "--to", service.name, "--yes")
    assert again.exit_code == 0 and "---" not in again.stdout  # nothing more to bring back
    assert "the occurrence of 2027-02-22 10:00 was changed on its own" in again.stdout


@SERVICE_TEST
def test_new_checkin_days_are_brought_back(cli, tmp_path: Path, service: Service,
                                           emulator) -> None:
    config, path = set_up(cli, service, tmp_path, emulator)
    # The organizer makes the series Tuesdays and Fridays, starting on Tuesday.
    event = emulator.find("checkins")
    if service.name == "google":
        rule = event["recurrence"][0].replace("BYDAY=MO,TH", "BYDAY=TU,FR")
        assert rule != event["recurrence"][0]
        emulator.edit("checkins", recurrence=[rule])
    else:
        recurrence = json.loads(json.dumps(event["recurrence"]))
        recurrence["pattern"]["daysOfWeek"] = ["tuesday", "friday"]
        emulator.edit("checkins", recurrence=recurrence)
    emulator.move_series("checkins", "2027-02-02T09:30")
    result = cli("--config", config, "pull", path, "--to", service.name, "--yes")
    assert result.exit_code == 0, result.stderr
    assert tomllib.loads(path.read_text())["checkins"]["day"] == ["tuesday", "friday"]
    assert 'day = ["tuesday", "friday"]\n' in path.read_text()
    assert "note: review moves with them" in result.stdout  # it keeps to check-in days
    assert plan_part(cli, config, path, service)["drift"] == []
    setup = cli("--config", config, "setup", path, "--to", service.name, "--yes")
    assert setup.exit_code == 0, setup.stderr
    again = cli("--config", config, "pull", path, "--to", service.name, "--yes")
    assert again.exit_code == 0, again.stderr
    assert again.stdout.startswith("Nothing was changed in the")


def end_series(service: Service, emulator, day: str) -> None:
    """The organizer sets the series' end date in the calendar app ("ends on" `day`)."""
    event = emulator.find("checkins")
    if service.name == "google":
        # Google writes the day's end in UTC, not the alliance's zone: 23:59:59Z is already
        # the next day in Berlin; only the local date of what we compare must count.
        rule = _until(event["recurrence"][0], day.replace("-", "") + "T235959Z")
        emulator.edit("checkins", recurrence=[rule])
    else:
        recurrence = json.loads(json.dumps(event["recurrence"]))
        recurrence["range"]["endDate"] = day
        emulator.edit("checkins", recurrence=recurrence)


@SERVICE_TEST
def test_a_series_end_moved_in_the_calendar_is_drift_and_pulled_into_the_rule(
        cli, tmp_path: Path, service: Service, emulator) -> None:
    config, path = set_up(cli, service, tmp_path, emulator)
    assert plan_part(cli, config, path, service)["drift"] == []  # our own end is no drift
    # `every` + `day` run to the deadline: shown, listed with the keys to edit, not written.
    end_series(service, emulator, "2027-02-27")  # a Saturday: the last check-in is the 25th
    (drift,) = plan_part(cli, config, path, service)["drift"]
    until = "until 2027-04-30 → 2027-02-2" + ("8" if service.name == "google" else "7")
    assert drift["key"] == "checkins" and drift["what"] == until
    before = path.read_bytes()
    listed = cli("--config", config, "pull", path, "--to", service.name, "--yes")
    assert listed.exit_code == 0, listed.stderr
    assert path.read_bytes() == before
    assert f"checkins: {until} in the calendar" in listed.stdout
    assert "alliance.deadline" in listed.stdout
    # A rule of the file's own takes the calendar's end as its UNTIL.
    path.write_text(before.decode().replace(
        'every = "week"\nday = ["monday", "thursday"]', 'rrule = "FREQ=WEEKLY;BYDAY=MO,TH"'))
    assert "rrule =" in path.read_text()
    result = cli("--config", config, "pull", path, "--to", service.name, "--yes")
    assert result.exit_code == 0, result.stderr
    day = "20270228" if service.name == "google" else "20270227"
    assert tomllib.loads(path.read_text())["checkins"]["rrule"] == (
        f"FREQ=WEEKLY;BYDAY=MO,TH;UNTIL={day}")
    assert plan_part(cli, config, path, service)["drift"] == []
    setup = cli("--config", config, "setup", path, "--to", service.name, "--yes")
    assert setup.exit_code == 0, setup.stderr
    part = plan_part(cli, config, path, service)
    assert part["drift"] == [] and part["counts"]["update"] == 0


@SERVICE_TEST
def test_a_file_already_edited_to_match_needs_no_write(cli, tmp_path: Path, service: Service,
                                                      emulator) -> None:
    config, path = set_up(cli, service, tmp_path, emulator)
    emulator.move_series("checkins", "2027-02-01T10:00")
    path.write_text(path.read_text().replace('time = "09:30"', 'time = "10:00"'))
    before = path.read_bytes()
    result = cli("--config", config, "pull", path, "--to", service.name)
    assert result.exit_code == 0, result.stderr
    assert "already says what the" in result.stdout and "checkins changed there" in result.stdout
    assert path.read_bytes() == before
    assert plan_part(cli, config, path, service)["drift"] == []


@SERVICE_TEST
def test_one_moved_occurrence_is_listed_not_brought_back(cli, tmp_path: Path,
                                                         service: Service, emulator) -> None:
    config, path = set_up(cli, service, tmp_path, emulator)
    before = path.read_bytes()
    emulator.move_occurrence("checkins", "2027-02-22T09:30", "2027-02-22T11:00")
    emulator.respond_occurrence("checkins", "2027-02-18T09:30", "tomas@example.org",
                                "declined")
    result = cli("--config", config, "pull", path, "--to", service.name, "--yes")
    assert result.exit_code == 0, result.stderr
    for day in ("2027-02-18", "2027-02-22"):
        assert (f"not brought back: checkins: the occurrence of {day} 09:30 was changed on "
                "its own in the calendar") in result.stdout
    assert "---" not in result.stdout  # no diff: nothing maps to a key
    assert "--force` to put the calendar back" in result.stdout
    assert path.read_bytes() == before


@SERVICE_TEST
def test_pull_asks_first_and_writes_only_when_told(cli, tmp_path: Path, service: Service,
                                                  emulator, monkeypatch) -> None:
    from designed_alliance.core.commands import pull as command

    config, path = set_up(cli, service, tmp_path, emulator)
    before = path.read_bytes()
    move_and_relocate(service, emulator)
    # No terminal to ask (stdin is not one) and no --yes: a refusal to act, exit 1, as
    # setup's — with the diff shown and nothing written; --dry-run is the preview, exit 0.
    piped = cli("--config", config, "pull", path, "--to", service.name)
    assert piped.exit_code == 1 and path.read_bytes() == before, piped.output
    assert '+time = "10:00"' in piped.stdout
    (line,) = piped.stderr.strip().splitlines()
    assert "nothing written — there is no terminal to ask" in line and "--yes" in line
    preview = cli("--config", config, "pull", path, "--to", service.name, "--dry-run")
    assert preview.exit_code == 0 and path.read_bytes() == before, preview.output
    assert '+time = "10:00"' in preview.stdout
    assert "Nothing written (--dry-run)" in preview.stdout
    monkeypatch.setattr(command, "_interactive", lambda: True)
    declined = cli("--config", config, "pull", path, "--to", service.name, input="n\n")
    assert declined.exit_code == 0 and path.read_bytes() == before
    assert f"Write these changes to {path}?" in declined.stdout
    mode = path.stat().st_mode
    accepted = cli("--config", config, "pull", path, "--to", service.name, input="y\n")
    assert accepted.exit_code == 0, accepted.stderr
    assert tomllib.loads(path.read_text())["checkins"]["time"] == "10:00"
    assert path.stat().st_mode == mode
    assert not list(path.parent.glob(".a.toml.*"))  # no temporary file left


def not_set_up(service: Service, tmp_path: Path, emulator) -> tuple[Path, Path]:
    """A config for the service and an alliance file nothing was set up from yet."""
    config = service.config(tmp_path, emulator)
    path = tmp_path / "a.toml"
    path.write_text(example("team-project").read_text())
    return config, path


@SERVICE_TEST
def test_setup_without_a_terminal_refuses_as_pull_does(cli, tmp_path: Path, service: Service,
                                                       emulator) -> None:
    config, path = not_set_up(service, tmp_path, emulator)
    preview = cli("--config", config, "setup", path, "--to", service.name, "--dry-run")
    assert preview.exit_code == 0, preview.output
    refused = cli("--config", config, "setup", path, "--to", service.name)  # no terminal
    assert refused.exit_code == 1, refused.output
    (line,) = refused.stderr.strip().splitlines()
    assert "review the plan above, then add --yes to go ahead" in line
    assert emulator.events() == [] if service.name == "google" else emulator.store == {}


@SERVICE_TEST
def test_bad_input_exits_2_and_leaves_the_file_alone(cli, tmp_path: Path, service: Service,
                                                    emulator) -> None:
    config, path = not_set_up(service, tmp_path, emulator)
    before = path.read_bytes()
    cases = {"nope": "unknown target 'nope'", "ics": "the ics target cannot read a calendar "
             "back — pull from one of: caldav, google, outlook", "eml": "the eml target",
             service.name: "is recorded for"}
    for name, message in cases.items():
        result = cli("--config", config, "pull", path, "--to", name, "--yes")
        assert result.exit_code == 2, (name, result.output)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert path.read_bytes() == before
    assert "run setup first" in result.stderr
    assert emulator.http_calls == 0  # no state: nothing to ask the calendar
    broken = cli("--config", config, "pull", tmp_path / "missing.toml", "--to", service.name)
    assert broken.exit_code == 2 and "file not found" in broken.stderr


@SERVICE_TEST
def test_a_time_moved_into_another_zone_is_written_in_the_alliance_zone(
        cli, tmp_path: Path, service: Service, emulator) -> None:
    config, path = set_up(cli, service, tmp_path, emulator)
    # The organizer sets the series to 09:00 London: 10:00 in Berlin, the alliance's zone.
    if service.name == "google":
        emulator.edit("checkins", start={"dateTime": "2027-02-01T09:00:00+00:00",
                                         "timeZone": "Europe/London"},
                      end={"dateTime": "2027-02-01T09:25:00+00:00",
                           "timeZone": "Europe/London"})
    else:
        emulator.edit("checkins", start={"dateTime": "2027-02-01T09:00:00",
                                         "timeZone": "GMT Standard Time"},
                      end={"dateTime": "2027-02-01T09:25:00", "timeZone": "GMT Standard Time"})
    result = cli("--config", config, "pull", path, "--to", service.name, "--yes")
    assert result.exit_code == 0, result.stderr
    data = tomllib.loads(path.read_text())["checkins"]
    assert (data["time"], data["duration"]) == ("10:00", "25 minutes")
    assert plan_part(cli, config, path, service)["drift"] == []


def test_pull_from_a_real_caldav_server(cli, tmp_path: Path, radicale, monkeypatch) -> None:
    from .test_caldav_smtp import caldav_config
    from .test_readback_caldav import stored

    monkeypatch.setenv("ALLIANCE_TEST_DAV", radicale.password)
    config = caldav_config(tmp_path, radicale)
    path = tmp_path / "a.toml"
    path.write_text(example("team-project").read_text().replace('time = "16:30"',
                                                                 'time = "09:30"'))
    assert cli("--config", config, "setup", path, "--to", "caldav", "--yes").exit_code == 0
    before = path.read_text()
    # A calendar app moves the series to 09:00 London (10:00 Berlin) and names a room.
    name, cal = stored(radicale, "checkins")
    (master,) = cal.walk("VEVENT")
    london = ZoneInfo("Europe/London")
    for prop in ("dtstart", "dtend", "location"):
        del master[prop]
    master.add("dtstart", datetime(2027, 2, 1, 9, 0, tzinfo=london))
    master.add("dtend", datetime(2027, 2, 1, 9, 25, tzinfo=london))
    master.add("location", "Room 4")
    assert radicale.put(name, cal.to_ical()) in (201, 204)
    result = cli("--config", config, "pull", path, "--to", "caldav", "--yes")
    assert result.exit_code == 0, result.stderr
    assert path.read_text() == before.replace('time = "09:30"', 'time = "10:00"').replace(
        'where = "https://meet.example.org/beta"', 'where = "Room 4"')
    plan = cli("--config", config, "plan", path, "--to", "caldav", "--check-remote", "--json")
    (part,) = json.loads(plan.stdout)["targets"]
    assert part["drift"] == []
    setup = cli("--config", config, "setup", path, "--to", "caldav", "--yes")
    assert setup.exit_code == 0, setup.stderr
    _, now = stored(radicale, "checkins")
    master = now.walk("VEVENT")[0]
    assert master["dtstart"].dt.astimezone(BERLIN).strftime("%H:%M") == "10:00"
    assert str(master["location"]) == "Room 4"
    assert isinstance(now, icalendar.Calendar)
    # As on Google and Graph: after the setup nothing has drifted, nothing is to update,
    # and a second pull has nothing to bring back.
    plan = cli("--config", config, "plan", path, "--to", "caldav", "--check-remote", "--json")
    (part,) = json.loads(plan.stdout)["targets"]
    assert part["drift"] == [] and part["counts"]["update"] == 0, part
    again = cli("--config", config, "pull", path, "--to", "caldav", "--yes")
    assert again.exit_code == 0, again.stderr
    assert again.stdout.startswith("Nothing was changed in the"), again.stdout
    # The series' end moved in the calendar app (UNTIL rewritten as a UTC midnight, the
    # day after in the calendar's eyes): drift names the local date, pull lists it.
    name, cal = stored(radicale, "checkins")
    master = cal.walk("VEVENT")[0]
    rule = master["rrule"]
    rule["UNTIL"] = [datetime(2027, 3, 1, 0, 0, tzinfo=ZoneInfo("UTC"))]
    assert radicale.put(name, cal.to_ical()) in (201, 204)
    plan = cli("--config", config, "plan", path, "--to", "caldav", "--check-remote", "--json")
    (part,) = json.loads(plan.stdout)["targets"]
    assert [d["what"] for d in part["drift"]] == ["until 2027-04-30 → 2027-03-01"]
    listed = cli("--config", config, "pull", path, "--to", "caldav", "--yes")
    assert listed.exit_code == 0, listed.stderr
    assert "checkins: until 2027-04-30 → 2027-03-01 in the calendar" in listed.stdout


@pytest.fixture
def dav_wire(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, int]]:
    """Every HTTP request the caldav client puts on the wire (method, path, status): counted
    at its session, below the library's own auth negotiation and our counter."""
    import caldav.davclient as davclient

    sent: list[tuple[str, str, int]] = []
    init = davclient.DAVClient.__init__

    def counting(self, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        request = self.session.request

        def send(method, url, *rest, **options):
            response = request(method, url, *rest, **options)
            sent.append((method, str(url), response.status_code))
            return response

        self.session.request = send

    monkeypatch.setattr(davclient.DAVClient, "__init__", counting)
    return sent


@pytest.mark.parametrize("dedicated", [False, True], ids=["shared", "dedicated"])
def test_caldav_pull_and_status_take_two_requests(cli, tmp_path: Path, radicale, monkeypatch,
                                                  dav_wire, dedicated: bool) -> None:
    from .test_readback_caldav import declined, stored

    monkeypatch.setenv("ALLIANCE_TEST_DAV", radicale.password)
    url = f"{radicale.url}{radicale.username}/" if dedicated else radicale.calendar_url
    config = tmp_path / "caldav.toml"
    config.write_text(f'[caldav]\nurl = "{url}"\nusername = "{radicale.username}"\n'
                      'password_env = "ALLIANCE_TEST_DAV"\n'
                      + ('calendar = "dedicated"\n' if dedicated else ""))
    path = tmp_path / "a.toml"
    path.write_text(example("team-project").read_text().replace('time = "16:30"',
                                                                 'time = "09:30"'))
    assert cli("--config", config, "setup", path, "--to", "caldav", "--yes").exit_code == 0
    if dedicated:  # the helpers read the calendar the events went to: the alliance's own
        from designed_alliance.core.items import slug

        alliance_id = tomllib.loads(path.read_text())["alliance"]["id"]
        monkeypatch.setattr(radicale, "calendar_url",
                            f"{radicale.url}{radicale.username}/alliance-{slug(alliance_id)}/")
    # A calendar app gives the series a room and declines one Thursday for Tomás.
    name, cal = stored(radicale, "checkins")
    (master,) = cal.walk("VEVENT")
    cal.add_component(declined(master, 18, "tomas@example.org"))
    master["location"] = icalendar.vText("Room 4")
    assert radicale.put(name, cal.to_ical()) in (201, 204)
    dav_wire.clear()
    pulled = cli("--config", config, "pull", path, "--to", "caldav", "--yes")
    assert pulled.exit_code == 0, pulled.stderr
    # Basic credentials with the first request (no 401 round trip), the calendar from state
    # (not looked up), one REPORT serving both the versions and the single occurrences.
    assert [(m, s) for m, _, s in dav_wire] == [("PROPFIND", 207), ("REPORT", 207)], dav_wire
    assert tomllib.loads(path.read_text())["checkins"]["where"] == "Room 4"
    assert ("checkins: the occurrence of 2027-02-18 09:30 was changed on its own"
            in pulled.stdout)
    dav_wire.clear()
    status = cli("--config", config, "status", path, "--to", "caldav", "--json", "--on",
                 "2027-03-01")
    assert status.exit_code == 0, status.stderr
    assert [(m, s) for m, _, s in dav_wire] == [("PROPFIND", 207), ("REPORT", 207)], dav_wire
    read = json.loads(status.stdout)
    assert read["declined_occurrences"] == [
        {"key": "checkins", "email": "tomas@example.org", "start": "2027-02-18T09:30"}]
    # A wrong password: refused in one line, after the server's own scheme was tried too.
    monkeypatch.setenv("ALLIANCE_TEST_DAV", "wrong")
    dav_wire.clear()
    refused = cli("--config", config, "status", path, "--to", "caldav")
    assert refused.exit_code == 1 and "refused" in refused.stderr, refused.output
    assert len(refused.stderr.strip().splitlines()) == 1
    assert [s for _, _, s in dav_wire] == [401, 401, 401]  # Basic; then ask, answer
