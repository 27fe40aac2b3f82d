"""The progress journal: format, strict loading, append-only writes, and `log` / `done` errors."""

from __future__ import annotations

import itertools
import json
import re
import tempfile
import tomllib
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designed_alliance.core.errors import BadInput
from designed_alliance.core.journal import (
    Done,
    Dropped,
    Reading,
    Redated,
    append,
    find_measure,
    journal_path,
    load_journal,
    loads_journal,
)
from designed_alliance.core.load import load, loads

from .conftest import EXAMPLES

BASE = (EXAMPLES / "website-relaunch.toml").read_text(encoding="utf-8")
WITH_ID = BASE.replace('name = "Pages migrated"', 'name = "Pages migrated"\nid = "pages"')


@pytest.fixture
def team(tmp_path: Path) -> Path:
    path = tmp_path / "team.toml"
    path.write_text(WITH_ID, encoding="utf-8")
    return path


def one_line_exit_2(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    assert " — " in lines[0]  # says what to do
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# -- where it lives, what it looks like -----------------------------------------------------------
def test_journal_sits_beside_the_alliance_file() -> None:
    assert journal_path("/x/team.toml") == Path("/x/team.progress.toml")
    assert journal_path("alliance") == Path("alliance.progress.toml")


def test_log_and_done_write_toml_that_tomllib_reads_back(cli, team: Path) -> None:
    assert cli("log", team, "pages", "12", "--on", "2027-01-11", "--by", "ben",
               "--note", 'first "batch"\nand a second line \\ with a backslash').exit_code == 0
    assert cli("log", team, "PAGES MIGRATED", "-2.5", "--on", "2027-01-12").exit_code == 0
    assert cli("done", team, "design", "--on", "2027-01-06", "--by", "ben").exit_code == 0
    text = journal_path(team).read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert data["alliance"] == "website-relaunch-7f3k"
    assert data["reading"] == [
        {"measure": "pages", "value": 12, "on": date(2027, 1, 11), "by": "ben",
         "note": 'first "batch"\nand a second line \\ with a backslash'},
        {"measure": "pages", "value": -2.5, "on": date(2027, 1, 12)},
    ]
    assert data["done"] == [{"commitment": "design", "on": date(2027, 1, 6), "by": "ben"}]
    # The first append documents the format in a commented header, once.
    assert text.startswith("# Progress journal of \"Website relaunch\" (team.toml)")
    for kind in ("[[reading]]", "[[done]]", "[[dropped]]", "[[redated]]"):
        assert f"#   {kind}" in text
    assert text.count("# Progress journal") == 1


def test_append_never_rewrites_earlier_bytes(team: Path) -> None:
    alliance = load(team)
    measure = find_measure(alliance, "pages")
    path = journal_path(team)
    snapshots = []
    for day, value in [(date(2026, 12, 14), 2), (date(2026, 12, 21), 4), (date(2026, 12, 28), 7)]:
        append(alliance, Reading(measure, value, day))
        snapshots.append(path.read_bytes())
    for earlier, later in itertools.pairwise(snapshots):
        assert later.startswith(earlier) and len(later) > len(earlier)
    assert [r["value"] for r in tomllib.loads(snapshots[-1].decode())["reading"]] == [2, 4, 7]


def test_append_to_hand_edited_file_without_final_newline_stays_valid(team: Path) -> None:
    alliance = load(team)
    path = journal_path(team)
    path.write_text('[[reading]]\nmeasure = "pages"\nvalue = 1\non = 2026-12-07', "utf-8")
    append(alliance, Done("design", date(2027, 1, 6)))
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data["reading"][0]["on"] == date(2026, 12, 7)
    assert data["done"] == [{"commitment": "design", "on": date(2027, 1, 6)}]


def test_every_kind_of_entry_round_trips(team: Path) -> None:
    alliance = load(team)
    measure = find_measure(alliance, "Pages migrated")
    entries = [Reading(measure, 3, date(2026, 12, 7), "ana", "note"),
               Redated("copy", date(2027, 1, 2), date(2027, 2, 1), "legal review", "ana"),
               Done("design", date(2027, 1, 6), "ben"),
               Dropped("copy", date(2027, 1, 20), "the agency writes it")]
    for entry in entries:
        journal = append(alliance, entry)
    assert journal == load_journal(alliance)
    assert journal.readings == (entries[0],)
    assert journal.redated == (entries[1],)
    assert journal.done == (entries[2],)
    assert journal.dropped == (entries[3],)
    data = tomllib.loads(journal_path(team).read_text(encoding="utf-8"))
    assert data["redated"] == [{"commitment": "copy", "on": date(2027, 1, 2),
                                "due": date(2027, 2, 1), "reason": "legal review",
                                "by": "ana"}]
    assert data["dropped"] == [{"commitment": "copy", "on": date(2027, 1, 20),
                                "reason": "the agency writes it"}]


def test_a_later_reading_for_the_same_day_corrects_it(team: Path) -> None:
    alliance = load(team)
    measure = find_measure(alliance, "pages")
    append(alliance, Reading(measure, 30, date(2026, 12, 14)))  # a typo
    append(alliance, Reading(measure, 3, date(2026, 12, 7)))
    journal = append(alliance, Reading(measure, 13, date(2026, 12, 14)))  # the correction
    assert [(r.on, r.value) for r in journal.readings_for(measure)] == [
        (date(2026, 12, 7), 3), (date(2026, 12, 14), 13)]
    assert journal.latest(measure).value == 13


def test_measure_by_id_or_case_insensitive_name() -> None:
    alliance = loads(WITH_ID, "a.toml")
    assert find_measure(alliance, "pages").name == "Pages migrated"
    assert find_measure(alliance, "  pages   MIGRATED ").name == "Pages migrated"
    with pytest.raises(ValueError, match="is not a measure"):
        find_measure(alliance, "Pages")  # the id is case-sensitive, like every id


def test_measure_id_is_validated_by_the_alliance_loader() -> None:
    with pytest.raises(BadInput, match=r"a\.toml:\d+: measures\[0\]\.id: 'two words'"):
        loads(BASE.replace('name = "Pages migrated"',
                           'name = "Pages migrated"\nid = "two words"'), "a.toml")
    twice = WITH_ID + '\n[[measures]]\nname = "Bugs"\nid = "pages"\n'
    with pytest.raises(BadInput, match=r"measures\[1\]\.id: 'pages' is used by two measures"):
        loads(twice, "a.toml")


# -- bad input on the command line: one line, exit 2, journal bytes unchanged -----------------
@pytest.fixture
def started(cli, team: Path) -> tuple[Path, bytes]:
    assert cli("log", team, "pages", "3", "--on", "2026-12-14").exit_code == 0
    assert cli("done", team, "design", "--on", "2027-01-06").exit_code == 0
    return team, journal_path(team).read_bytes()


def unchanged(started: tuple[Path, bytes]) -> None:
    team, before = started
    assert journal_path(team).read_bytes() == before


def test_reading_for_an_unknown_measure(cli, started) -> None:
    line = one_line_exit_2(cli("log", started[0], "Pages migratd", "4"),
                           "'Pages migratd' is not a measure", "pages ('Pages migrated')")
    assert re.search(r"team\.toml:\d+: MEASURE: ", line)
    unchanged(started)


def test_reading_that_is_not_a_number(cli, started) -> None:
    for value in ("twelve", "12,5", "nan", "inf", "12 pages", ""):
        one_line_exit_2(cli("log", started[0], "pages", value, "--on", "2026-12-21"),
                        "VALUE: ", "is not a number")
    unchanged(started)


def test_reading_dated_outside_the_alliance(cli, started) -> None:
    for day in ("2026-11-30", "2027-04-01"):
        one_line_exit_2(cli("log", started[0], "pages", "4", "--on", day),
                        f"--on: {day} is outside the alliance (2026-12-01 to 2027-03-31)")
    one_line_exit_2(cli("log", started[0], "pages", "4", "--on", "2027-02-30"),
                    "--on: '2027-02-30' is not a date")
    unchanged(started)


def test_today_outside_the_alliance_asks_for_on(cli, tmp_path: Path) -> None:
    old = tmp_path / "old.toml"
    old.write_text(BASE.replace("starts = 2026-12-01", "starts = 2020-01-01").replace(
        "deadline = 2027-03-31", "deadline = 2020-06-30").replace(
        "by = 2027-03-15", "by = 2020-06-01").replace("due = 2027-01-08", "due = 2020-02-01"),
        encoding="utf-8")
    one_line_exit_2(cli("log", old, "Pages migrated", "4"), "--on: today (", "pass --on DATE")
    assert not journal_path(old).exists()


def test_done_for_an_unknown_commitment(cli, started) -> None:
    line = one_line_exit_2(cli("done", started[0], "desgin"),
                           "COMMITMENT: 'desgin' is not a commitment", "design, copy")
    assert re.search(r"team\.toml:\d+: COMMITMENT", line)
    unchanged(started)


def test_done_twice(cli, started) -> None:
    line = one_line_exit_2(cli("done", started[0], "design", "--on", "2027-01-07"),
                           "'design' is already done (on 2027-01-06)")
    number = int(re.search(r"team\.progress\.toml:(\d+): ", line).group(1))
    written = journal_path(started[0]).read_text().splitlines()
    assert written[number - 1] == "[[done]]"  # points at the earlier entry
    unchanged(started)


def test_by_who_is_not_a_member(cli, started) -> None:
    one_line_exit_2(cli("log", started[0], "pages", "4", "--on", "2026-12-21", "--by", "sam"),
                    "--by: 'sam' is not a member", "ana, ben")
    one_line_exit_2(cli("done", started[0], "copy", "--on", "2027-01-21", "--by", "Ana"),
                    "--by: 'Ana' is not a member")
    unchanged(started)


MALFORMED = [
    ("[[reading]\nmeasure = 'pages'\n", "is not valid TOML", None),
    ('[[reading]]\nmeasure = "pages"\nvalue = 3\non = 2026-12-14\nwho = "ana"\n',
     "reading[0].who: is not a known key", 5),
    ('[[reading]]\nmeasure = "pages"\nvalue = "3"\non = 2026-12-14\n',
     "reading[0].value: must be a whole number or a number", 3),
    ('[[reading]]\nmeasure = "bugs"\nvalue = 3\non = 2026-12-14\n',
     "reading[0].measure: 'bugs' is not a measure", 2),
    ('[[reading]]\nmeasure = "pages"\nvalue = nan\non = 2026-12-14\n',
     "reading[0].value: nan is not a finite number", 3),
    ('[[reading]]\nmeasure = "pages"\nvalue = 3\non = 2027-05-01\n',
     "reading[0].on: 2027-05-01 is outside the alliance", 4),
    ('[[reading]]\nmeasure = "pages"\nvalue = 3\n', "reading[0].on: is missing", 1),
    ('[[done]]\ncommitment = "design"\non = 2027-01-06\nby = "sam"\n',
     "done[0].by: 'sam' is not a member", 4),
    ('[[done]]\ncommitment = "design"\non = 2027-01-06\n\n'
     '[[dropped]]\ncommitment = "design"\non = 2027-01-07\nreason = "x"\n',
     "dropped[0].commitment: 'design' was already done (line 1)", 6),
    ('[[dropped]]\ncommitment = "copy"\non = 2027-01-07\n', "dropped[0].reason: is missing", 1),
    ('[[redated]]\ncommitment = "copy"\non = 2027-01-07\ndue = 2027-09-01\nreason = "x"\n',
     "redated[0].due: 2027-09-01 is outside the alliance", 4),
    ('alliance = "someone-else"\n', "alliance: belongs to alliance 'someone-else'", 1),
    ('[journal]\nx = 1\n', "journal: is not a known key", 1),
]


@pytest.mark.parametrize(("text", "fragment", "line"), MALFORMED,
                         ids=[m[1].split(":")[0] + str(i) for i, m in enumerate(MALFORMED)])
@pytest.mark.parametrize("command", [("log", "pages", "4", "--on", "2026-12-21"),
                                     ("done", "copy", "--on", "2027-01-21"),
                                     ("status", "--on", "2027-01-21"),
                                     ("show", "--format", "html")],
                         ids=["log", "done", "status", "show"])
def test_malformed_journal(cli, team: Path, text: str, fragment: str, line: int | None,
                           command: tuple[str, ...]) -> None:
    path = journal_path(team)
    path.write_text(text, encoding="utf-8")
    before = path.read_bytes()
    message = one_line_exit_2(cli(command[0], team, *command[1:]), fragment)
    where = re.search(r"team\.progress\.toml(?::(\d+))?: ", message)
    assert where, message
    if line is not None:
        assert int(where.group(1)) == line, message
    assert path.read_bytes() == before


def test_a_broken_journal_is_not_appended_to_through_the_api(team: Path) -> None:
    alliance = load(team)
    path = journal_path(team)
    path.write_text('[[reading]]\nmeasure = "pages"\nvalue = 3\n', encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(BadInput, match=r"reading\[0\]\.on: is missing"):
        append(alliance, Done("design", date(2027, 1, 6)))
    assert path.read_bytes() == before


def test_an_invalid_entry_is_refused_before_anything_is_written(team: Path) -> None:
    alliance = load(team)
    path = journal_path(team)
    with pytest.raises(BadInput, match=r"done\[0\]\.on: 2027-06-01 is outside"):
        append(alliance, Done("design", date(2027, 6, 1)))
    assert not path.exists()


def test_status_json_of_a_fresh_alliance_has_no_readings(cli, team: Path) -> None:
    data = json.loads(cli("status", team, "--on", "2026-12-01", "--json").output)
    assert data["measures"][0]["latest"] is None
    assert data["measures"][0]["on_track"] is None
    assert not journal_path(team).exists()  # reading never creates the journal


def test_loads_journal_orders_entries_as_written() -> None:
    alliance = loads(WITH_ID, "team.toml")
    text = ('[[done]]\ncommitment = "design"\non = 2027-01-06\n\n'
            '[[reading]]\nmeasure = "pages"\nvalue = 1\non = 2026-12-07\n\n'
            '[[redated]]\ncommitment = "design"\non = 2027-01-07\ndue = 2027-01-20\n'
            'reason = "too late"\n')
    with pytest.raises(BadInput, match=r"team\.progress\.toml:11: redated\[0\]\.commitment: "
                       r"'design' was already done \(line 1\)"):
        loads_journal(text, alliance, "team.progress.toml")

    # Re-dated first, done later: that is the ordinary story, and it loads.
    fine = ('[[redated]]\ncommitment = "design"\non = 2027-01-02\ndue = 2027-01-20\n'
            'reason = "holidays"\n\n[[done]]\ncommitment = "design"\non = 2027-01-19\n')
    journal = loads_journal(fine, alliance, "team.progress.toml")
    assert journal.redated_dues() == {"design": date(2027, 1, 20)}
    assert journal.done_dates() == {"design": date(2027, 1, 19)}


# Control characters (Cc) and line/paragraph separators are refused by the loader: a note
# must not smuggle them into mail or invites (tested below).
_NOTES = st.text(st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=40)
_VALUES = st.integers(-(2**63) + 1, 2**63 - 1) | st.floats(allow_nan=False,
                                                           allow_infinity=False)


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(st.tuples(_VALUES, _NOTES, st.integers(0, 119)), min_size=1,
                        max_size=4))
def test_any_value_and_note_round_trips_through_tomllib(tmp_path: Path, entries) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    path = folder / "team.toml"
    path.write_text(WITH_ID, encoding="utf-8")
    alliance = load(path)
    measure = find_measure(alliance, "pages")
    for value, note, offset in entries:
        append(alliance, Reading(measure, value, date(2026, 12, 1) + timedelta(days=offset),
                                 "ana", note.strip()))
    data = tomllib.loads(journal_path(path).read_text(encoding="utf-8"))
    assert [(r["value"], r.get("note", "")) for r in data["reading"]] == [
        (value, note.strip()) for value, note, _ in entries]
    assert all(type(r["value"]) is type(v) for r, (v, _, _) in zip(data["reading"], entries,
                                                                    strict=True))


def test_a_note_with_a_control_character_is_refused_and_nothing_written(cli, team: Path
                                                                       ) -> None:
    before = journal_path(team).read_bytes() if journal_path(team).exists() else None
    result = cli("log", team, "pages", "3", "--on", "2026-12-14", "--note", "bell\x07")
    one_line_exit_2(result, "control character")
    after = journal_path(team).read_bytes() if journal_path(team).exists() else None
    assert after == before


def test_numbers_other_tools_could_not_read_are_refused(cli, team: Path) -> None:
    one_line_exit_2(cli("log", team, "pages", str(2**63), "--on", "2026-12-14"),
                    "is too large for a whole number")
    assert cli("log", team, "pages", "1e30", "--on", "2026-12-14").exit_code == 0
    assert cli("log", team, "pages", "<draft>", "--on", "2026-12-14").exit_code == 2
    assert cli("log", team, "pages", "3", "--on", "2026-12-15", "--note", "<draft>").exit_code == 0
    data = tomllib.loads(journal_path(team).read_text(encoding="utf-8"))
    assert [r["value"] for r in data["reading"]] == [1e30, 3]
    assert data["reading"][1]["note"] == "<draft>"


def test_names_with_semicolons_keep_the_message_whole(cli, tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text(BASE.replace('name = "Pages migrated"', 'name = "Pages; migrated"'), "utf-8")
    line = one_line_exit_2(cli("log", path, "pages", "4", "--on", "2026-12-14"),
                           "MEASURE: 'pages' is not a measure — use one of: 'Pages; migrated'")
    assert line.count(" — ") == 1
    assert cli("log", path, "pages; MIGRATED", "4", "--on", "2026-12-14").exit_code == 0
