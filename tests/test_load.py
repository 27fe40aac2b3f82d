"""The file format: the DESIGN.md sketch, the examples and the filled template load."""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from pathlib import Path

import pytest

from designed_alliance.core.commands.template import run as template
from designed_alliance.core.errors import BadInput
from designed_alliance.core.load import load, loads

from .conftest import EXAMPLES, ROOT, alliance_examples

DESIGN = ROOT.parent / "shared" / "DESIGN.md"


def test_sketch_example_loads_with_every_value() -> None:
    alliance = load(EXAMPLES / "website-relaunch.toml")
    assert alliance.id == "website-relaunch-7f3k"
    assert alliance.timezone == "America/New_York"
    assert (alliance.starts, alliance.deadline) == (date(2026, 12, 1), date(2027, 3, 31))
    assert alliance.review is not None and alliance.review.cadence.interval == 4
    assert alliance.goal.why.startswith("Prospects")
    assert [m.id for m in alliance.members] == ["ana", "ben"]
    assert alliance.members[1].timezone == "Europe/Berlin"
    assert alliance.members[0].offers == ("Feedback within one working day",)
    assert alliance.measures[0].target == 42 and alliance.measures[0].by == date(2027, 3, 15)
    copy = alliance.commitment("copy")
    assert (copy.after, copy.takes, copy.owner) == ("design", timedelta(weeks=2), "ana")
    assert alliance.communication.use[0].purpose == "day-to-day questions"
    assert alliance.communication.avoid[0].why == "threads get lost"
    assert alliance.checkins is not None
    assert alliance.checkins.days == ("MO",) and alliance.checkins.time == time(9, 30)
    assert alliance.checkins.duration == timedelta(minutes=30)
    assert alliance.celebration is not None and alliance.celebration.on is None
    assert alliance.celebration_date == date(2027, 3, 31)


@pytest.mark.skipif(not DESIGN.exists(), reason="shared/DESIGN.md is not beside the repo")
def test_design_md_sketch_loads_exactly_as_written() -> None:
    text = DESIGN.read_text(encoding="utf-8")
    sketch = re.search(r"```toml\n(.*?)```", text, re.S)
    assert sketch is not None
    alliance = loads(sketch.group(1), "DESIGN.md")
    assert alliance == load(EXAMPLES / "website-relaunch.toml")


@pytest.mark.parametrize("path", alliance_examples(), ids=lambda p: p.stem)
def test_examples_load(path: Path) -> None:
    alliance = load(path)
    assert alliance.members and alliance.checkins and alliance.celebration


def test_blank_template_refuses_until_filled_then_loads(tmp_path: Path) -> None:
    blank = template(date(2026, 11, 25))
    with pytest.raises(BadInput, match="placeholder"):
        loads(blank, "alliance.toml")
    # Filling in = replacing each "<…>" with words of your own.
    filled = re.sub(r'"<([^>]*)>"', r'"\1"', blank)
    filled = filled.replace('"America/New_York"', '"Europe/Berlin"')
    alliance = loads(filled, "alliance.toml")
    assert alliance.starts == date(2026, 11, 30)  # the next Monday
    assert [c.id for c in alliance.commitments] == ["first-step", "next-step"]


def test_time_may_be_a_toml_local_time_and_day_a_list() -> None:
    text = (EXAMPLES / "website-relaunch.toml").read_text()
    text = text.replace('time = "09:30"', "time = 09:30:00").replace(
        'day = "monday"', 'day = ["monday", "thursday"]')
    alliance = loads(text)
    assert alliance.checkins is not None
    assert alliance.checkins.time == time(9, 30) and alliance.checkins.days == ("MO", "TH")


def test_monthly_checkins_accept_an_ordinal_weekday() -> None:
    text = (EXAMPLES / "website-relaunch.toml").read_text()
    text = text.replace('every = "week"', 'every = "month"').replace(
        'day = "monday"', 'day = "first monday"')
    alliance = loads(text)
    assert alliance.checkins is not None and alliance.checkins.days == ("1MO",)


def test_raw_rrule_is_kept() -> None:
    text = (EXAMPLES / "website-relaunch.toml").read_text()
    text = re.sub(r'every = "week".*\n', 'rrule = "FREQ=WEEKLY;BYDAY=MO,TH"\n', text)
    text = text.replace('day = "monday"\n', "")
    alliance = loads(text)
    assert alliance.checkins is not None and alliance.checkins.rrule == "FREQ=WEEKLY;BYDAY=MO,TH"
