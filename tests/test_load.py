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


# -- refused at load: hostile and absurd values -----------------------------------------------
BASE = (EXAMPLES / "website-relaunch.toml").read_text()


def refused(text: str) -> BadInput:
    with pytest.raises(BadInput) as caught:
        loads(text, "a.toml")
    assert "\n" not in str(caught.value)
    return caught.value


def test_a_utf8_byte_order_mark_loads(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode("utf-8"))
    assert load(path) == load(EXAMPLES / "website-relaunch.toml")
    # Lines still count from the first line: the error names line 4, where timezone is.
    path.write_bytes(b"\xef\xbb\xbf" + BASE.replace('"America/New_York"', '"Mars/Base"')
                     .encode("utf-8"))
    with pytest.raises(BadInput, match=r"a\.toml:4: alliance\.timezone"):
        load(path)


@pytest.mark.parametrize(("zone", "meant"), [
    ("EST", "America/New_York"), ("CET", "Europe/Berlin"), ("GMT", "Europe/London"),
    ("US/Eastern", "America/New_York"), ("Japan", "Asia/Tokyo"), ("Zulu", "UTC"),
    ("Europe/Londn", "Europe/London"), ("london", "Europe/London"),
    ("New York", "America/New_York"), ("europe/berlin", "Europe/Berlin"),
])
def test_zones_without_a_region_are_refused_with_what_was_meant(zone: str, meant: str) -> None:
    from designed_alliance.core.zones import check_zone, suggest_zone

    assert suggest_zone(zone) == meant
    with pytest.raises(BadInput, match=f'did you mean "{meant}"'):
        check_zone(zone)
    error = refused(BASE.replace('"America/New_York"', f'"{zone}"'))
    assert error.key == "alliance.timezone" and error.line == 4
    assert f'did you mean "{meant}"' in str(error)


def test_fixed_offsets_are_refused_and_say_which_way_the_sign_goes() -> None:
    from designed_alliance.core.zones import check_zone, suggest_zone

    with pytest.raises(BadInput, match="UTC−2"):
        check_zone("Etc/GMT+2")
    with pytest.raises(BadInput, match="fixed offset"):
        check_zone("UTC+2")
    assert suggest_zone("Mars/Base") is None
    # UTC is allowed: a fixed clock that is really meant, and says so.
    assert check_zone("UTC") == "UTC"
    assert check_zone("Etc/UTC") == "Etc/UTC"  # what containers report: the wizard's default
    assert loads(BASE.replace('"America/New_York"', '"UTC"')).timezone == "UTC"


def test_misspelled_required_key_says_did_you_mean_at_its_line() -> None:
    error = refused(BASE.replace('email = "ana@example.com"', 'emial = "ana@example.com"'))
    assert (error.key, error.line) == ("members[0].emial", 16)
    assert "did you mean `email`?" in str(error) and "is missing" not in str(error)


