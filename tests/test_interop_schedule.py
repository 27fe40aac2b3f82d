"""Reviews that keep a check-in weekday, and each member's local check-in time, as other
parsers read them (vobject and ical.js for the invites, html.parser for the agreement)."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import vobject

from .interop import icaljs_occurrences


def alliance(zone: str = "America/New_York", *, day: str = "monday", at: str = "09:30",
             starts: str = "2026-11-02", deadline: str = "2030-10-31",
             review: str = "month", checkins: bool = True,
             others: tuple[tuple[str, str], ...] = (("mei", "Asia/Shanghai"),)) -> str:
    members = "".join(f'''
[[members]]
id = "{member}"
name = "{member.title()} Chen"
email = "{member}@example.com"
timezone = "{tz}"
needs = ["Notes"]
offers = ["An agenda"]
''' for member, tz in others)
    return f'''
[alliance]
id = "schedule-interop-1"
title = "Schedule interop"
timezone = "{zone}"
starts = {starts}
deadline = {deadline}
review_every = "{review}"

[goal]
statement = "Meet when everyone can"
why = "Time zones are hard"

[[members]]
id = "ana"
name = "Ana Ruiz"
email = "ana@example.com"
needs = ["An agenda"]
offers = ["Notes"]
{members}
''' + (f'''
[checkins]
every = "week"
day = "{day}"
time = "{at}"
duration = "30 minutes"
''' if checkins else "")


def write(cli, tmp_path: Path, text: str) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "alliance.toml"
    path.write_text(text)
    result = cli("setup", path, "--to", "ics")
    assert result.exit_code == 0, result.output
    return path.parent / "alliance-out" / "schedule-interop-1"


def test_monthly_review_stays_on_the_checkin_weekday_for_four_years(cli, isolated: Path,
                                                                    tmp_path: Path) -> None:
    folder = write(cli, tmp_path, alliance())
    new_york = ZoneInfo("America/New_York")
    (times,) = icaljs_occurrences(folder / "review.ics").values()
    seen = [datetime.fromtimestamp(t, UTC).astimezone(new_york) for t in times]
    assert len(seen) == 47  # Dec 2026 … Oct 2030
    assert {s.strftime("%A") for s in seen} == {"Monday"}  # the check-in day, never a weekend
    assert [(s.year, s.month) for s in seen] == [
        (2026 + (11 + i) // 12, (11 + i) % 12 + 1) for i in range(47)]  # one a month
    assert {s.day for s in seen} <= set(range(1, 8))  # the first Monday
    # Not 16:00 (04:00 for Mei in Shanghai) nor right after the check-in (23:00 there): the
    # nearest quarter hour that is daytime for both on every review, 07:30 (19:30/20:30).
    assert {(s.hour, s.minute) for s in seen} == {(7, 30)}
    event = vobject.readOne((folder / "review.ics").read_text(encoding="utf-8")).vevent
    starts = list(event.getrruleset())
    assert [s.strftime("%A") for s in starts] == ["Monday"] * 47


def test_review_without_checkins_lands_on_working_days(cli, isolated: Path,
                                                       tmp_path: Path) -> None:
    # Starts on a Thursday: a month later is Sunday 31 January 2027.
    folder = write(cli, tmp_path, alliance(starts="2026-12-31", deadline="2028-12-31",
                                           checkins=False))
    event = vobject.readOne((folder / "review.ics").read_text(encoding="utf-8")).vevent
    starts = list(event.getrruleset())
    assert len(starts) == 23
    assert starts[0].date().isoformat() == "2027-02-01"  # Sun 31 Jan → Monday 1 Feb
    assert {s.strftime("%A") for s in starts} == {"Monday"}


class _Items(HTMLParser):
    """The text of every <li> in the agreement."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:  # type: ignore[type-arg]
        if tag == "li":
            self.items.append("")
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "li":
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.items[-1] += data


