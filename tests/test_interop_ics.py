"""The .ics files as other parsers read them: the import file and deadline reminders."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import vobject

from .conftest import example

TEAM = "mobile-app-beta-9q2m"


def read(path: Path) -> vobject.base.Component:
    return vobject.readOne(path.read_text(encoding="utf-8"))


def setup_team(cli, tmp_path: Path, text: str | None = None,  # type: ignore[no-untyped-def]
               to: str = "ics") -> Path:
    path = tmp_path / "team-project.toml"
    path.write_text(text if text is not None else example("team-project").read_text())
    result = cli("setup", path, "--to", to)
    assert result.exit_code == 0, result.output
    return path.parent / "alliance-out" / TEAM


def test_import_file_has_no_method_and_asks_nobody_to_reply(cli, isolated: Path,
                                                            tmp_path: Path) -> None:
    folder = setup_team(cli, tmp_path)
    whole = read(folder / "alliance.ics")
    # RFC 5546 §3.2.1: METHOD:PUBLISH allows no ATTENDEE; a plain calendar has no METHOD.
    assert "method" not in whole.contents
    events = whole.vevent_list
    assert len(events) == 7
    for event in events:
        attendees = event.contents["attendee"]
        assert {a.value for a in attendees} >= {"mailto:tomas@example.org"}
        assert all("RSVP" not in a.params for a in attendees), event.uid.value
    # The invites sent to people still ask for an answer.
    invite = read(folder / "checkins.ics")
    assert invite.method.value == "REQUEST"
    rsvp = {a.value: a.params.get("RSVP") for a in invite.vevent.contents["attendee"]}
    assert rsvp["mailto:tomas@example.org"] == ["TRUE"]
    assert rsvp["mailto:lena@example.org"] == ["FALSE"]  # the organizer


def reminder_of(path: Path) -> datetime:
    """When a deadline's reminder rings: DTSTART (local midnight) + its relative TRIGGER."""
    event = read(path).vevent
    (alarm,) = event.valarm_list
    trigger = alarm.trigger.value
    assert isinstance(trigger, timedelta)
    start = event.dtstart.value
    assert isinstance(start, date) and not isinstance(start, datetime)
    return datetime.combine(start, time(0)) + trigger


def test_deadline_reminders_ring_at_nine_on_the_working_day_before(cli, isolated: Path,
                                                                   tmp_path: Path) -> None:
    text = example("team-project").read_text()
    # launch: a hard due on Monday 12 Apr 2027 (a Friday, 16 Apr, in the example).
    assert "due = 2027-04-16" in text
    folder = setup_team(cli, tmp_path, text.replace("due = 2027-04-16", "due = 2027-04-12"))
    # Friday 19 Feb: reminded Thursday 09:00.
    assert reminder_of(folder / "commitment-design.ics") == datetime(2027, 2, 18, 9, 0)
    # Monday 12 Apr: reminded the Friday before, not on Sunday (and never at midnight).
    assert reminder_of(folder / "commitment-launch.ics") == datetime(2027, 4, 9, 9, 0)
    # Timed events keep their minutes before the start.
    checkin = read(folder / "checkins.ics").vevent
    assert checkin.valarm.trigger.value == -timedelta(minutes=10)


def test_every_file_written_parses_with_the_strict_ical_package(cli, isolated: Path,
                                                                tmp_path: Path) -> None:
    """`ical` (Home Assistant's) validates every property's value type, as `icalendar` does
    not; it must accept the import file, each invite, a cancel, and the mails' parts."""
    import email
    import email.policy

    from ical.calendar_stream import IcsCalendarStream

    text = example("team-project").read_text()
    folder = setup_team(cli, tmp_path, text, to="ics,eml")
    start = text.index('[[commitments]]\nid = "launch"')
    end = text.index("[", start + len("[[commitments]]"))
    path = tmp_path / "team-project.toml"
    path.write_text(text[:start] + text[end:])
    assert cli("setup", path, "--to", "ics,eml").exit_code == 0
    files = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.ics")}
    assert "commitment-launch.ics" in files and "METHOD:CANCEL" in files[
        "commitment-launch.ics"]
    for name in ("kickoff.eml", "changes-1.eml"):
        message = email.message_from_bytes((folder / name).read_bytes(),
                                           policy=email.policy.default)
        for i, part in enumerate(p for p in message.walk()
                                 if p.get_content_type() == "text/calendar"):
            files[f"{name}#{i}"] = part.get_content()
    assert len(files) == 8 + 7 + 1  # 8 files, 7 invites in the kickoff, 1 cancel
    for name, content in files.items():
        calendar = IcsCalendarStream.calendar_from_ics(content)
        assert len(calendar.events) == (6 if name == "alliance.ics" else 1), name
        timed = any(isinstance(e.dtstart, datetime) for e in calendar.events)
        # One VTIMEZONE where a time names the zone; none for all-day deadlines.
        assert [tz.tz_id for tz in calendar.timezones] == (
            ["Europe/Berlin"] if timed else []), name
