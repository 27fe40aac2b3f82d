"""`check` raises the assumption busters; `show` renders the agreement; `--help` stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from designed_alliance.core.check import check
from designed_alliance.core.load import loads

from .conftest import EXAMPLES, alliance_examples

BASE = (EXAMPLES / "website-relaunch.toml").read_text()


def codes(text: str) -> set[str]:
    return {f.code for f in check(loads(text, "a.toml"))}


def without(text: str, header: str) -> str:
    """Drop a table (from its header to the next header)."""
    start = text.index(header)
    rest = text[start + len(header):]
    ends = [i for i in (rest.find("\n["),) if i >= 0]
    return text[:start] + (rest[ends[0] + 1:] if ends else "")


def test_complete_alliance_has_no_findings() -> None:
    assert codes(BASE) == set()


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
    assert code in codes(edit(BASE))


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
    result = cli("check", *files, "--strict")
    assert result.exit_code == 0
    assert result.output.count(": ok") == len(files)


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

    clash = loads(BASE.replace('time = "09:30"', 'time = "16:00"'), "a.toml")
    review = next(e for e in schedule(clash) if e.key == "review")
    assert review.start.time() == time(16, 30)  # right after the check-in
    assert "review-overlaps-checkin" not in {f.code for f in check(clash)}
    usual = next(e for e in schedule(loads(BASE, "a.toml")) if e.key == "review")
    assert usual.start.time() == time(16, 0)


def test_plan_for_a_remote_target_says_it_will_adopt_existing_objects(cli) -> None:
    result = cli("plan", EXAMPLES / "household.toml", "--to", "caldav")
    assert result.exit_code == 0
    assert "adopts them instead of creating twins" in result.output
