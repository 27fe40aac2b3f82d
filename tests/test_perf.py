"""The performance work of issue 15 keeps every output exactly as it was.

The fast iCalendar writer is compared byte for byte with the icalendar path it replaces, the
fast mail writer with the email generator, the tag scanner with the icalendar reader; the
rendered items kept in state with a fresh rendering. Counts, not timings: nothing here is
flaky on a busy machine.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import sqlite3
import subprocess
import sys
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from designed_alliance.core import compose
from designed_alliance.core.config import Config, Defaults
from designed_alliance.core.items import Event, Message, Person
from designed_alliance.core.journal import load_journal
from designed_alliance.core.load import load, loads
from designed_alliance.core.run import apply_plan, desired, make_plan, make_targets
from designed_alliance.core.state import State
from designed_alliance.core.target import BUILTIN, Options
from designed_alliance.integrations import files, ical, ics, mail

from .conftest import ROOT, alliance_examples, example, run_probed

STAMP = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def reference(events: list[Event], sequences: dict[str, int], method: str | None,
              name: str | None, rsvp: bool) -> bytes:
    """What the icalendar path writes (the code the fast writer replaced)."""
    components = [ical.vevent(e, sequences.get(e.key, 0), dtstamp=STAMP, rsvp=rsvp)
                  for e in events]
    return ical.calendar(components, method, name=name).to_ical()


def fast(events: list[Event], sequences: dict[str, int], method: str | None,
         name: str | None, rsvp: bool) -> bytes | None:
    return ical._fast_calendar(events, sequences, method, name, rsvp=rsvp, dtstamp=STAMP)


def event(**changes: object) -> Event:
    values: dict[str, object] = dict(
        alliance_id="a-1", key="commitment:x", title="Check-in", timezone="Europe/Berlin",
        start=datetime(2027, 1, 4, 9, 30, tzinfo=BERLIN),
        end=datetime(2027, 1, 4, 10, 0, tzinfo=BERLIN), description="Agenda",
        organizer=Person("Ana Ruiz", "ana@example.com"),
        attendees=(Person("Ana Ruiz", "ana@example.com"), Person("Ben", "ben@example.com")))
    values.update(changes)
    return Event(**values)  # type: ignore[arg-type]


LONG = "Goal: ship the beta — “on time”; measures, questions, Tomás, 東京, 🎉 " * 9
ODD_EVENTS = {
    "quoted-name-parts": event(attendees=(Person("O'Brien, Pat: QA", "pat@example.com"),
                                          Person("Zoë ’Smart’ Quote", "z@example.com"))),
    "long-unicode": event(title=LONG[:120], description=LONG),
    "escapes-at-folds": event(description=("x" * 73 + "\\" + "y" * 72 + ";" + "^" * 80
                                           + "\n" * 3 + "\r\n,")),
    "all-day-alarms": event(start=date(2027, 3, 1), end=date(2027, 3, 2),
                            alarms_minutes=(1440, 4320), categories=("a,b", "c;d")),
    "video-color": event(video="https://meet.example.org/x?y=1&z=2", color="royalblue",
                         location=""),
    "room-and-link": event(video="https://meet.example.org/r", location="Room 4, floor 2"),
    "count-rule": event(rrule="FREQ=WEEKLY;COUNT=12;BYDAY=MO,TH", alarms_minutes=(10,)),
    "until-rule": event(rrule="BYDAY=MO;FREQ=WEEKLY;UNTIL=20270430T215959Z;INTERVAL=2"),
    "open-rule": event(rrule="FREQ=MONTHLY;BYDAY=1MO"),
    "utc": event(timezone="UTC", start=datetime(2027, 1, 4, 9, tzinfo=ZoneInfo("UTC")),
                 end=datetime(2027, 1, 4, 10, tzinfo=ZoneInfo("UTC"))),
    "etc-utc": event(timezone="Etc/UTC",
                     start=datetime(2027, 1, 4, 9, tzinfo=ZoneInfo("Etc/UTC")),
                     end=datetime(2027, 1, 4, 10, tzinfo=ZoneInfo("Etc/UTC"))),
    "other-zone": event(timezone="Asia/Kolkata",
                        start=datetime(2027, 1, 4, 9, tzinfo=ZoneInfo("Asia/Kolkata")),
                        end=datetime(2027, 1, 4, 10, tzinfo=ZoneInfo("Asia/Kolkata"))),
    "optional-member": event(attendees=(Person("Ana Ruiz", "ana@example.com"),
                                        Person("Cy", "cy@example.com", "OPT-PARTICIPANT"))),
    "no-attendees": event(attendees=()),
    "tab-in-name": event(attendees=(Person("Tab\tName", "t@example.com"),)),
    "odd-key": event(key="commitment:a,b;c\\d"),
}


@pytest.mark.parametrize("name", sorted(ODD_EVENTS))
@pytest.mark.parametrize("method,rsvp", [("REQUEST", True), (None, False)])
def test_fast_writer_writes_what_icalendar_writes(name: str, method: str | None,
                                                  rsvp: bool) -> None:
    events = [ODD_EVENTS[name]]
    written = fast(events, {events[0].key: 3}, method, "Calendar, “named”", rsvp)
    assert written == reference(events, {events[0].key: 3}, method, "Calendar, “named”", rsvp)
    # And another parser reads it back as what the event says.
    parsed = icalendar.Calendar.from_ical(written)
    (vevent,) = parsed.walk("VEVENT")
    assert str(vevent["SUMMARY"]) == events[0].title
    assert str(vevent.get("DESCRIPTION", "")) == events[0].description.replace(
        "\r\n", "\n").replace("\r", "\n")
    assert int(vevent["SEQUENCE"]) == 3


@pytest.mark.parametrize("path", alliance_examples(), ids=lambda p: p.stem)
def test_fast_writer_matches_for_every_example_and_the_whole_file(path: Path) -> None:
    alliance = load(path)
    events = list(desired(alliance, Config(), load_journal(alliance)).events)
    sequences = {e.key: n for n, e in enumerate(events)}
    for one in events:
        assert fast([one], sequences, "REQUEST", None, True) == reference(
            [one], sequences, "REQUEST", None, True), one.key
    assert fast(events, sequences, None, alliance.title, False) == reference(
        events, sequences, None, alliance.title, False)


@pytest.mark.parametrize("value", ['Pat "the boss"', "bell\x07", "caret^name", "nul\x00"])
def test_what_the_fast_writer_cannot_write_goes_the_icalendar_way(value: str) -> None:
    odd = event(attendees=(Person(value, "pat@example.com"),), title=f"x {value}")
    assert fast([odd], {}, "REQUEST", None, True) is None
    data = ical.request(odd, 0)  # written all the same, by icalendar, as before
    (vevent,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert str(vevent["UID"]) == odd.uid


def test_one_invite_per_event_and_run_is_shared_by_the_ics_and_eml_files(cli, tmp_path: Path
                                                                          ) -> None:
    out = tmp_path / "out"
    assert cli("setup", example("team-project"), "--out", out).exit_code == 0
    kickoff = email.message_from_bytes((out / "kickoff.eml").read_bytes(),
                                       policy=email.policy.default)
    attached = {part.get_filename(): part.get_content()
                for part in kickoff.iter_attachments()}
    invites = sorted(p.name for p in out.glob("*.ics") if p.name != "alliance.ics")
    assert sorted(attached) == invites and len(invites) == 7
    for name in invites:  # the same object: same DTSTAMP, byte for byte
        body = attached[name]
        assert (body.encode() if isinstance(body, str) else body) == (out / name).read_bytes()


def test_many_invites_are_written_as_the_email_generator_writes_them(tmp_path: Path) -> None:
    from bench.generate import alliance_text

    long_id = "c00003-with-a-long-identifier-so-the-file-name-header-folds"
    text = alliance_text(30, 3).replace('"c00003"', f'"{long_id}"')
    want = desired(loads(text, "x.toml"), Config())
    invites = mail.invites_for_all(want.events, {})
    assert any(len(i.filename) > 40 for i in invites)
    when = datetime(2026, 12, 1, tzinfo=UTC)
    written = mail.build_bytes(want.messages[0], invites, date=when)
    generated = bytes(mail.build(want.messages[0], invites, date=when))

    def same_boundaries(data: bytes) -> bytes:
        return re.sub(rb"={15}\d+==", b"BOUNDARY", data)

    assert same_boundaries(written) == same_boundaries(generated)
    parsed = email.message_from_bytes(written, policy=email.policy.default)
    parts = list(parsed.iter_attachments())
    assert [p.get_filename() for p in parts] == [i.filename for i in invites]
    assert all(p.get_param("method") == "REQUEST" for p in parts)
    assert parts[-1].get_content().encode() == invites[-1].data


def test_the_method_is_read_from_the_calendar_properties() -> None:
    folded = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETH\r\n OD:CANCEL\r\nBEGIN:VEVENT\r\n"
    assert mail._method_of(folded) == "CANCEL"
    late = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nMETHOD:REQUEST\r\nEND:VEVENT\r\n"
    assert mail._method_of(late) == ""  # inside a component it is not the calendar's
    with pytest.raises(ValueError, match="METHOD:CANCEL inside but method=REQUEST"):
        mail._check_method(mail.Invite("x.ics", "REQUEST", folded))


def test_the_tag_scanner_reads_what_icalendar_reads(cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli("setup", example("team-project"), "--out", out).exit_code == 0
    alliance_id = load(example("team-project")).id
    for path in sorted(out.glob("*.ics")):
        data = path.read_bytes()
        scanned = ical.scan_tags(data, alliance_id)
        parsed = ics.ical_remotes(data, alliance_id, path.name)
        assert scanned == {k: (r.fingerprint, r.sequence) for k, r in parsed.items()}
        assert scanned, path.name
        assert ical.scan_tags(data, "another-alliance") == {}


@pytest.mark.parametrize("data", [
    b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n",  # truncated
    b"\xff\xfe garbage",
    b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nEND:VEVENT\nEND:VCALENDAR\n",  # bare LF
    b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nX-DESIGNED-ALLIANCE-ID:a\r\nX-DESIGNED-ALLIANCE-KEY:k"
    b"\r\nSEQUENCE:nine\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nX-DESIGNED-ALLIANCE-ID:a\r\nX-DESIGNED-ALLIANCE-KEY:k"
    b"\r\nX-DESIGNED-ALLIANCE-KEY:j\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
], ids=["truncated", "not-utf8", "bare-lf", "sequence-text", "key-twice", "unbalanced"])
def test_the_tag_scanner_leaves_odd_files_to_icalendar(data: bytes) -> None:
    assert ical.scan_tags(data, "a") is None


def test_an_unchanged_rerun_renders_nothing_and_loads_neither_jinja2_nor_icalendar(
        cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    assert cli("setup", example("team-project"), "--out", out).exit_code == 0

    def no_rendering(*args: object, **kwargs: object) -> str:
        raise AssertionError("rendered on an unchanged re-run")

    with monkeypatch.context() as patched:
        patched.setattr(compose, "environment", no_rendering)  # every template goes through it
        again = cli("setup", example("team-project"), "--out", out, "--json")
    assert again.exit_code == 0, again.output
    plan = json.loads(again.output)["plan"]
    actions = {c["action"] for t in plan["targets"] for c in t["changes"]}
    assert actions == {"keep"}
    done, loaded = run_probed(["setup", str(example("team-project")), "--out", str(out)])
    assert done.returncode == 0, done.stderr
    assert not {m.split(".")[0] for m in loaded} & {"jinja2", "icalendar"}


def test_after_an_edit_the_new_text_is_rendered_and_announced(cli, tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text(example("team-project").read_text())
    out = tmp_path / "out"
    assert cli("setup", path, "--out", out).exit_code == 0
    path.write_text(path.read_text().replace('time = "16:30"', 'time = "17:15"'))
    result = cli("setup", path, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    changes = {c["key"]: c["action"] for t in json.loads(result.output)["plan"]["targets"]
               for c in t["changes"] if t["target"] == "ics"}
    assert changes["checkins"] == "update"
    (vevent,) = icalendar.Calendar.from_ical((out / "checkins.ics").read_bytes()).walk(
        "VEVENT")
    assert vevent.decoded("DTSTART").strftime("%H:%M") == "17:15"


def test_a_kickoff_never_delivered_is_still_planned_from_the_kept_rendering(
        cli, tmp_path: Path, state_file: Path) -> None:
    out = tmp_path / "out"
    assert cli("setup", example("team-project"), "--out", out).exit_code == 0
    with sqlite3.connect(state_file) as conn:  # as if the kickoff's write had failed
        conn.execute("DELETE FROM records WHERE instance LIKE 'eml:%'")
        assert conn.execute("SELECT COUNT(*) FROM rendered").fetchone()[0] == 1
    result = cli("setup", example("team-project"), "--out", out, "--json")
    eml = next(t for t in json.loads(result.output)["plan"]["targets"] if t["target"] == "eml")
    assert {c["key"]: c["action"] for c in eml["changes"]}["kickoff"] == "create"


@pytest.mark.parametrize("path", alliance_examples(), ids=lambda p: p.stem)
def test_the_kept_rendering_is_the_rendering(path: Path, tmp_path: Path) -> None:
    from designed_alliance.core import rendered

    alliance = load(path)
    journal = load_journal(alliance)
    state = State(tmp_path / "state.sqlite")
    fresh = desired(alliance, Config(), journal, state=state)
    assert not fresh.from_state and fresh.inputs
    state.put_rendered(alliance.id, fresh.inputs,
                       rendered.encode(fresh.events, fresh.messages, fresh.reasons))
    kept = desired(alliance, Config(), journal, state=state)
    assert kept.from_state
    assert kept.events == fresh.events and kept.messages == fresh.messages
    assert kept.reasons == fresh.reasons
    assert [e.fingerprint for e in kept.events] == [e.fingerprint for e in fresh.events]
    assert [e.summary for e in kept.events] == [e.summary for e in fresh.events]
    assert [ical._fast_calendar([e], {}, "REQUEST", None, rsvp=True, dtstamp=STAMP)
            for e in kept.events] == [
        ical._fast_calendar([e], {}, "REQUEST", None, rsvp=True, dtstamp=STAMP)
        for e in fresh.events]
    assert rendered.decode(b"not zlib") is None


def test_the_inputs_digest_changes_with_each_input(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from designed_alliance.core import rendered

    alliance = load(example("team-project"))
    base = rendered.inputs_digest(alliance, Config(), None)
    assert rendered.inputs_digest(load(example("team-project")), Config(), None) == base
    edited = loads(example("team-project").read_text().replace("16:30", "16:45"), "x.toml")
    assert rendered.inputs_digest(edited, Config(), None) != base
    organizer = Config(defaults=Defaults(organizer="someone@example.org"))
    assert rendered.inputs_digest(alliance, organizer, None) != base
    journal = load_journal(load(example("website-relaunch")))
    assert journal is not None
    assert rendered.inputs_digest(alliance, Config(), journal) != base
    templates = tmp_path / "templates"
    templates.mkdir()
    for source in (ROOT / "templates").glob("*.j2"):
        (templates / source.name).write_bytes(source.read_bytes())
    monkeypatch.setattr(rendered, "_templates_folder", lambda: templates)
    copied = rendered.inputs_digest(alliance, Config(), None)
    (templates / "kickoff.txt.j2").write_text("changed\n")
    assert rendered.inputs_digest(alliance, Config(), None) != copied
    from designed_alliance import __version__
    monkeypatch.setattr("designed_alliance.__version__", __version__ + ".post1")
    assert rendered.inputs_digest(alliance, Config(), None) != copied


def test_the_builtin_targets_are_the_package_entry_points() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    points = project["project"]["entry-points"]["designed_alliance.integrations"]
    for name, (module, attr) in BUILTIN.items():
        assert points[name] == f"{module}:{attr}"


def test_a_local_target_records_its_files_in_one_transaction(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    from bench.generate import alliance_text

    alliance = loads(alliance_text(50, 3), "x.toml")
    state = State(tmp_path / "state.sqlite")
    targets = make_targets(["ics", "eml"], Config(), Options(out_dir=tmp_path / "out"))
    want = desired(alliance, Config())
    plan = make_plan(alliance, want, targets, state)
    calls: list[tuple[str, int]] = []
    real = State.put_many

    def counted(self: State, alliance_id: str, instance: str, records: list) -> None:
        calls.append((instance.split(":", 1)[0], len(records)))
        real(self, alliance_id, instance, records)

    monkeypatch.setattr(State, "put_many", counted)
    scans: list[str] = []
    real_glob = Path.glob
    monkeypatch.setattr(Path, "glob", lambda self, pattern: (
        scans.append(pattern), real_glob(self, pattern))[1])
    report = apply_plan(alliance, want, plan, targets, state)
    assert not report.failures
    events = len(want.events)
    assert events > 50
    assert calls == [("ics", events), ("eml", events + 1)]  # one each (eml: + the kickoff)
    assert len([p for p in scans if p.endswith(".tmp")]) <= 3  # not one scan per file
    again = make_plan(alliance, want, targets, state)
    assert not again.has_changes


def test_a_write_in_one_scan_still_sweeps_an_old_temporary_file(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    old = folder / ".x.ics.k1ll3d.tmp"
    old.write_bytes(b"half")
    young = folder / ".x.ics.w0rk1n.tmp"
    young.write_bytes(b"busy")
    then = (datetime.now() - timedelta(hours=1)).timestamp()
    os.utime(old, (then, then))
    with files.one_scan(folder):
        files.write_atomic(files.safe_path(folder, "x.ics"), b"new")
    assert not old.exists() and young.exists()
    assert (folder / "x.ics").read_bytes() == b"new"


def test_messages_keep_their_fingerprint_when_cached() -> None:
    message = Message("a", "kickoff", "S", "t", "h", Person("A", "a@x.org"), ())
    first = message.fingerprint
    assert message.fingerprint == first
    assert Message("a", "kickoff", "S", "t2", "h", Person("A", "a@x.org"), ()).fingerprint \
        != first


WRITE_INVITES = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from designed_alliance.core.config import Config
from designed_alliance.core.load import load
from designed_alliance.core.run import desired
from designed_alliance.integrations import ical
want = desired(load(Path(sys.argv[1])), Config())
stamp = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
out = [ical._fast_calendar([e], {}, "REQUEST", None, rsvp=True, dtstamp=stamp)
       for e in want.events]
out.append(ical._fast_calendar(want.events, {}, None, "Team", rsvp=False, dtstamp=stamp))
sys.stdout.buffer.write(b"\\0".join(out))
sys.stderr.write("icalendar loaded" if "icalendar" in sys.modules else "icalendar not loaded")
"""