def agreement(cli, tmp_path: Path, text: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(the check-in line of the HTML agreement, the Markdown agreement)."""
    path = tmp_path / "alliance.toml"
    path.write_text(text)
    html = cli("show", path, "--format", "html")
    assert html.exit_code == 0, html.output
    parser = _Items()
    parser.feed(html.output)
    (line,) = [i for i in parser.items if i.startswith("We check in")]
    markdown = cli("show", path)
    assert markdown.exit_code == 0, markdown.output
    return " ".join(line.split()), markdown.output


@pytest.mark.parametrize(("text", "expected"), [
    # New York changes the clocks on 14 Mar and 7 Nov 2027, Shanghai never.
    (alliance(deadline="2027-12-31"),
     "22:30 for Mei Chen (Asia/Shanghai; 21:30 from Mon 15 Mar 2027; "
     "22:30 from Mon 8 Nov 2027)"),
    # Sunday evening in Los Angeles for a Monday lunchtime check-in in Shanghai.
    (alliance("Asia/Shanghai", at="13:15", deadline="2027-12-31",
              others=(("mei", "America/Los_Angeles"),)),
     "Sunday 21:15 for Mei Chen (America/Los_Angeles; Sunday 22:15 from Sun 14 Mar 2027; "
     "Sunday 21:15 from Sun 7 Nov 2027)"),
    # Berlin and New York change on different Sundays: three weeks apart in spring.
    (alliance(deadline="2027-06-30", others=(("ben", "Europe/Berlin"),
                                             ("raj", "Asia/Kolkata"))),
     "15:30 for Ben Chen (Europe/Berlin; 14:30 from Mon 15 Mar 2027; "
     "15:30 from Mon 29 Mar 2027), 20:00 for Raj Chen (Asia/Kolkata; "
     "19:00 from Mon 15 Mar 2027)"),
])
def test_local_times_follow_each_daylight_saving_period(cli, isolated: Path, tmp_path: Path,
                                                        text: str, expected: str) -> None:
    line, markdown = agreement(cli, tmp_path, text)
    assert f"that is {expected}." in line
    assert f"that is {expected}." in markdown


def test_show_says_which_weekday_the_review_keeps(cli, isolated: Path,
                                                  tmp_path: Path) -> None:
    _, markdown = agreement(cli, tmp_path, alliance())
    assert "we review it every month on first Monday, a check-in day," in markdown
    _, markdown = agreement(cli, tmp_path, alliance(review="4 weeks", day="thursday"))
    assert "we review it every 4 weeks on Thursday, a check-in day," in markdown


@pytest.mark.parametrize("until", ["20270330", "20270330T235959", "20270331T035959Z"])
def test_an_until_the_user_wrote_is_a_utc_instant_every_parser_ends_on(
        cli, isolated: Path, tmp_path: Path, until: str) -> None:
    """RFC 5545 §3.3.10: next to a DTSTART with a zone, UNTIL is UTC. A date or a local time
    in the file is the end of that local day (or that time) in New York — the same last
    check-in, Tuesday 30 March 2027, for ical.js and vobject."""
    text = alliance(deadline="2027-06-30").replace(
        'every = "week"\nday = "monday"', f'rrule = "FREQ=WEEKLY;BYDAY=TU;UNTIL={until}"')
    out = write(cli, tmp_path, text)
    checkins = out / "checkins.ics"
    with checkins.open(encoding="utf-8") as handle:
        event = vobject.readOne(handle).vevent
    rule = dict(part.split("=", 1) for part in event.rrule.value.split(";"))
    assert rule["UNTIL"] == "20270331T035959Z"  # 23:59:59 on the 30th in New York (EDT, -4)
    zone = ZoneInfo("America/New_York")
    last = datetime(2027, 3, 30, 9, 30, tzinfo=zone)
    by_vobject = max(list(event.getrruleset(addRDate=True)))
    assert by_vobject == last
    by_icaljs = max(icaljs_occurrences(checkins)[str(event.uid.value)])
    assert datetime.fromtimestamp(by_icaljs, UTC) == last.astimezone(UTC)
