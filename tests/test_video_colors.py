"""Meetings ready to join (issue 19) in the file targets and in core: the loader's new keys,
CONFERENCE/URL/COLOR read back by ical.js, the link in the words people read, one mail
thread, and the buster for video talk without a link."""

from __future__ import annotations

import email
import email.policy
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import icalendar
import pytest

from designed_alliance.core.agenda import agenda
from designed_alliance.core.check import check
from designed_alliance.core.errors import BadInput
from designed_alliance.core.journal import Journal
from designed_alliance.core.load import load, loads
from designed_alliance.core.schedule import schedule

from .conftest import EXAMPLES
from .interop import icaljs_properties

BASE = (EXAMPLES / "website-relaunch.toml").read_text(encoding="utf-8")
ZOOM = "https://zoom.us/j/123456?pwd=a,b;c"


def with_keys(checkins: str = "", celebration: str = "", extra: str = "",
              text: str = BASE) -> str:
    """The example with lines added at the top of [checkins] / [celebration], plus tables."""
    text = text.replace("[checkins]\n", f"[checkins]\n{checkins}\n")
    text = text.replace("[celebration]\n", f"[celebration]\n{celebration}\n")
    return text + extra


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alliance.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- the loader ---------------------------------------------------------------------------------
def test_video_and_colours_load_and_reach_every_kind_of_event() -> None:
    alliance = loads(with_keys('video = "Google-Meet"\ncolor = "Tomato"',
                               f'video = "{ZOOM}"',
                               '\n[review]\nvideo = "teams"\ncolor = "seagreen"\n'
                               '\n[colors]\ndeadlines = "gold"\n'), "a.toml")
    events = {e.key: e for e in schedule(alliance)}
    assert (events["checkins"].video, events["checkins"].color) == ("google-meet", "tomato")
    assert (events["review"].video, events["review"].color) == ("teams", "seagreen")
    assert (events["celebration"].video, events["celebration"].color) == (ZOOM, "gold")
    assert events["celebration"].video_url == ZOOM and events["checkins"].video_url == ""
    assert {events[k].color for k in ("commitment:design", "commitment:copy")} == {"gold"}


def test_defaults_differ_by_kind_and_the_review_joins_like_the_check_ins() -> None:
    events = {e.key: e for e in schedule(loads(with_keys(f'video = "{ZOOM}"'), "a.toml"))}
    assert events["review"].video == ZOOM  # the same people meet the same way
    assert "video" not in {k for k in events["commitment:design"].content()}
    colours = {events[k].color for k in ("checkins", "review", "commitment:design",
                                         "celebration")}
    assert len(colours) == 4


def test_defaults_keep_fingerprints_and_an_override_changes_one() -> None:
    plain = {e.key: e for e in schedule(loads(BASE, "a.toml"))}
    for event in plain.values():
        assert "color" not in event.content() and "video" not in event.content()
    tinted = {e.key: e for e in schedule(loads(with_keys('color = "tomato"'), "a.toml"))}
    changed = {k for k in plain if plain[k].fingerprint != tinted[k].fingerprint}
    assert changed == {"checkins"}


@pytest.mark.parametrize(("line", "key", "says"), [
    ('video = "zoom"', "checkins.video", '"google-meet", "teams"'),
    ('video = "meet"', "checkins.video", 'write "google-meet"'),
    ('video = "ftp://files.example.com/x"', "checkins.video", "meeting's URL"),
    ('video = "https://"', "checkins.video", "meeting's URL"),
    ('color = "tomatoe"', "checkins.color", "did you mean 'tomato'"),
    ("color = 7", "checkins.color", "string"),
])
def test_a_bad_value_is_one_line_with_file_line_and_key(cli, tmp_path: Path, line: str,
                                                        key: str, says: str) -> None:
    path = write(tmp_path, with_keys(line))
    expected_line = path.read_text().splitlines().index(line) + 1
    result = cli("check", path)
    assert result.exit_code == 2
    (message,) = result.stderr.strip().splitlines()
    assert message.startswith(f"alliance: {path}:{expected_line}: {key}: "), message
    assert says in message


