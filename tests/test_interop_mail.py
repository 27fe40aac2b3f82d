"""The mails as Python's `email` (policy.default), vobject and ical.js read them."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import vobject
from hypothesis import given, settings
from hypothesis import strategies as st

from designed_alliance.core.items import Message, Person
from designed_alliance.integrations import mail

from .conftest import example
from .interop import icaljs_occurrences

TEAM = "mobile-app-beta-9q2m"
TITLE = "Mobile app beta relaunch — “quotes” for Tomás and the whole team, end to end"


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def setup_team(cli, tmp_path: Path, text: str | None = None) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "team-project.toml"
    if text is None:
        text = example("team-project").read_text().replace('title = "Mobile app beta"',
                                                           f'title = "{TITLE}"')
    path.write_text(text)
    result = cli("setup", path, "--to", "ics,eml")
    assert result.exit_code == 0, result.output
    return path.parent / "alliance-out" / TEAM


def calendar_parts(message: EmailMessage) -> list[EmailMessage]:
    return [p for p in message.walk() if p.get_content_type() == "text/calendar"]


def test_kickoff_eml_every_calendar_part_is_utf8_and_reads_back(cli, isolated: Path,
                                                                tmp_path: Path) -> None:
    raw = (setup_team(cli, tmp_path) / "kickoff.eml").read_bytes()
    kickoff = parse(raw)
    assert kickoff["Subject"] == f"Our designed alliance: {TITLE}"
    parts = calendar_parts(kickoff)
    assert len(parts) == 7
    for part in parts:
        assert part.get_param("charset") == "utf-8"  # RFC 6047 §2.4
        assert part.get_param("method") == "REQUEST"
        text = part.get_content()  # decoded with the part's charset
        assert isinstance(text, str)
        cal = vobject.readOne(text)
        event = cal.vevent
        assert TITLE in event.summary.value or event.summary.value.startswith("Due: ")
        names = {a.params["CN"][0] for a in event.contents["attendee"]}
        assert "Tomás Ferreira" in names
    titles = {vobject.readOne(p.get_content()).vevent.summary.value for p in parts}
    assert f"{TITLE}: check-in" in titles  # "—", "“" and "”" came back whole


def test_eml_files_end_every_line_with_crlf(cli, isolated: Path, tmp_path: Path) -> None:
    raw = (setup_team(cli, tmp_path) / "kickoff.eml").read_bytes()
    assert raw.count(b"\n") > 50
    assert raw.count(b"\n") == raw.count(b"\r\n")  # RFC 5322 §2.1: lines end in CRLF
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert parse(raw)["Subject"] == f"Our designed alliance: {TITLE}"


def message(subject: str, text: str = "Hola Tomás — hasta luego") -> Message:
    return Message(alliance_id="a", key="changes", subject=subject, text=text,
                   html=f"<p>{text}</p>", sender=Person("Ana Ruiz", "ana@example.com"),
                   to=(Person("Tomás Ferreira", "tomas@example.org"),))


# Found by the property test below against `email`'s own folding: the space before a fold
# between two encoded words was lost.
SUBJECTS = [
    "Changes to our designed alliance: Website relaunch — “quotes” and the brand new pages",
    "Changes to our designed alliance: relaunch — — relaunch café relaunch ñandú Tomás "
    "ñandú — “quotes”",
    "Changes to our designed alliance: — ñandú — café café café brand",
    "Our designed alliance: 网站改版 — 一个非常长的标题，用来测试折行 以及空格 是否保留 在每一行",
    "Short — one",
]


@pytest.mark.parametrize("subject", SUBJECTS)
def test_long_non_ascii_subjects_keep_every_space(subject: str) -> None:
    raw = bytes(mail.build(message(subject)))
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    assert parse(raw)["Subject"] == subject


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from([*"ab cdé—“”ñ漢 \t", "😀"]), min_size=1,
               max_size=200).filter(lambda s: not s.isascii()))
def test_any_subject_reads_back_exactly(subject: str) -> None:
    # Leading, trailing and repeated spaces, tabs, 4-byte characters: all come back.
    assert parse(bytes(mail.build(message(subject))))["Subject"] == subject


def invite(method: str = "REQUEST") -> mail.Invite:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from designed_alliance.core.items import Event
    from designed_alliance.integrations import ical

    zone = ZoneInfo("Europe/Berlin")
    event = Event(alliance_id="a", key="checkins", title="Check-in — “Tomás”",
                  start=datetime(2027, 1, 4, 9, 30, tzinfo=zone),
                  end=datetime(2027, 1, 4, 10, tzinfo=zone), timezone="Europe/Berlin",
                  description="Was läuft?", rrule="FREQ=WEEKLY;COUNT=10",
                  organizer=Person("Ana Ruiz", "ana@example.com"),
                  attendees=(Person("Ana Ruiz", "ana@example.com"),
                             Person("Tomás Ferreira", "tomas@example.org")))
    data = ical.request(event, 3) if method == "REQUEST" else ical.calendar(
        [ical.vevent(event, 3)], method).to_ical()
    return mail.Invite("checkins.ics", method, data)


def test_imip_invite_is_text_plus_one_inline_request(tmp_path: Path) -> None:
    built = mail.build_invite(message("Invitation: Check-in — “Tomás”"), invite())
    parsed = parse(bytes(built))
    assert parsed.get_content_type() == "multipart/alternative"
    assert "X-Unsent" not in parsed  # sent, not a draft
    plain, calendar = list(parsed.iter_parts())
    assert plain.get_content_type() == "text/plain"
    assert plain.get_content().splitlines() == ["Hola Tomás — hasta luego"]
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_params()[1:] == [("method", "REQUEST"), ("charset", "utf-8")]
    assert calendar.get_content_disposition() is None  # inline: the body, not an attachment
    text = calendar.get_content()
    cal = vobject.readOne(text)
    assert cal.method.value == "REQUEST"
    assert len(cal.vevent_list) == 1
    rsvp = {a.value: a.params.get("RSVP") for a in cal.vevent.contents["attendee"]}
    assert rsvp == {"mailto:ana@example.com": ["FALSE"], "mailto:tomas@example.org": ["TRUE"]}
    # ical.js reads the very bytes that were carried: ten weekly occurrences.
    path = tmp_path / "carried.ics"
    path.write_bytes(calendar.get_content().encode("utf-8"))
    (times,) = icaljs_occurrences(path).values()
    assert len(times) == 10 and times[1] - times[0] == 7 * 86400


def test_one_invite_goes_inline_several_as_attachments() -> None:
    one = parse(bytes(mail.build(message("Changes — one"), [invite("CANCEL")])))
    assert one.get_content_type() == "multipart/alternative"
    kinds = [p.get_content_type() for p in one.iter_parts()]
    assert kinds == ["text/plain", "text/html", "text/calendar"]
    (part,) = calendar_parts(one)
    assert part.get_param("method") == "CANCEL"
    assert part.get_content_disposition() is None
    several = parse(bytes(mail.build(message("Kickoff"), [invite(), invite()])))
    assert several.get_content_type() == "multipart/mixed"
    parts = calendar_parts(several)
    assert [p.get_content_disposition() for p in parts] == ["attachment", "attachment"]
    assert {p.get_param("charset") for p in parts} == {"utf-8"}


def test_change_summary_with_one_changed_event_carries_it_inline(cli, isolated: Path,
                                                                 tmp_path: Path) -> None:
    folder = setup_team(cli, tmp_path)
    path = tmp_path / "team-project.toml"
    text = path.read_text()
    assert 'time = "17:00"' in text
    path.write_text(text.replace('time = "17:00"', 'time = "18:00"'))
    result = cli("setup", path, "--to", "ics,eml")
    assert result.exit_code == 0, result.output
    summary = parse((folder / "changes-1.eml").read_bytes())
    assert summary.get_content_type() == "multipart/alternative"
    (part,) = calendar_parts(summary)
    assert part.get_content_disposition() is None
    assert part.get_param("method") == "REQUEST" and part.get_param("charset") == "utf-8"
    event = vobject.readOne(part.get_content()).vevent
    assert event.summary.value == f"Celebrate: {TITLE}"
    assert event.dtstart.value.hour == 18
    assert int(event.sequence.value) == 1


def test_an_invite_whose_method_disagrees_is_refused() -> None:
    wrong = mail.Invite("x.ics", "CANCEL", invite().data)
    with pytest.raises(ValueError, match="METHOD:REQUEST inside but method=CANCEL"):
        mail.build_invite(message("x"), wrong)