def test_icalendars_answers_kept_on_disk_write_the_same_bytes(tmp_path: Path) -> None:
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))

    def run() -> tuple[bytes, str]:
        done = subprocess.run([sys.executable, "-c", WRITE_INVITES, str(example("team-project"))],
                              capture_output=True, check=True, env=env)
        return done.stdout, done.stderr.decode()

    first, loaded = run()
    assert loaded == "icalendar loaded"  # nothing written down yet: icalendar answers
    second, loaded = run()
    assert loaded == "icalendar not loaded"
    assert second == first
    events = list(desired(load(example("team-project")), Config()).events)
    assert first.split(b"\0") == [reference([e], {}, "REQUEST", None, True) for e in events] + [
        reference(events, {}, None, "Team", False)]
    answers = tmp_path / "cache" / "designed-alliance" / "ical-answers.json"
    stored = json.loads(answers.read_text())
    stored["stamp"] = "another icalendar"  # an upgrade: the answers are asked again
    answers.write_text(json.dumps(stored))
    third, loaded = run()
    assert loaded == "icalendar loaded" and third == first


def test_the_span_years_are_the_ones_vtimezone_covers() -> None:
    from designed_alliance.integrations import vtimezone

    for start, end in [(datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 4, 30, tzinfo=UTC)),
                       (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
                       (datetime(2027, 5, 1, tzinfo=UTC), datetime(2029, 5, 1, tzinfo=UTC))]:
        assert ical._covering(start, end) == vtimezone.covering(start, end)