def test_a_bad_deadline_colour_names_the_colors_table(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + '\n[colors]\ndeadlines = "blurple"\n')
    with pytest.raises(BadInput) as caught:
        load(path)
    assert caught.value.key == "colors.deadlines"
    assert caught.value.line == len(BASE.splitlines()) + 3
    with pytest.raises(BadInput, match="is not a known key"):
        load(write(tmp_path, BASE + '\n[colors]\ncheckins = "gold"\n'))


# -- .ics, read back by ical.js -----------------------------------------------------------------
def test_ics_carries_conference_url_location_and_color_for_icaljs(cli, tmp_path: Path) -> None:
    text = with_keys(f'video = "{ZOOM}"', extra='\n[colors]\ndeadlines = "darkorange"\n')
    text = text.replace('where = "https://meet.example.com/relaunch"\n', "")
    out = tmp_path / "out"
    result = cli("setup", write(tmp_path, text), "--to", "ics", "--out", out, "--yes")
    assert result.exit_code == 0, result.output
    found = icaljs_properties(out / "alliance.ics")
    by_key = {uid.split(".")[0]: props for uid, props in found.items()}
    checkins = by_key["checkins"]
    (conference,) = checkins["conference"]
    assert conference["value"] == ZOOM and conference["type"] == "uri"
    assert conference["params"]["feature"] == "VIDEO"
    assert checkins["url"] == ZOOM and checkins["location"] == ZOOM
    assert by_key["review"]["conference"][0]["value"] == ZOOM
    assert by_key["celebration"]["conference"] == []  # in person: no call
    assert by_key["commitment-design"]["color"] == "darkorange"
    assert checkins["color"] == "royalblue" and by_key["celebration"]["color"] == "gold"
    # A room named in `where` stays the LOCATION; the link is still CONFERENCE and URL.
    with_room = with_keys(f'video = "{ZOOM}"').replace(
        'where = "https://meet.example.com/relaunch"', 'where = "Room 4"')
    out2 = tmp_path / "out2"
    assert cli("setup", write(tmp_path, with_room), "--to", "ics", "--out", out2,
               "--yes").exit_code == 0
    props = icaljs_properties(out2 / "checkins.ics")
    (only,) = props.values()
    assert (only["location"], only["url"]) == ("Room 4", ZOOM)


@pytest.mark.parametrize(("video", "to"), [("google-meet", "google"), ("teams", "outlook")])
def test_a_service_meeting_in_a_file_target_is_refused_at_plan_time(cli, tmp_path: Path,
                                                                    video: str,
                                                                    to: str) -> None:
    out = tmp_path / "out"
    path = write(tmp_path, with_keys(f'video = "{video}"'))
    for command in (("plan", path, "--to", "ics", "--out", out),
                    ("setup", path, "--to", "ics", "--out", out, "--yes")):
        result = cli(*command)
        assert result.exit_code == 2, result.output
        (message,) = result.stderr.strip().splitlines()
        assert message.startswith("alliance: checkins.video: ") and f"--to {to}" in message
    assert not out.exists()


# -- words people read --------------------------------------------------------------------------
class Links(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v]


def test_kickoff_agreement_and_descriptions_say_how_to_join(cli, tmp_path: Path) -> None:
    text = with_keys(f'video = "{ZOOM}"', 'video = "google-meet"')
    out = tmp_path / "out"
    # eml only: a Google Meet has no link a file could carry (ics refuses it, see above).
    result = cli("setup", write(tmp_path, text), "--to", "eml", "--out", out, "--yes")
    assert result.exit_code == 0, result.output
    kickoff = email.message_from_bytes((out / "kickoff.eml").read_bytes(),
                                       policy=email.policy.default)
    plain = kickoff.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = kickoff.get_body(("html",)).get_content()
    assert f"- We join the check-ins by video: {ZOOM}\n" in plain
    assert "Joining from afar: Google Meet (the link is in the calendar invitation)" in plain
    assert ZOOM in Links(html).hrefs
    invites = {p.get_filename(): p.get_content() for p in kickoff.iter_attachments()}
    cal = icalendar.Calendar.from_ical(invites["checkins.ics"])
    (vevent,) = cal.walk("VEVENT")
    assert str(vevent["DESCRIPTION"]).splitlines()[1] == f"Join the call: {ZOOM}"
    shown = cli("show", write(tmp_path, text), "--format", "md")
    assert f"We join the check-ins by video: {ZOOM}" in shown.output


