"""The embedded default end to end through the CLI: .ics invites, kickoff.eml, re-runs."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from .conftest import example

TEAM = "mobile-app-beta-9q2m"


def setup_copy(tmp_path: Path, name: str = "team-project", text: str | None = None) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text if text is not None else example(name).read_text())
    return path


def out_dir(folder: Path, alliance_id: str = TEAM) -> Path:
    """Where setup writes for an alliance file in `folder`: beside it."""
    return folder / "alliance-out" / alliance_id


def parse_ics(path: Path) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(path.read_bytes())


def test_whole_alliance_ics_expands_to_the_right_local_times_across_dst(cli, isolated: Path,
                                                                        tmp_path: Path) -> None:
    result = cli("setup", setup_copy(tmp_path))
    assert result.exit_code == 0, result.output
    cal = parse_ics(out_dir(tmp_path) / "alliance.ics")
    berlin = ZoneInfo("Europe/Berlin")
    occurrences = recurring_ical_events.of(cal).between(date(2027, 1, 1), date(2027, 6, 1))
    checkins = sorted(e["DTSTART"].dt for e in occurrences
                      if str(e["X-DESIGNED-ALLIANCE-KEY"]) == "checkins")
    # Mondays and Thursdays from Mon 1 Feb to Fri 30 Apr 2027: 13 weeks × 2.
    assert len(checkins) == 26
    assert checkins[0] == datetime(2027, 2, 1, 16, 30, tzinfo=berlin)
    assert checkins[-1] == datetime(2027, 4, 29, 16, 30, tzinfo=berlin)
    # 16:30 local on both sides of the 28 March change: UTC offset moves from +1 to +2.
    assert {c.astimezone(berlin).time() for c in checkins} == {time(16, 30)}
    assert {c.utcoffset().total_seconds() / 3600 for c in checkins} == {1.0, 2.0}
    assert {c.strftime("%a") for c in checkins} == {"Mon", "Thu"}

    by_key: dict[str, list] = {}
    for event in occurrences:
        by_key.setdefault(str(event["X-DESIGNED-ALLIANCE-KEY"]), []).append(event["DTSTART"].dt)
    # Sequenced commitments: design due 19 Feb; build +4 weeks; store +1 week; launch hard due.
    assert by_key["commitment:design"] == [date(2027, 2, 19)]
    assert by_key["commitment:build"] == [date(2027, 3, 19)]
    assert by_key["commitment:store"] == [date(2027, 3, 26)]
    assert by_key["commitment:launch"] == [date(2027, 4, 16)]
    assert by_key["celebration"] == [datetime(2027, 4, 30, 17, 0, tzinfo=berlin)]
    # Reviews every 4 weeks on a check-in day, at their own time (16:00 by default).
    assert by_key["review"] == [datetime(2027, 3, 1, 16, 0, tzinfo=berlin),
                                datetime(2027, 3, 29, 16, 0, tzinfo=berlin),
                                datetime(2027, 4, 26, 16, 0, tzinfo=berlin)]
    tzids = {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")}
    assert tzids == {"Europe/Berlin"}


def test_sequenced_commitment_moves_with_its_predecessor(cli, isolated: Path,
                                                         tmp_path: Path) -> None:
    path = setup_copy(tmp_path)
    cli("setup", path)
    path.write_text(path.read_text().replace("due = 2027-02-19", "due = 2027-02-26"))
    result = cli("setup", path, "--json")
    report = json.loads(result.output)
    ics = next(t for t in report["plan"]["targets"] if t["target"] == "ics")
    moved = {c["key"]: c for c in ics["changes"] if c["action"] == "update"}
    assert {"commitment:design", "commitment:build", "commitment:store"} <= set(moved)
    event = parse_ics(out_dir(tmp_path) / "commitment-build.ics").walk("VEVENT")[0]
    assert event["DTSTART"].dt == date(2027, 3, 26)
    assert int(event["SEQUENCE"]) == 1


def test_per_item_invites_are_itip_requests(cli, isolated: Path, tmp_path: Path) -> None:
    cli("setup", setup_copy(tmp_path))
    folder = out_dir(tmp_path)
    names = sorted(p.name for p in folder.glob("*.ics"))
    assert names == ["alliance.ics", "celebration.ics", "checkins.ics", "commitment-build.ics",
                     "commitment-design.ics", "commitment-launch.ics", "commitment-store.ics",
                     "review.ics"]
    cal = parse_ics(folder / "checkins.ics")
    assert str(cal["METHOD"]) == "REQUEST"
    event = cal.walk("VEVENT")[0]
    assert str(event["UID"]) == f"checkins.{TEAM}@designed-alliance"
    assert int(event["SEQUENCE"]) == 0
    assert event["DTSTAMP"].dt.tzinfo is not None
    assert str(event["ORGANIZER"]) == "mailto:lena@example.org"
    attendees = {str(a): a.params for a in event["ATTENDEE"]}
    assert set(attendees) == {"mailto:lena@example.org", "mailto:tomas@example.org",
                              "mailto:mei@example.org"}
    assert attendees["mailto:tomas@example.org"]["RSVP"] == "TRUE"
    assert attendees["mailto:tomas@example.org"]["CN"] == "Tomás Ferreira"
    rule = event["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"] and rule["BYDAY"] == ["MO", "TH"]
    assert rule["UNTIL"][0] == datetime(2027, 4, 30, 21, 59, 59, tzinfo=ZoneInfo("UTC"))
    assert {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")} == {"Europe/Berlin"}
    assert "What shipped?" in str(event["DESCRIPTION"])
    assert str(event["LOCATION"]) == "https://meet.example.org/beta"


def test_kickoff_eml_is_a_draft_with_text_html_and_invites(cli, isolated: Path,
                                                           tmp_path: Path) -> None:
    cli("setup", setup_copy(tmp_path))
    raw = (out_dir(tmp_path) / "kickoff.eml").read_bytes()
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["X-Unsent"] == "1"
    assert mail["Subject"] == "Our designed alliance: Mobile app beta"
    assert [a.addr_spec for a in mail["To"].addresses] == [
        "lena@example.org", "tomas@example.org", "mei@example.org"]
    assert mail["From"].addresses[0].display_name == "Lena Vogel"
    assert mail["Message-ID"].endswith("@designed-alliance>")
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Ship a public beta" in text and "Ship a public beta" in html
    assert "Tomás Ferreira" in text
    invites = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(invites) == 7
    assert {p.get_param("method") for p in invites} == {"REQUEST"}
    parsed = [icalendar.Calendar.from_ical(p.get_content()) for p in invites]
    keys = {str(c.walk("VEVENT")[0]["X-DESIGNED-ALLIANCE-KEY"]) for c in parsed}
    assert "checkins" in keys and "celebration" in keys
    # Same Message-ID on every run: drafts are found again, never duplicated.
    first_id = mail["Message-ID"]
    path = tmp_path / "team-project.toml"
    path.write_text(path.read_text().replace("Ship a public beta", "Ship a great beta"))
    cli("setup", path)
    again = email.message_from_bytes((out_dir(tmp_path) / "kickoff.eml").read_bytes(),
                                     policy=email.policy.default)
    assert again["Message-ID"] == first_id


def _snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}


def test_unchanged_rerun_rewrites_nothing(cli, isolated: Path, tmp_path: Path) -> None:
    path = setup_copy(tmp_path)
    cli("setup", path)
    before = _snapshot(out_dir(tmp_path))
    result = cli("setup", path)
    assert result.exit_code == 0
    assert "Nothing to do" in result.output
    assert _snapshot(out_dir(tmp_path)) == before


def test_changed_checkin_time_is_one_update_with_sequence_plus_one(cli, isolated: Path,
                                                                   tmp_path: Path) -> None:
    path = setup_copy(tmp_path, "coach-client")
    folder = out_dir(tmp_path, "career-move-c4t8")
    cli("setup", path)
    before = _snapshot(folder)
    path.write_text(path.read_text().replace('time = "12:15"', 'time = "13:00"'))
    report = json.loads(cli("setup", path, "--json").output)
    ics = next(t for t in report["plan"]["targets"] if t["target"] == "ics")
    assert ics["counts"] == {"create": 0, "update": 1, "cancel": 0, "keep": 5}
    updated = {c["key"] for c in ics["changes"] if c["action"] == "update"}
    assert updated == {"checkins"}
    event = parse_ics(folder / "checkins.ics").walk("VEVENT")[0]
    assert int(event["SEQUENCE"]) == 1
    assert event["DTSTART"].dt.time() == time(13, 0)
    after = _snapshot(folder)
    assert after["commitment-story.ics"] == before["commitment-story.ics"]
    assert after["celebration.ics"] == before["celebration.ics"]
    # The members hear about it once, in changes-1.eml, with just the changed invites.
    change = email.message_from_bytes((folder / "changes-1.eml").read_bytes(),
                                      policy=email.policy.default)
    body = change.get_body(("plain",)).get_content()
    assert "13:00" in body and "was:" in body and "12:15" in body
    # One invite travels inline (iMIP: the client shows Accept/Decline), not as an attachment.
    invites = [p for p in change.walk() if p.get_content_type() == "text/calendar"]
    assert [str(icalendar.Calendar.from_ical(p.get_content()).walk("VEVENT")[0][
        "X-DESIGNED-ALLIANCE-KEY"]) for p in invites] == ["checkins"]


def test_removed_commitment_is_one_cancel(cli, isolated: Path, tmp_path: Path) -> None:
    path = setup_copy(tmp_path, "coach-client")
    folder = out_dir(tmp_path, "career-move-c4t8")
    cli("setup", path)
    text = path.read_text()
    start = text.index('[[commitments]]\nid = "case-study"')
    end = text.index("[communication]")
    path.write_text(text[:start] + text[end:])
    report = json.loads(cli("setup", path, "--json").output)
    ics = next(t for t in report["plan"]["targets"] if t["target"] == "ics")
    assert [c["key"] for c in ics["changes"] if c["action"] == "cancel"] == [
        "commitment:case-study"]
    assert ics["counts"]["cancel"] == 1 and ics["counts"]["create"] == 0
    cal = parse_ics(folder / "commitment-case-study.ics")
    assert str(cal["METHOD"]) == "CANCEL"
    event = cal.walk("VEVENT")[0]
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == "commitment-case-study.career-move-c4t8@designed-alliance"
    assert int(event["SEQUENCE"]) == 1
    whole = parse_ics(folder / "alliance.ics")
    keys = {str(e["X-DESIGNED-ALLIANCE-KEY"]) for e in whole.walk("VEVENT")}
    assert "commitment:case-study" not in keys
    change = email.message_from_bytes((folder / "changes-1.eml").read_bytes(),
                                      policy=email.policy.default)
    assert "Dropped" in change.get_body(("plain",)).get_content()
    cancel = [p for p in change.walk() if p.get_content_type() == "text/calendar"
              and p.get_param("method") == "CANCEL"]
    assert len(cancel) == 1


def test_teardown_cancels_everything(cli, isolated: Path, tmp_path: Path) -> None:
    path = setup_copy(tmp_path, "household")
    folder = out_dir(tmp_path, "home-reset-h7w1")
    cli("setup", path)
    result = cli("teardown", path, "--yes")
    assert result.exit_code == 0, result.output
    for name in ["checkins.ics", "review.ics", "celebration.ics", "commitment-quotes.ics"]:
        cal = parse_ics(folder / name)
        assert str(cal["METHOD"]) == "CANCEL", name
    assert not (folder / "alliance.ics").exists()
    assert not (folder / "kickoff.eml").exists()
    # A second teardown has nothing left to do.
    assert "Nothing to do" in cli("teardown", path, "--yes").output


def test_cancelling_more_than_a_third_needs_force(cli, isolated: Path, tmp_path: Path) -> None:
    path = setup_copy(tmp_path)
    cli("setup", path)
    text = path.read_text()
    start = text.index("[[commitments]]")
    end = text.index("[communication]")
    path.write_text(text[:start] + text[end:])
    before = _snapshot(out_dir(tmp_path))
    result = cli("setup", path)
    assert result.exit_code == 1
    assert "--force" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert _snapshot(out_dir(tmp_path)) == before
    assert cli("setup", path, "--force").exit_code == 0


def test_plan_and_dry_run_write_nothing(cli, isolated: Path, tmp_path: Path,
                                        state_file: Path) -> None:
    path = setup_copy(tmp_path)
    assert cli("plan", path).exit_code == 0
    result = cli("setup", path, "--dry-run")
    assert result.exit_code == 0 and "Dry run" in result.output
    assert not (tmp_path / "alliance-out").exists()
    assert not state_file.exists()


def test_out_option_and_state_file_permissions(cli, isolated: Path, tmp_path: Path,
                                               state_file: Path) -> None:
    target = tmp_path / "elsewhere"
    assert cli("setup", setup_copy(tmp_path), "--out", target).exit_code == 0
    assert (target / "kickoff.eml").exists()
    assert state_file.stat().st_mode & 0o777 == 0o600
    assert state_file.parent.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("evil", ["../../escape", "a/../../b", "..", "x\\..\\y"])
def test_ids_cannot_make_paths_outside_the_folder(evil: str) -> None:
    from designed_alliance.integrations.files import safe_path

    base = Path("/tmp/alliance-test-folder")
    for name in (f"{evil}.ics", evil):
        assert safe_path(base, name).parent == base.resolve()


def test_lost_state_rebuilds_from_files_and_creates_nothing(cli, isolated: Path,
                                                           tmp_path: Path,
                                                           state_file: Path) -> None:
    path = setup_copy(tmp_path)
    cli("setup", path)
    folder = out_dir(tmp_path)
    before = {p.name: p.read_bytes() for p in folder.glob("*.ics") if p.name != "alliance.ics"}
    state_file.unlink()
    result = json.loads(cli("setup", path, "--json").output)
    ics = next(t for t in result["plan"]["targets"] if t["target"] == "ics")
    assert ics["counts"]["create"] == 0 and ics["counts"]["keep"] == 7
    after = {p.name: p.read_bytes() for p in folder.glob("*.ics") if p.name != "alliance.ics"}
    assert after == before
