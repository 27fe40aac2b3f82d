"""`alliance status`: measures against the target line, commitment states, sequences follow
reality, and the buster for hard dues that became too tight."""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from designed_alliance.core.check import check, journal_findings
from designed_alliance.core.commands.progress import render
from designed_alliance.core.journal import (
    Done,
    Dropped,
    Journal,
    Reading,
    Redated,
    journal_path,
    loads_journal,
)
from designed_alliance.core.load import loads
from designed_alliance.core.model import Commitment
from designed_alliance.core.progress import commitment_state, expected, status
from designed_alliance.core.schedule import schedule
from designed_alliance.core.sequence import due_dates

from .conftest import EXAMPLES

BASE = (EXAMPLES / "website-relaunch.toml").read_text(encoding="utf-8")
# starts 2026-12-01, measure "Pages migrated" 0 → 42 by 2027-03-15 (104 days),
# design due 2027-01-08 (hard), copy after design, takes 2 weeks.
CHAIN = BASE + '''
[[commitments]]
id = "build"
owner = "ben"
what = "Build the homepage"
after = "copy"
takes = "1 week"

[[commitments]]
id = "launch"
owner = "ana"
what = "Launch"
after = "build"
takes = "3 days"
due = 2027-02-12

[[measures]]
name = "Open bugs"
baseline = 40
target = 5
owner = "ben"
'''


def alliance(text: str = CHAIN):
    return loads(text, "team.toml")


def test_expected_value_follows_the_straight_line() -> None:
    a = alliance()
    pages, bugs = a.measures
    assert expected(a, pages, date(2026, 12, 1)) == 0
    assert expected(a, pages, date(2027, 3, 15)) == 42
    assert expected(a, pages, date(2027, 1, 22)) == pytest.approx(42 * 52 / 104)
    assert expected(a, pages, date(2027, 3, 30)) == 42  # past `by`: the target holds
    # No `by`: the line ends at the deadline (120 days after the start).
    assert expected(a, bugs, date(2027, 1, 30)) == pytest.approx(40 - 35 * 60 / 120)