def test_agenda_has_the_link_of_its_own_meeting() -> None:
    alliance = loads(with_keys(f'video = "{ZOOM}"',
                               extra='\n[review]\nvideo = "https://meet.example.com/review"\n'),
                     "a.toml")
    checkin = agenda(alliance, Journal(), date(2026, 12, 7))
    assert checkin is not None and f"Join the call: {ZOOM}" in checkin.text.splitlines()
    assert ZOOM in Links(checkin.html).hrefs
    review = agenda(alliance, Journal(), date(2027, 1, 4))
    assert review is not None and "review" in review.topic  # the subject is the thread's
    assert "Join the call: https://meet.example.com/review" in review.text.splitlines()
    plain = agenda(loads(BASE, "a.toml"), Journal(), date(2026, 12, 7))
    assert plain is not None and "Join the call" not in plain.text


# -- one thread -----------------------------------------------------------------------------------
def test_change_summaries_reply_in_the_kickoffs_thread(cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    path = write(tmp_path, BASE)
    assert cli("setup", path, "--out", out, "--yes").exit_code == 0
    path.write_text(BASE.replace('time = "09:30"', 'time = "10:00"'))
    assert cli("setup", path, "--out", out, "--yes").exit_code == 0
    parse = email.policy.default
    kickoff = email.message_from_bytes((out / "kickoff.eml").read_bytes(), policy=parse)
    summary = email.message_from_bytes((out / "changes-1.eml").read_bytes(), policy=parse)
    assert "In-Reply-To" not in kickoff and "References" not in kickoff
    assert summary["In-Reply-To"] == kickoff["Message-ID"]
    assert summary["References"] == kickoff["Message-ID"]
    assert summary["Message-ID"] != kickoff["Message-ID"]


def test_agendas_and_nudges_reply_to_the_kickoff_too() -> None:
    from designed_alliance.core.items import message_id
    from designed_alliance.integrations import mail

    alliance = loads(BASE, "a.toml")
    message = agenda(alliance, Journal(), date(2026, 12, 7))
    assert message is not None
    parsed = email.message_from_bytes(bytes(mail.build(message)), policy=email.policy.default)
    assert parsed["In-Reply-To"] == message_id(alliance.id, "kickoff")
    assert parsed["References"] == message_id(alliance.id, "kickoff")


# -- the buster -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("use", "warned"), [
    ('{ channel = "Zoom", for = "check-ins" }', True),
    ('{ channel = "Slack", for = "video calls when stuck" }', True),
    ('{ channel = "Microsoft Teams" }', True),
    ('{ channel = "Slack", for = "planning meetings" }', False),  # "meetings" is not Meet
    ('{ channel = "Slack", for = "day-to-day questions" }', False),
])
def test_check_warns_when_video_is_agreed_but_check_ins_have_no_link(
        tmp_path: Path, use: str, warned: bool) -> None:
    text = BASE.replace('where = "https://meet.example.com/relaunch"\n', "")
    text = text.replace(
        'use = [{ channel = "Slack", for = "day-to-day questions", respond_within = "4 hours" }]',
        f"use = [{use}]")
    assert f"use = [{use}]" in text
    path = write(tmp_path, text)
    found = [f for f in check(load(path)) if f.code == "video-no-link"]
    assert bool(found) is warned
    if warned:
        assert found[0].key == "checkins.video"
        assert found[0].line == text.splitlines().index("[checkins]") + 1
    linked = write(tmp_path, with_keys('video = "teams"', text=text))
    assert [f for f in check(load(linked)) if f.code == "video-no-link"] == []


def test_caldav_refuses_a_service_meeting_at_plan_time(cli, tmp_path: Path) -> None:
    """A CalDAV server, like a file, cannot make a Meet or Teams call. (The mail targets
    describe the meeting; the calendar service that makes it is another target.)"""
    target = "caldav"
    path = tmp_path / "a.toml"
    path.write_text(BASE.replace(
        'where = "https://meet.example.com/relaunch"',
        'where = "Room 4"\nvideo = "google-meet"'))
    config = tmp_path / "c.toml"
    config.write_text('[caldav]\nurl = "http://127.0.0.1:9/cal/"\nusername = "ana"\n'
                      'password_env = "NOPE"\n')
    result = cli("--config", config, "plan", path, "--to", target)
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert "checkins.video" in line and "google-meet" in line
    assert not (tmp_path / "alliance-out").exists()