def test_shared_invites_are_kept_for_one_alliance_at_a_time() -> None:
    first = event(alliance_id="first")
    second = event(alliance_id="second")
    assert ical.request(first, 0) is ical.request(first, 0)  # shared within one alliance
    ical.request(second, 0)
    assert {e.alliance_id for e, _ in ical._shared} == {"second"}
    assert {e.alliance_id for e in ical._static} == {"second"}


def test_a_zone_is_accepted_as_when_every_zone_was_listed() -> None:
    import zoneinfo

    from designed_alliance.core import zones

    listed = zoneinfo.available_timezones()
    zones._all_zones.cache_clear()  # another test may have asked for a suggestion

    def by_listing(name: str) -> bool:  # the rule before: look the name up in every zone
        return name in zones.FIXED_ALLOWED or (
            name in listed and name.split("/", 1)[0] in zones.REGIONS and "/" in name)

    odd = ["Europe/berlin", "America/../Europe/Berlin", "Europe/", "Europe", "Europe//Berlin",
           "America/Argentina", "America/Indiana", "/Europe/Berlin", "Asia/Tokyo/", "EST",
           "Europe/Berlin\0", "Europe/No_Such_City", "Etc/GMT+2", "Japan"]
    for name in [*sorted(listed), *odd]:
        assert zones.is_accepted(name) == by_listing(name), name
    assert zones._all_zones.cache_info().currsize == 0  # accepting never listed them all