def test_status_json_carries_exactly_the_agreed_fields(cli, tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text(CHAIN, encoding="utf-8")
    for args in [("log", path, "Pages migrated", "10", "--on", "2027-01-05"),
                 ("log", path, "Pages migrated", "25", "--on", "2027-01-20"),
                 ("log", path, "open bugs", "30", "--on", "2027-01-20"),
                 ("done", path, "design", "--on", "2027-01-12", "--by", "ben")]:
        assert cli(*args).exit_code == 0
    result = cli("status", path, "--on", "2027-01-22", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert set(data) == {"measures", "commitments", "next_checkin"}
    assert data["next_checkin"] == "2027-01-25"  # check-ins are on Mondays
    pages, bugs = data["measures"]
    assert set(pages) == {"name", "baseline", "target", "by", "latest", "expected", "on_track"}
    assert pages["latest"] == {"value": 25, "on": "2027-01-20"}
    assert pages["expected"] == pytest.approx(21.0)
    assert pages["on_track"] is True  # 25 ≥ 21: higher is better
    assert bugs == {"name": "Open bugs", "baseline": 40, "target": 5, "by": "2027-03-31",
                    "latest": {"value": 30, "on": "2027-01-20"},
                    "expected": pytest.approx(40 - 35 * 52 / 120), "on_track": False}
    by_id = {c["id"]: c for c in data["commitments"]}
    assert all(set(c) == {"id", "owner", "due", "state", "done_on"} for c in by_id.values())
    # design was done four days late; copy now counts from that day (12 Jan + 2 weeks).
    assert by_id["design"] == {"id": "design", "owner": "ben", "due": "2027-01-08",
                               "state": "late", "done_on": "2027-01-12"}
    assert by_id["copy"] == {"id": "copy", "owner": "ana", "due": "2027-01-26",
                             "state": "due-soon", "done_on": None}
    assert by_id["build"]["due"] == "2027-02-02" and by_id["build"]["state"] == "open"
    assert by_id["launch"]["due"] == "2027-02-12"  # a hard due never moves


def test_status_ignores_what_the_journal_says_happened_later() -> None:
    a = alliance()
    pages = a.measures[0]
    journal = Journal(readings=(Reading(pages, 5, date(2026, 12, 20)),
                                Reading(pages, 9, date(2027, 1, 3))),
                      done=(Done("design", date(2027, 1, 4)),))
    early = status(a, journal, date(2027, 1, 2))
    assert early.measures[0].latest.value == 5
    assert early.commitments[0].state == "due-soon" and early.commitments[0].done_on is None
    late = status(a, journal, date(2027, 1, 5))
    assert late.measures[0].latest.value == 9 and late.commitments[0].state == "done"


@pytest.mark.parametrize(("due", "done_on", "dropped", "day", "state"), [
    (date(2027, 1, 8), date(2027, 1, 8), False, date(2027, 2, 1), "done"),
    (date(2027, 1, 8), date(2027, 1, 9), False, date(2027, 2, 1), "late"),
    (date(2027, 1, 8), None, False, date(2027, 1, 9), "overdue"),
    (date(2027, 1, 8), None, False, date(2027, 1, 8), "due-soon"),
    (date(2027, 1, 8), None, False, date(2027, 1, 1), "due-soon"),
    (date(2027, 1, 8), None, False, date(2026, 12, 31), "open"),
    (None, None, False, date(2027, 1, 1), "open"),
    (date(2027, 1, 8), None, True, date(2027, 1, 9), "dropped"),
])
def test_commitment_states(due, done_on, dropped, day, state) -> None:
    assert commitment_state(due, done_on, dropped, day) == state


def test_lower_is_better_when_the_target_is_below_the_baseline() -> None:
    a = alliance()
    bugs = a.measures[1]
    day = date(2027, 1, 30)  # expected 22.5
    ahead = status(a, Journal(readings=(Reading(bugs, 20, day),)), day).measures[1]
    behind = status(a, Journal(readings=(Reading(bugs, 23, day),)), day).measures[1]
    assert (ahead.on_track, behind.on_track) == (True, False)
    assert ahead.higher_is_better is False


def test_sequences_follow_reality_and_say_who_is_next() -> None:
    a = alliance()
    journal = Journal(done=(Done("design", date(2027, 1, 4)),))  # four days early
    result = status(a, journal, date(2027, 1, 5))
    dues = {c.commitment.id: c.due for c in result.commitments}
    assert dues == {"design": date(2027, 1, 8), "copy": date(2027, 1, 18),
                    "build": date(2027, 1, 25), "launch": date(2027, 2, 12)}
    (sequence,) = result.sequences
    assert [c.commitment.id for c in sequence.chain] == ["design", "copy", "build", "launch"]
    assert [c.commitment.id for c in sequence.next] == ["copy"]
    text = render(a, result, tty=False, color=False)
    assert "design → copy → build → launch: next is Ana Ruiz (copy, due 2027-01-18)" in text


def test_redated_and_dropped_commitments() -> None:
    a = alliance()
    journal = Journal(redated=(Redated("copy", date(2027, 1, 2), date(2027, 1, 29), "legal"),),
                      dropped=(Dropped("build", date(2027, 1, 3), "the agency builds it"),))
    result = status(a, journal, date(2027, 1, 10))
    by_id = {c.commitment.id: c for c in result.commitments}
    assert by_id["copy"].due == date(2027, 1, 29)
    assert by_id["build"].state == "dropped"
    assert by_id["build"].due == date(2027, 2, 5)  # counts from copy's agreed date
    events = {e.key: e for e in schedule(a, journal=journal)}
    assert events["commitment:copy"].start == date(2027, 1, 29)
    assert "commitment:build" not in events  # dropped: off the calendar
    assert "commitment:build" in {e.key for e in schedule(a)}


def test_due_dates_move_with_done_dates_but_hard_dues_do_not() -> None:
    commitments = (
        Commitment("a", "A", due=date(2027, 1, 8)),
        Commitment("b", "B", after="a", takes=timedelta(days=14)),
        Commitment("c", "C", after="b", takes=timedelta(days=7), due=date(2027, 1, 29)),
        Commitment("d", "D", after="c", takes=timedelta(days=1)),
    )
    assert due_dates(commitments)["b"] == date(2027, 1, 22)
    late = due_dates(commitments, {"a": date(2027, 1, 15)})
    assert late == {"a": date(2027, 1, 8), "b": date(2027, 1, 29), "c": date(2027, 1, 29),
                    "d": date(2027, 1, 30)}
    early = due_dates(commitments, {"a": date(2027, 1, 1), "c": date(2027, 1, 20)})
    assert early["b"] == date(2027, 1, 15) and early["d"] == date(2027, 1, 21)


def test_a_thousand_long_chain_resolves_without_recursion() -> None:
    length = 1000
    commitments = [Commitment("c0", "first", due=date(2027, 1, 1))]
    commitments += [Commitment(f"c{i}", f"step {i}", after=f"c{i - 1}",
                               takes=timedelta(days=1)) for i in range(1, length)]
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # far below the chain's length: recursion would fail here
    try:
        dues = due_dates(tuple(reversed(commitments)))
        moved = due_dates(tuple(commitments), {"c500": date(2027, 1, 1)})
    finally:
        sys.setrecursionlimit(limit)
    assert dues[f"c{length - 1}"] == date(2027, 1, 1) + timedelta(days=length - 1)
    assert moved["c501"] == date(2027, 1, 2)
    assert moved[f"c{length - 1}"] == date(2027, 1, 1) + timedelta(days=length - 1 - 500)


def test_buster_warns_when_a_late_predecessor_makes_a_hard_due_too_tight(tmp_path: Path
                                                                         ) -> None:
    path = tmp_path / "team.toml"
    path.write_text(CHAIN, encoding="utf-8")
    a = loads(CHAIN, path)  # from a file, so the finding can name its line
    assert "sequence-too-tight" not in {f.code for f in check(a)}
    # build ends 2 Feb as planned; launch (hard 12 Feb) takes 3 days: fine.
    assert journal_findings(a, Journal(done=(Done("build", date(2027, 2, 8)),))) == []
    (finding,) = journal_findings(a, Journal(done=(Done("build", date(2027, 2, 11)),)))
    assert finding.code == "sequence-slipped" and finding.key == "commitments[3].due"
    assert "'build' was done 2027-02-11" in finding.message
    assert "end 2027-02-14" in finding.message
    assert CHAIN.splitlines()[finding.line - 1] == "due = 2027-02-12"
    # Once launch is done, there is nothing left to warn about.
    assert journal_findings(a, Journal(done=(Done("build", date(2027, 2, 11)),
                                             Done("launch", date(2027, 2, 14))))) == []
    # A predecessor whose own date moved later (re-dated) tightens it too.
    slipped = journal_findings(a, Journal(redated=(
        Redated("build", date(2027, 1, 5), date(2027, 2, 11), "vendor late"),)))
    assert [f.code for f in slipped] == ["sequence-slipped"]
    assert "is now due 2027-02-11" in slipped[0].message


def test_status_text_in_a_pipe_is_plain(cli, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "team.toml"
    path.write_text(CHAIN, encoding="utf-8")
    for value, day in [("4", "2026-12-14"), ("9", "2026-12-28"), ("12", "2027-01-11")]:
        assert cli("log", path, "Pages migrated", value, "--on", day).exit_code == 0
    result = cli("status", path, "--on", "2027-01-12")
    assert result.exit_code == 0
    out = result.output
    assert "\x1b[" not in out and "▁" not in out
    assert "readings: 4 (14 Dec), 9 (28 Dec), 12 (11 Jan)" in out
    assert "Pages migrated: 12 on 2027-01-11 · expected 17 by now" in out and "behind" in out
    assert "design  overdue" in out
    assert "(next check-in 2027-01-18)" in out


def test_status_on_a_terminal_draws_sparklines_and_respects_no_color() -> None:
    a = alliance()
    pages = a.measures[0]
    journal = Journal(readings=tuple(Reading(pages, v, date(2026, 12, 1) + timedelta(days=7 * i))
                                     for i, v in enumerate([0, 2, 4, 8, 16])))
    result = status(a, journal, date(2026, 12, 29))
    colored = render(a, result, tty=True, color=True)
    assert "\x1b[32m▁▂▃▅█\x1b[0m" in colored  # on track: green
    plain = render(a, result, tty=True, color=False)
    assert "▁▂▃▅█" in plain and "\x1b[" not in plain


def test_status_cli_reads_the_example_journal(cli) -> None:
    path = EXAMPLES / "website-relaunch.toml"
    assert journal_path(path).exists()
    data = json.loads(cli("status", path, "--on", "2027-02-01", "--json").output)
    assert data["measures"][0]["latest"] == {"value": 15, "on": "2027-01-25"}
    states = {c["id"]: c["state"] for c in data["commitments"]}
    assert states == {"design": "late", "copy": "overdue"}


def test_example_journal_is_what_the_loader_accepts() -> None:
    a = loads(BASE, EXAMPLES / "website-relaunch.toml")
    text = journal_path(EXAMPLES / "website-relaunch.toml").read_text(encoding="utf-8")
    journal = loads_journal(text, a)
    assert len(journal.readings) >= 3 and journal.done_dates() == {"design": date(2027, 1, 12)}


def test_status_text_lists_the_journal_busters(cli, tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text(CHAIN, encoding="utf-8")
    assert cli("done", path, "build", "--on", "2027-02-11").exit_code == 0
    out = cli("status", path, "--on", "2027-02-11").output
    warning = next(line for line in out.splitlines() if "[sequence-slipped]" in line)
    number = int(warning.split(f"{path}:", 1)[1].split(":", 1)[0])
    assert CHAIN.splitlines()[number - 1] == "due = 2027-02-12"
    assert "commitments[3].due: warning:" in warning


def test_status_may_look_back_after_the_deadline_but_needs_a_real_date(cli, tmp_path: Path
                                                                       ) -> None:
    path = tmp_path / "team.toml"
    path.write_text(CHAIN, encoding="utf-8")
    assert cli("log", path, "Pages migrated", "40", "--on", "2027-03-14").exit_code == 0
    data = json.loads(cli("status", path, "--on", "2027-05-01", "--json").output)
    assert data["measures"][0]["expected"] == 42 and data["measures"][0]["on_track"] is False
    assert data["next_checkin"] is None
    bad = cli("status", path, "--on", "01/05/2027")
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1
    assert "--on: '01/05/2027' is not a date — write it like 2027-01-15" in bad.stderr