def test_lines_are_indexed_only_for_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file without a problem is never scanned for its lines (core/locate.LineIndex)."""
    from designed_alliance.core import config, locate
    from designed_alliance.core import load as loader

    scans: list[int] = []
    real = locate.index_lines
    for module in (locate, loader, config):  # wherever a load could call it from
        monkeypatch.setattr(module, "index_lines", lambda text: scans.append(1) or real(text),
                            raising=False)
    for path in alliance_examples():
        load(path)
    assert scans == []
    error = refused(BASE.replace('email = "ana@example.com"', 'emial = "ana@example.com"'))
    assert error.line == 16 and scans == [1]


@pytest.mark.parametrize(("edit", "key", "fragment"), [
    (('starts = 2026-12-01', 'starts = 1899-12-31'), "alliance.starts", "from 1900 to 2100"),
    (('due = 2027-01-08', 'due = 2101-01-01'), "commitments[0].due", "from 1900 to 2100"),
    (('duration = "30 minutes"', 'duration = "99999999 weeks"'), "checkins.duration",
     "too long for a meeting"),
    (('duration = "2 hours"', 'duration = "999999999999999999999999 hours"'),
     "celebration.duration", "too long for a celebration"),
    (('takes = "2 weeks"', 'takes = "999999999999999999999999 weeks"'), "commitments[1].takes",
     "too long"),
    (('every = "week"', 'every = "99999999 weeks"'), "checkins.every", "more than a year"),
    (('every = "week"', 'rrule = "FREQ=SECONDLY"'), "checkins.rrule", "more than once a day"),
    (('every = "week"', 'rrule = "FREQ=HOURLY;INTERVAL=24"'), "checkins.rrule",
     "more than once a day"),
    (('every = "week"', 'rrule = "FREQ=DAILY;BYHOUR=1,2,3"'), "checkins.rrule", "BYHOUR"),
    (('every = "week"', 'rrule = "FREQ=DAILY;COUNT=100000"'), "checkins.rrule",
     "more than 2000"),
    (('every = "week"', 'rrule = "FREQ=DAILY;UNTIL=99991231T000000Z"'), "checkins.rrule",
     "UNTIL"),
    (('every = "week"', 'rrule = "FREQ=DAILY;INTERVAL=99999999999999"'), "checkins.rrule",
     "INTERVAL"),
    (('target = 42', 'target = nan'), "measures[0].target", "finite number"),
    (('how = "Team dinner at Lupa"', 'how = "Team\\rdinner"'), "celebration.how", "U+000D"),
    (('name = "Ana Ruiz"', 'name = "Ana\\u001b[31mRuiz"'), "members[0].name", "U+001B"),
    (('needs = ["Drafts', 'needs = ["\\u009bDrafts'), "members[0].needs[0]", "U+009B"),
])
def test_absurd_values_are_refused_with_key_and_limit(edit: tuple[str, str], key: str,
                                                      fragment: str) -> None:
    old, new = edit
    assert old in BASE
    text = BASE.replace(old, new)
    if "rrule" in new:
        text = text.replace('day = "monday"\n', "")
    error = refused(text)
    assert error.key == key, str(error)
    assert fragment in str(error)
    assert error.line is not None


def test_newline_stays_allowed_in_multi_line_text_only() -> None:
    text = BASE.replace('how = "Team dinner at Lupa"', 'how = """Team dinner\r\nat Lupa\tlate"""')
    alliance = loads(text)
    assert alliance.celebration is not None and "at Lupa\tlate" in alliance.celebration.how
    error = refused(BASE.replace('title = "Website relaunch"', 'title = "Web\\tsite"'))
    assert error.key == "alliance.title" and "single line" in str(error)


def _members(n: int) -> str:
    return "".join(f'[[members]]\nid = "m{i}"\nname = "M {i}"\nemail = "m{i}@example.com"\n'
                   for i in range(n))


def test_item_counts_are_limited() -> None:
    from designed_alliance.core import limits

    head = BASE.split("[[members]]")[0]
    many = head + _members(limits.MAX_MEMBERS + 1)
    error = refused(many)
    assert error.key == "members" and f"at most {limits.MAX_MEMBERS}" in str(error)
    assert len(loads(head + _members(limits.MAX_MEMBERS)).members) == limits.MAX_MEMBERS
    commitments = "".join(f'[[commitments]]\nid = "c{i}"\nwhat = "w"\n'
                          for i in range(limits.MAX_COMMITMENTS + 1))
    error = refused(head + _members(1) + commitments)
    assert error.key == "commitments" and str(limits.MAX_COMMITMENTS) in str(error)


def test_a_sequence_too_long_to_schedule_is_refused_not_crashed() -> None:
    from designed_alliance.core import limits
    from designed_alliance.core.schedule import schedule

    head = BASE.split("[[commitments]]")[0]
    steps = ['[[commitments]]\nid = "c0"\nwhat = "w"\ndue = 2027-01-01\n']
    steps += [f'[[commitments]]\nid = "c{i}"\nwhat = "w"\nafter = "c{i - 1}"\ntakes = "1 day"\n'
              for i in range(1, limits.MAX_SEQUENCE_DEPTH + 2)]
    error = refused(head + "".join(steps))
    assert error.key == f"commitments[{limits.MAX_SEQUENCE_DEPTH + 1}].after"
    # One step fewer is fine, and schedules (due_dates recurses through the chain).
    alliance = loads(head + "".join(steps[:-1]))
    assert len([e for e in schedule(alliance) if e.key.startswith("commitment:")]) == (
        limits.MAX_SEQUENCE_DEPTH + 1)
    late = BASE.replace('takes = "2 weeks"', 'takes = "520 weeks"').replace(
        "due = 2027-01-08", "due = 2095-01-08")
    error = refused(late)
    assert error.key == "commitments[1].takes" and "after 2100" in str(error)


def test_toml_that_tomllib_itself_chokes_on_is_bad_input() -> None:
    assert "too long" in str(refused(BASE.replace("target = 42", "target = " + "9" * 5000)))
    assert "nest too deeply" in str(refused(BASE + "x = " + "[" * 3000 + "]" * 3000))


# -- every error, like a linter ------------------------------------------------------------
def test_diagnose_reports_every_error_and_load_the_first(tmp_path: Path) -> None:
    from designed_alliance.core.load import diagnose

    path = tmp_path / "a.toml"
    path.write_text(BASE.replace('"America/New_York"', '"Europe/Londn"')
                    .replace("statement =", "statment =")
                    .replace('email = "ben@example.com"', 'email = "ben"')
                    .replace('owner = "ben"', 'owner = "bob"')
                    .replace('takes = "2 weeks"', 'takes = "99999999 weeks"')
                    .replace('time = "09:30"', 'time = "25:00"')
                    .replace('how = "Team dinner at Lupa"', 'hwo = "Team dinner at Lupa"'))
    alliance, errors = diagnose(path)
    assert alliance is None
    found = [(e.key, e.line) for e in errors]
    assert found == [("alliance.timezone", 4), ("goal.statment", 10), ("members[1].email", 23),
                     ("commitments[0].owner", 36), ("commitments[1].takes", 45),
                     ("checkins.time", 54), ("celebration.hwo", 60)]
    with pytest.raises(BadInput) as first:
        load(path)
    assert str(first.value) == str(errors[0])
    assert diagnose(EXAMPLES / "household.toml") == (load(EXAMPLES / "household.toml"), [])


# -- readable ids from names in any script ----------------------------------------------------
@pytest.mark.parametrize(("name", "expected"), [
    ("Zoë Ångström", "zoe-angstrom"), ("Søren Kierkegaard", "soren-kierkegaard"),
    ("Łukasz Straße", "lukasz-strasse"), ("Æsa Ødegård", "aesa-odegard"),
    ("Nguyễn Văn An", "nguyen-van-an"), ("Дмитрий Шостакович", "dmitriy-shostakovich"),
    ("Νίκος", "nikos"), ("Ana-María O'Brien", "ana-maria-o-brien"),
])
def test_readable_id_transliterates(name: str, expected: str) -> None:
    from designed_alliance.core.ids import readable_id

    assert readable_id(name) == expected


def test_readable_id_hashes_names_with_no_latin_form_and_the_loader_accepts_them() -> None:
    from designed_alliance.core.ids import readable_id
    from designed_alliance.core.load import ID_RE

    misaki, hanako, ali = readable_id("美咲"), readable_id("花子"), readable_id("علي")
    assert re.fullmatch(r"m-[0-9a-f]{4}", misaki) and misaki == readable_id("美咲")
    assert len({misaki, hanako, ali}) == 3
    assert readable_id("x" * 80) == "x" * 24
    names = ["美咲", "Łukasz", "Ørsted", "Дмитрий"]
    text = BASE.split("[[members]]")[0] + "".join(
        f'[[members]]\nid = "{readable_id(n)}"\nname = "{n}"\nemail = "m{i}@example.com"\n'
        for i, n in enumerate(names))
    alliance = loads(text)
    assert [m.id for m in alliance.members] == [readable_id(n) for n in names]
    assert all(ID_RE.match(m.id) for m in alliance.members)


def test_diagnose_does_not_repeat_one_mistake_as_several() -> None:
    from designed_alliance.core.load import diagnoses

    _, errors = diagnoses(BASE.replace('every = "week"', 'every = "weeek"'), "a.toml")
    assert [e.key for e in errors] == ["checkins.every"]  # not also "day: not a known key"
    _, errors = diagnoses(BASE.replace("[alliance]", "[aliance]"), "a.toml")
    assert [e.key for e in errors] == ["aliance"]  # the typo, not also "alliance: missing"
    assert "did you mean `alliance`?" in str(errors[0]) and errors[0].line == 1


def test_keys_with_control_characters_are_shown_escaped() -> None:
    error = refused(BASE + '"x\\u001b[2Jy" = 1\n')
    assert "\x1b" not in str(error) and "\\u001b" in str(error)
    assert "is not a known key" in str(error)


def test_diagnose_still_reports_a_missing_review_cadence_beside_other_errors() -> None:
    from designed_alliance.core.load import diagnoses

    text = BASE.replace('review_every = "4 weeks"', "").replace(
        'email = "ben@example.com"', 'email = "ben"') + '\n[review]\ntime = "10:30"\n'
    _, errors = diagnoses(text, "a.toml")
    assert [e.key for e in errors] == ["members[1].email", "review.every"]


def test_a_huge_value_quoted_in_an_error_is_cut_to_a_readable_line() -> None:
    error = refused(BASE.replace('"America/New_York"', '"Europe/' + "x" * 100_000 + '"'))
    assert len(str(error)) < 500 and str(error).startswith("a.toml:4: alliance.timezone: ")
    assert str(error).endswith('like "America/New_York" or "Europe/Berlin"')


def test_every_refused_character_is_one_isprintable_refuses() -> None:
    """core/reader checks a printable text without its patterns: that is sound only while
    each character they refuse is one str.isprintable() refuses too."""
    from designed_alliance.core import reader

    refused = [*range(0x00, 0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]
    assert not any(chr(c).isprintable() for c in refused)
    for c in refused:
        single = reader._bad_character(f"a{chr(c)}b", single_line=True)
        multi = reader._bad_character(f"a{chr(c)}b", single_line=False)
        assert single is not None and single.group() == chr(c)
        assert (multi is None) == (chr(c) in "\t\n")
    assert reader._bad_character("Zoë · 東京 — ok\u00a0", single_line=True) is None