def test_a_fresh_setup_loads_no_progress_html_difflib_or_platformdirs_and_lists_no_zones(
        tmp_path: Path) -> None:
    # What issue 15's small end took off a fresh setup's path: charts' progress and html
    # (a setup only formats numbers with charts), difflib (zone suggestions), listing every
    # zone on disk to accept one name.
    prelude = ("import zoneinfo\n"
               "def listed():\n    raise AssertionError('every zone was listed')\n"
               "zoneinfo.available_timezones = listed\n")
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    logged = set()
    for path in alliance_examples():
        out = tmp_path / path.stem
        done, loaded = run_probed(["setup", str(path), "--yes", "--out", str(out)], env=env,
                                  prelude=prelude)
        assert done.returncode == 0, done.stderr
        # The path that used to load them: celebrate (and charts) once progress is logged.
        has_log = path.with_name(f"{path.stem}.progress.toml").exists()
        assert ("designed_alliance.core.celebrate" in loaded) == has_log, path.stem
        logged |= {path.stem} if has_log else set()
        assert not loaded & {"designed_alliance.core.progress", "html", "difflib"}, path.stem
        if sys.platform == "linux":  # core/userdirs.py names the user folders itself there
            assert "platformdirs" not in loaded, path.stem
        calendar = icalendar.Calendar.from_ical((out / "checkins.ics").read_bytes())
        assert calendar.walk("VEVENT"), path.stem  # and the setup did write its invites
    assert logged  # one example went down the journal's path
