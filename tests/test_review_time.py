"""The default review time: inside waking hours for every member when such a time exists.

Each expectation is checked against zoneinfo on the review dates read back from the written
review.ics (icalendar + recurring_ical_events), not against the function that chose it.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from designed_alliance.core.load import loads
from designed_alliance.core.schedule import review_time

from .conftest import example

BASE = example("website-relaunch").read_text()
OPENS, CLOSES = time(7, 0), time(21, 0)


def reviews(cli, tmp_path: Path, text: str) -> list[datetime]:
    path = tmp_path / "a.toml"
    path.write_text(text)
    result = cli("setup", path, "--to", "ics")
    assert result.exit_code == 0, result.output
    alliance_id = loads(text, path).id
    cal = icalendar.Calendar.from_ical(
        (tmp_path / "alliance-out" / alliance_id / "review.ics").read_bytes())
    found = recurring_ical_events.of(cal).between(date(2026, 1, 1), date(2031, 1, 1))
    return sorted(e["DTSTART"].dt for e in found)


def awake(starts: list[datetime], minutes: int, zones: list[str]) -> bool:
    for start in starts:
        for zone in zones:
            there = start.astimezone(ZoneInfo(zone))
            end = (there.hour * 60 + there.minute + minutes)
            if there.time() < OPENS or end > CLOSES.hour * 60:
                return False
    return True


def test_the_sketch_review_is_right_after_the_checkin_not_22h_in_berlin(cli, tmp_path: Path
                                                                        ) -> None:
    seen = reviews(cli, tmp_path, BASE)
    assert seen and {s.time() for s in seen} == {time(10, 0)}  # the check-in's end
    assert awake(seen, 30, ["America/New_York", "Europe/Berlin"])


def test_one_zone_keeps_16h(cli, tmp_path: Path) -> None:
    text = BASE.replace('timezone = "Europe/Berlin"\n', "")
    assert {s.time() for s in reviews(cli, tmp_path, text)} == {time(16, 0)}


def test_when_the_checkin_end_is_night_too_another_slot_is_found(cli, tmp_path: Path) -> None:
    # New York and Shanghai (12–13 hours apart): 16:00 is 04:00/05:00 there, the check-in's
    # end (10:00) is 22:00/23:00; only early morning New York is evening in Shanghai.
    text = BASE.replace('timezone = "Europe/Berlin"', 'timezone = "Asia/Shanghai"')
    seen = reviews(cli, tmp_path, text)
    assert awake(seen, 30, ["America/New_York", "Asia/Shanghai"])
    assert {s.time() for s in seen} == {time(7, 30)}  # the nearest to 10:00 that fits


def test_no_time_suits_everyone_keeps_the_usual_one_and_check_says_so(cli, tmp_path: Path
                                                                      ) -> None:
    # Los Angeles, London and Shanghai, 8 hours apart each: no 30 minutes are 07:00–21:00
    # in all three; the night buster speaks.
    text = BASE.replace('timezone = "America/New_York"', 'timezone = "America/Los_Angeles"'
                        ).replace('timezone = "Europe/Berlin"', 'timezone = "Europe/London"'
                                  ).replace("[[measures]]", """[[members]]
id = "mei"
name = "Mei Chen"
email = "mei@example.com"
timezone = "Asia/Shanghai"
needs = ["Notes"]
offers = ["Designs"]

[[measures]]""", 1)
    assert review_time(loads(text, "a.toml")) == time(16, 0)
    path = tmp_path / "b.toml"
    path.write_text(text)
    result = cli("check", path)
    assert "review.time" in result.output and "night-meeting" in result.output


def test_an_explicit_review_time_is_kept_even_at_night() -> None:
    text = BASE + '\n[review]\ntime = "16:00"\n'
    assert review_time(loads(text, "a.toml")) == time(16, 0)


def test_every_example_is_ok_under_check(cli) -> None:
    from .conftest import EXAMPLES  # the copies (conftest), journals included

    files = sorted(EXAMPLES.glob("*.toml"))
    result = cli("check", *files)
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok") == len(files) == 5
    assert "warning" not in result.output
