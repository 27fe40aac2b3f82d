"""`check` raises the assumption busters; `show` renders the agreement; `--help` stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from designed_alliance.core import check as check_module
from designed_alliance.core.check import check
from designed_alliance.core.load import loads

from .conftest import EXAMPLES, alliance_examples

BASE = (EXAMPLES / "website-relaunch.toml").read_text()
TODAY = date(2026, 11, 1)  # before every example starts: nothing is in the past yet
# The sketch's review falls at 16:00 New York, 22:00 for Ben in Berlin: give it a day time.
CLEAN = BASE + '\n[review]\ntime = "10:30"\n'


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """`check` warns about dates in the past: these tests must not start failing next year."""
    monkeypatch.setattr(check_module, "today_for", lambda alliance: TODAY)


def codes(text: str, today: date = TODAY) -> set[str]:
    return {f.code for f in check(loads(text, "a.toml"), today=today)}


def without(text: str, header: str) -> str:
    """Drop a table (from its header to the next header)."""
    start = text.index(header)
    rest = text[start + len(header):]
    ends = [i for i in (rest.find("\n["),) if i >= 0]
    return text[:start] + (rest[ends[0] + 1:] if ends else "")


def test_complete_alliance_has_no_findings() -> None:
    assert codes(CLEAN) == set()


@pytest.mark.parametrize(("edit", "code"), [
    (lambda t: t.replace('offers = ["Feedback within one working day"]', ""), "reciprocity"),
    (lambda t: without(t, "[[measures]]"), "no-measure"),
    (lambda t: t.replace("by = 2027-03-15\n", ""), "measure-no-date"),
    (lambda t: t.replace("due = 2027-01-08", "due = 2027-04-08"), "due-after-deadline"),
    (lambda t: without(t, "[checkins]"), "no-checkin"),
    (lambda t: t.replace('day = "monday"', 'day = "monday"').replace(
        "deadline = 2027-03-31", "deadline = 2026-12-04").replace(
        "by = 2027-03-15", "by = 2026-12-04").replace("due = 2027-01-08", "due = 2026-12-02"),
     "no-checkin-before-deadline"),
    (lambda t: t.replace('avoid = [{ channel = "Email"', 'avoid = [{ channel = "slack"'),
     "channel-conflict"),
    (lambda t: t.replace('review_every = "4 weeks"', ""), "no-review"),
    (lambda t: without(t, "[celebration]"), "no-celebration"),
    (lambda t: t.replace('owner = "ben"\n', ""), "no-owner"),
    (lambda t: t.replace('takes = "2 weeks"', 'takes = "2 weeks"\ndue = 2027-01-15'),
     "sequence-too-tight"),
])
def test_each_assumption_buster(edit, code: str) -> None:
    # Without review_every, CLEAN's [review] table would lack its cadence.
    assert code in codes(edit(BASE if code == "no-review" else CLEAN))


def test_check_cli_warns_exit_0_strict_exit_1_json(cli, tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text(BASE.replace('review_every = "4 weeks"', ""))
    result = cli("check", path)
    assert result.exit_code == 0
    assert "warning:" in result.output and "[no-review]" in result.output
    assert cli("check", path, "--strict").exit_code == 1
    data = json.loads(cli("check", path, "--json").output)
    assert data["warnings"] == 1
    finding = data["files"][0]["warnings"][0]
    assert finding["code"] == "no-review" and finding["key"] == "alliance.review_every"


def test_check_several_files(cli) -> None:
    files = alliance_examples()
    result = cli("check", *files)
    assert result.exit_code == 0
    # Each file gets its own line, and every example is "ok": no night meetings left.
    mentioned = {line.split(":", 1)[0] for line in result.output.splitlines()}
    assert mentioned == {str(p) for p in files}
    assert result.output.count(": ok") == len(files) == 4
    data = json.loads(cli("check", *files, "--json").output)
    assert [f["file"] for f in data["files"]] == [str(p) for p in files]
    assert data["errors"] == 0 and all(f["errors"] == [] for f in data["files"])


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_show_formats(cli) -> None:
    path = EXAMPLES / "team-project.toml"
    md = cli("show", path).output
    assert md.startswith("# Designed alliance: Mobile app beta")
    for heading in ["## The goal", "## How we measure progress", "## Who does what, and when",
                    "## What each of us needs, and offers", "## How we communicate",
                    "## How we celebrate"]:
        assert heading in md
    data = json.loads(cli("show", path, "--format", "json").output)
    assert data["id"] == "mobile-app-beta-9q2m" and data["checkins"]["days"] == ["MO", "TH"]
    html = cli("show", path, "--format", "html").output
    parser = _Text()
    parser.feed(html)
    assert "Mobile app beta" in "".join(parser.text) and "table" in parser.tags


def test_html_escapes_user_text(cli, tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text(BASE.replace("Team dinner at Lupa", "<script>alert(1)</script> & cake"))
    html = cli("show", path, "--format", "html").output
    parser = _Text()
    parser.feed(html)
    assert "script" not in parser.tags
    assert "<script>alert(1)</script> & cake" in "".join(parser.text)


def test_help_imports_no_vendor_sdk() -> None:
    code = ("import sys; from designed_alliance.core.cli import cli\n"
            "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('googleapiclient', 'msal', 'caldav', 'icalendar', 'jinja2',"
            " 'dateutil', 'sqlite3', 'requests', 'httplib2', 'radicale', 'keyring') "
            "if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "HEAVY []" in out


def test_every_command_has_help_with_an_example(cli) -> None:
    from designed_alliance.core.cli import cli as group

    for name in group.commands:
        result = cli(name, "--help")
        assert result.exit_code == 0
        assert "Example" in result.output, name


def test_python_m_and_version() -> None:
    out = subprocess.run([sys.executable, "-m", "designed_alliance", "--version"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "alliance, version 0.1.0"


def test_config_example_loads() -> None:
    from designed_alliance.core.config import load_config

    from .conftest import ROOT

    config = load_config(ROOT / "config.example.toml", explicit=True)
    assert config.defaults.targets == ("ics", "eml")
    assert set(config.sections) == {"google", "outlook", "caldav", "smtp"}


def test_review_avoids_a_16h_checkin_and_otherwise_keeps_its_own_time() -> None:
    from datetime import time

    from designed_alliance.core.schedule import schedule

    # One zone for everyone (Ben moved to New York): 16:00 is a waking time for all.
    one_zone = BASE.replace('timezone = "Europe/Berlin"\n', "")
    clash = loads(one_zone.replace('time = "09:30"', 'time = "16:00"'), "a.toml")
    review = next(e for e in schedule(clash) if e.key == "review")
    assert review.start.time() == time(16, 30)  # right after the check-in
    assert "review-overlaps-checkin" not in {f.code for f in check(clash)}
    usual = next(e for e in schedule(loads(one_zone, "a.toml")) if e.key == "review")
    assert usual.start.time() == time(16, 0)


def test_plan_for_a_remote_target_says_it_will_adopt_existing_objects(cli, tmp_path: Path
                                                                     ) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[caldav]\nurl = "http://127.0.0.1:9/cal/"\nusername = "ana"\n'
                      'password_command = "echo secret"\n')
    result = cli("--config", config, "plan", EXAMPLES / "household.toml", "--to", "caldav")
    assert result.exit_code == 0, result.output
    assert "adopts them instead of creating twins" in result.output


# -- busters added with the loader's second round ----------------------------------------------
def findings(text: str, today: date = TODAY) -> list:
    return check(loads(text, "a.toml"), today=today)


def test_past_deadline_and_past_due_dates_warn() -> None:
    assert not {"deadline-past", "due-past"} & codes(CLEAN)
    later = {(f.code, f.key) for f in findings(CLEAN, today=date(2027, 1, 25))}
    # design was due 2027-01-08; copy two weeks after it, 2027-01-22 (computed, so `takes`).
    assert ("due-past", "commitments[0].due") in later
    assert ("due-past", "commitments[1].takes") in later
    assert "deadline-past" not in {code for code, _ in later}
    assert "deadline-past" in codes(CLEAN, today=date(2027, 4, 1))


def _two_zones(checkin: str, zones: tuple[str, str], *, starts: str = "2026-12-01",
               deadline: str = "2027-03-31", alliance_zone: str = "Europe/Berlin") -> str:
    text = CLEAN.replace('timezone = "America/New_York"', f'timezone = "{alliance_zone}"')
    text = text.replace('time = "09:30"', f'time = "{checkin}"')
    text = text.replace("starts = 2026-12-01", f"starts = {starts}").replace(
        "deadline = 2027-03-31", f"deadline = {deadline}")
    text = text.replace('email = "ana@example.com"',
                        f'email = "ana@example.com"\ntimezone = "{zones[0]}"')
    return text.replace('timezone = "Europe/Berlin"\nneeds', f'timezone = "{zones[1]}"\nneeds')


def test_a_checkin_at_night_for_members_is_a_buster() -> None:
    # 09:30 in Berlin is 00:30 in Los Angeles and 02:30 in Chicago all winter.
    text = _two_zones("09:30", ("America/Los_Angeles", "America/Chicago"),
                      deadline="2027-02-28")
    night = [f for f in findings(text)
             if f.code == "night-meeting" and f.key == "checkins.time"]
    assert len(night) == 2
    by_zone = {("Los_Angeles" in f.message): f.message for f in night}
    assert "00:30" in by_zone[True] and "Ana Ruiz" in by_zone[True]
    assert "02:30" in by_zone[False] and "Ben Okafor" in by_zone[False]
    assert all("every time" in f.message for f in night)
    # The same meeting at 17:00 Berlin is 08:00 and 10:00: fine for everyone.
    later = _two_zones("17:00", ("America/Los_Angeles", "America/Chicago"),
                       deadline="2027-02-28").replace('time = "10:30"', 'time = "17:30"')
    assert "night-meeting" not in codes(later)


def test_night_is_found_on_the_occurrences_after_a_dst_change_not_only_the_first() -> None:
    # Tokyo keeps its clock; Berlin leaves summer time on 2027-10-31. A Monday check-in at
    # 13:30-14:00 Berlin is 20:30-21:00 in Tokyo until then, and 21:30-22:00 after.
    text = _two_zones("13:30", ("Europe/Berlin", "Asia/Tokyo"), starts="2027-06-07",
                      deadline="2027-12-20")
    night = [f for f in findings(text) if f.code == "night-meeting"]
    assert len(night) == 1
    # Independently: the Mondays from the first one after the change to the deadline.
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    mondays = [date(2027, 6, 7) + timedelta(weeks=n) for n in range(30)]
    mondays = [d for d in mondays if d <= date(2027, 12, 20)]
    tokyo = [datetime(d.year, d.month, d.day, 13, 30, tzinfo=ZoneInfo("Europe/Berlin"))
             .astimezone(ZoneInfo("Asia/Tokyo")) for d in mondays]
    late = [t for t in tokyo if (t.hour, t.minute) > (20, 30)]
    assert tokyo[0].hour == 20 and late[0].date() == date(2027, 11, 1)
    assert f"{len(late)} of {len(mondays)} times, first on 2027-11-01" in night[0].message
    assert "21:30" in night[0].message and "Ben Okafor" in night[0].message


# The team example's check-in as it was (09:30 Berlin), before it moved to 16:30.
TEAM_AT_NIGHT = (EXAMPLES / "team-project.toml").read_text().replace(
    'time = "16:30"', 'time = "09:30"')


def test_the_team_example_checkin_is_at_night_in_los_angeles_and_moves_with_dst() -> None:
    text = TEAM_AT_NIGHT
    night = [f for f in findings(text) if f.code == "night-meeting"]
    assert len(night) == 1 and "America/Los_Angeles" in night[0].message
    # 00:30 in winter, 01:30 while the US is on summer time and Europe not yet.
    assert "00:30 and 01:30" in night[0].message


def test_review_at_night_for_a_member_is_found_too() -> None:
    # 16:00 given (the default is chosen inside waking hours now, see test_review_time.py).
    review = [f for f in findings(BASE + '\n[review]\ntime = "16:00"\n')
              if f.code == "night-meeting"]
    assert [f.key for f in review] == ["review.time"]
    assert "22:00" in review[0].message and "Europe/Berlin" in review[0].message


def test_utc_alliance_with_a_summer_time_member_warns() -> None:
    text = CLEAN.replace('timezone = "America/New_York"', 'timezone = "UTC"')
    assert "fixed-clock" in codes(text)
    assert "fixed-clock" not in codes(CLEAN)


def test_check_reports_every_error_of_every_file_and_goes_on(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(CLEAN.replace('"America/New_York"', '"Europe/Londn"')
                   .replace('email = "ben@example.com"', 'email = "ben"')
                   .replace('takes = "2 weeks"', 'takes = "99999999 weeks"'))
    good = EXAMPLES / "household.toml"
    missing = tmp_path / "missing.toml"
    result = cli("check", bad, good, missing)
    assert result.exit_code == 2
    errors = result.stderr.strip().splitlines()
    assert [line.split(": ", 2)[1] for line in errors] == [
        f"{bad}:4", f"{bad}:23", f"{bad}:45", f"{missing}"]
    assert 'did you mean "Europe/London"?' in errors[0]
    assert "Traceback" not in result.output
    assert f"{good}: ok" in result.stdout  # the valid file still gets its line

    data = json.loads(cli("check", bad, good, missing, "--json").stdout)
    assert data["errors"] == 4
    first, second, third = data["files"]
    assert [(e["key"], e["line"]) for e in first["errors"]] == [
        ("alliance.timezone", 4), ("members[1].email", 23), ("commitments[1].takes", 45)]
    assert first["alliance"] is None and first["errors"][0]["hint"].startswith("did you mean")
    assert second["errors"] == [] and second["alliance"] == "home-reset-h7w1"
    assert third["errors"][0]["problem"] == "file not found"
    assert cli("check", bad, "--json").exit_code == 2


def test_night_buster_reads_a_rule_with_its_own_local_until() -> None:
    # dateutil refuses a local UNTIL with a zoned start: check must not crash on it.
    text = TEAM_AT_NIGHT.replace(
        'every = "week"', 'rrule = "FREQ=WEEKLY;BYDAY=MO;UNTIL=20270331"').replace(
        'day = ["monday", "thursday"]\n', "")
    night = [f for f in findings(text) if f.code == "night-meeting"]
    assert len(night) == 1 and "00:30 and 01:30" in night[0].message
