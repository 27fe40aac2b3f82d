"""VTIMEZONE as other clients read it: every occurrence at the instant zoneinfo says.

ical.js (Thunderbird) and vobject compute each occurrence from the file's own VTIMEZONE,
so a zone written as an RDATE list, or one that ends before the series does, shows here as
occurrences an hour off.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from .interop import icaljs_occurrences, unix, vobject_occurrences

STARTS, DEADLINE = date(2026, 11, 1), date(2030, 10, 31)  # four years, four New Years
ZONES = ("America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata")


def alliance_text(zone: str) -> str:
    slug = zone.split("/")[1].lower().replace("_", "-")
    return f'''
[alliance]
id = "tz-{slug}-4y"
title = "Four years in {zone}"
timezone = "{zone}"
starts = {STARTS}
deadline = {DEADLINE}
review_every = "month"

[goal]
statement = "Keep meeting at the same local time for four years"
why = "Daylight saving must not move anyone's meeting"

[[members]]
id = "ana"
name = "Ana Ruiz"
email = "ana@example.com"
needs = ["An agenda"]
offers = ["Notes"]

[[members]]
id = "mei"
name = "Mei Chen"
email = "mei@example.com"
timezone = "Asia/Shanghai"
needs = ["Notes"]
offers = ["An agenda"]

[[commitments]]
id = "report"
owner = "mei"
what = "Final report"
due = 2030-06-03

[checkins]
# Sundays too: the US, the EU and Australia all change the clocks on a Sunday.
rrule = "FREQ=WEEKLY;BYDAY=SU,MO"
time = "09:30"
duration = "30 minutes"

[celebration]
how = "Dinner"
time = "18:30"
'''


def expected_checkins(zone: str) -> list[int]:
    """Every Sunday and Monday 09:30 local, start to deadline, as zoneinfo places it."""
    tz = ZoneInfo(zone)
    day, found = STARTS, []
    while day <= DEADLINE:
        if day.weekday() in (6, 0):
            found.append(unix(datetime.combine(day, time(9, 30), tzinfo=tz)))
        day += timedelta(days=1)
    return found


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Run `alliance setup` once per zone; zone → its output folder."""
    import os

    from click.testing import CliRunner

    from designed_alliance.core.cli import cli as command

    base = tmp_path_factory.mktemp("tz")
    folders = {}
    for zone in ZONES:
        work = base / zone.replace("/", "-")
        work.mkdir()
        (work / "alliance.toml").write_text(alliance_text(zone))
        env = {"HOME": str(work), "XDG_STATE_HOME": str(work / "state"),
               "XDG_CONFIG_HOME": str(work / "config")}
        old = os.getcwd()
        os.chdir(work)
        try:
            result = CliRunner().invoke(command, ["setup", "alliance.toml", "--to", "ics"],
                                        env=env, catch_exceptions=False)
        finally:
            os.chdir(old)
        assert result.exit_code == 0, result.output
        (folder,) = (work / "alliance-out").iterdir()
        folders[zone] = folder
    return folders


@pytest.mark.parametrize("zone", ZONES)
def test_icaljs_places_every_checkin_where_zoneinfo_does(written: dict[str, Path],
                                                         zone: str) -> None:
    folder = written[zone]
    got = icaljs_occurrences(folder / "checkins.ics")
    (times,) = got.values()
    assert len(times) == 2 * 209  # 209 weeks of Sundays and Mondays
    assert times == expected_checkins(zone)


@pytest.mark.parametrize("zone", ZONES)
def test_every_event_of_the_import_file_agrees_in_icaljs_vobject_and_zoneinfo(
        written: dict[str, Path], zone: str) -> None:
    path = written[zone] / "alliance.ics"
    tz = ZoneInfo(zone)
    by_icaljs = icaljs_occurrences(path)
    by_vobject = vobject_occurrences(path)
    assert set(by_icaljs) == set(by_vobject)
    assert len(by_icaljs) == 4  # check-ins, review, the deadline, the celebration
    for uid, starts in by_vobject.items():
        timed = [s for s in starts if isinstance(s, datetime)]
        if not timed:
            continue  # the all-day deadline has no instant
        # zoneinfo's instant for the wall time vobject read, against both parsers' instants.
        wall = [s.replace(tzinfo=None) for s in timed]
        expected = [unix(w.replace(tzinfo=tz)) for w in wall]
        assert [unix(s) for s in timed] == expected, uid
        assert by_icaljs[uid] == expected, uid
    checkins = next(uid for uid in by_icaljs if uid.startswith("checkins."))
    assert by_icaljs[checkins] == expected_checkins(zone)
    reviews = next(v for uid, v in by_vobject.items() if uid.startswith("review."))
    # 16:00 unless that is night in Shanghai for Mei: then after the check-in (Berlin), or
    # the nearest time that is daytime for both (New York: 07:30, 19:30/20:30 in Shanghai).
    review_at = {"America/New_York": time(7, 30), "Europe/Berlin": time(10, 0)}.get(
        zone, time(16, 0))
    assert len(reviews) == 47 and {r.time() for r in reviews} == {review_at}


@pytest.mark.parametrize("zone", ZONES)
def test_each_zone_is_written_once_as_yearly_rules(written: dict[str, Path], zone: str
                                                   ) -> None:
    import vobject

    text = (written[zone] / "alliance.ics").read_text(encoding="utf-8")
    cal = vobject.readOne(text)
    (vtimezone,) = cal.vtimezone_list
    assert vtimezone.tzid.value == zone
    observances = vtimezone.getChildren()
    parts = [p for p in observances if p.name in ("STANDARD", "DAYLIGHT")]
    # No observance lists its onsets as RDATEs (ical.js and vobject read only the first).
    assert not [p for p in parts if "rdate" in p.contents]
    if zone == "Asia/Kolkata":
        assert [(p.name, p.tzoffsetto.value) for p in parts] == [("STANDARD", "+0530")]
        return
    kinds = sorted(p.name for p in parts)
    assert kinds == ["DAYLIGHT", "STANDARD"]
    for part in parts:
        rule = part.rrule.value
        assert rule.startswith("FREQ=YEARLY") and "UNTIL" not in rule, rule
        assert part.dtstart.value.year == STARTS.year - 1  # in force before the first one


def test_vtimezone_is_generated_once_per_zone_and_range() -> None:
    from designed_alliance.core.items import Event, Person
    from designed_alliance.integrations import ical, vtimezone

    vtimezone.vtimezone.cache_clear()
    zone = ZoneInfo("Europe/Berlin")
    events = [Event(alliance_id="a", key=f"k{i}", title="t",
                    start=datetime(2027, 1, 4, 9, tzinfo=zone),
                    end=datetime(2027, 1, 4, 10, tzinfo=zone), timezone="Europe/Berlin",
                    description="", organizer=Person("A", "a@example.com"), attendees=())
              for i in range(5)]
    for event in events:
        icalendar.Calendar.from_ical(ical.request(event, 0))
    info = vtimezone.vtimezone.cache_info()
    assert (info.misses, info.hits) == (1, 4)


# Zones whose rules are not "nth Sunday of a month at 02:00": southern hemisphere, changes at
# midnight or 24:00, 30-minute and 45-minute offsets, Fridays, rules that changed in the last
# years, and Morocco's Ramadan suspensions (no yearly rule describes those: single onsets).
ODD_ZONES = ("America/Santiago", "America/Havana", "Australia/Lord_Howe", "Pacific/Chatham",
             "Asia/Jerusalem", "Africa/Cairo", "Africa/Casablanca", "Asia/Tehran",
             "America/Nuuk", "America/Asuncion", "Europe/Dublin", "Asia/Gaza")


@pytest.mark.parametrize("zone", ODD_ZONES)
def test_every_day_at_noon_for_four_years_in_odd_zones(tmp_path: Path, zone: str) -> None:
    from designed_alliance.core.items import Event, Person
    from designed_alliance.integrations import ical

    tz = ZoneInfo(zone)
    start = datetime(2026, 11, 1, 12, 0, tzinfo=tz)
    event = Event(alliance_id="a", key="noon", title="Noon", start=start,
                  end=start + timedelta(hours=1), timezone=zone, description="",
                  rrule="FREQ=DAILY;COUNT=1461", organizer=Person("A", "a@example.com"),
                  attendees=())
    path = tmp_path / "noon.ics"
    path.write_bytes(ical.request(event, 0))
    expected = [unix(datetime.combine(start.date() + timedelta(days=i), time(12, 0),
                                      tzinfo=tz)) for i in range(1461)]
    (by_icaljs,) = icaljs_occurrences(path).values()
    (by_vobject,) = vobject_occurrences(path).values()
    assert by_icaljs == expected
    assert [unix(s) for s in by_vobject] == expected


def test_a_counted_series_that_skips_months_is_covered_to_its_last_occurrence(
        tmp_path: Path) -> None:
    from designed_alliance.core.items import Event, Person
    from designed_alliance.integrations import ical

    tz = ZoneInfo("America/New_York")
    start = datetime(2027, 1, 31, 9, 0, tzinfo=tz)
    # The 31st: seven months a year, so 30 occurrences run into 2031.
    event = Event(alliance_id="a", key="month-end", title="Month end", start=start,
                  end=start + timedelta(hours=1), timezone="America/New_York",
                  description="", rrule="FREQ=MONTHLY;BYMONTHDAY=31;COUNT=30",
                  organizer=Person("A", "a@example.com"), attendees=())
    path = tmp_path / "month-end.ics"
    path.write_bytes(ical.request(event, 0))
    # The zone is generated for the years the series spans (its open-ended yearly rules
    # would hide a short range from the parsers below).
    ((_, last),) = ical._spans([ical.vevent(event, 0)]).values()
    assert last == datetime(2031, 3, 31, 9, 0, tzinfo=tz)
    (by_icaljs,) = icaljs_occurrences(path).values()
    (by_vobject,) = vobject_occurrences(path).values()
    walls = [s.replace(tzinfo=None) for s in by_vobject]
    assert len(walls) == 30 and walls[-1] == datetime(2031, 3, 31, 9, 0)
    assert {w.day for w in walls} == {31}
    expected = [unix(w.replace(tzinfo=tz)) for w in walls]
    assert by_icaljs == expected
    assert [unix(s) for s in by_vobject] == expected
