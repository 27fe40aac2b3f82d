"""Scale and robustness of the core: work per alliance grows linearly, no input backtracks or
recurses without bound. Counts calls instead of timing where it can, so nothing here is flaky
on a busy machine; the two time bounds are 100× above what the code needs and 10× below
what the old code took."""

from __future__ import annotations

import re
import time
import tomllib
from pathlib import Path

import icalendar
import pytest

from bench.generate import UNOWNED, alliance_text
from designed_alliance.core import check as check_module
from designed_alliance.core import compose
from designed_alliance.core.check import check
from designed_alliance.core.errors import BadInput
from designed_alliance.core.load import load, loads
from designed_alliance.core.locate import index_lines
from designed_alliance.core.schedule import schedule

from .conftest import example, run_probed


def _cpu(func) -> float:  # type: ignore[no-untyped-def]
    start = time.process_time()
    func()
    return time.process_time() - start


# --- the template context is computed once, whatever the number of commitments -----------

def test_schedule_computes_the_template_context_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = compose.due_dates

    def counting(commitments):  # type: ignore[no-untyped-def]
        calls.append(len(commitments))
        return real(commitments)

    monkeypatch.setattr(compose, "due_dates", counting)
    alliance = loads(alliance_text(200), "big.toml")
    events = schedule(alliance)
    assert sum(1 for e in events if e.key.startswith("commitment:")) == 200
    assert calls == [200]  # was one per rendered item: 204


def test_dependents_and_lookups_match_the_file(cli, tmp_path: Path, isolated: Path) -> None:
    """Each commitment invite lists exactly the commitments that come `after` it, as the file
    says (read with tomllib), in the .ics the program wrote (read with icalendar)."""
    text = alliance_text(30, 4)
    path = tmp_path / "big.toml"
    path.write_text(text)
    result = cli("setup", path)
    assert result.exit_code == 0, result.output
    data = tomllib.loads(text)
    what = {c["id"]: c["what"] for c in data["commitments"]}
    waiting: dict[str, list[str]] = {}
    for c in data["commitments"]:
        if "after" in c:
            waiting.setdefault(c["after"], []).append(c["id"])
    folder = path.parent / "alliance-out" / data["alliance"]["id"]
    seen = 0
    for c in data["commitments"]:
        cal = icalendar.Calendar.from_ical((folder / f"commitment-{c['id']}.ics").read_bytes())
        (event,) = cal.walk("VEVENT")
        description = str(event["DESCRIPTION"])
        listed = re.findall(r"^- (.+?)(?: \(due .*\))?$", description, flags=re.M)
        assert listed == [what[d] for d in waiting.get(c["id"], [])], c["id"]
        if "after" in c:
            assert f'Starts when "{what[c["after"]]}" is done' in description
        seen += bool(listed)
    assert seen == 27  # 3 chains of 10: all but each chain's last have a dependent


def test_alliance_lookups_by_id() -> None:
    alliance = loads(alliance_text(25, 5), "x.toml")
    for commitment in alliance.commitments:
        assert alliance.commitment(commitment.id) is commitment
        assert [d.id for d in alliance.dependents.get(commitment.id, ())] == [
            d.id for d in alliance.commitments if d.after == commitment.id]
    for member in alliance.members:
        assert alliance.member(member.id) is member
    with pytest.raises(KeyError):
        alliance.commitment("nope")
    with pytest.raises(KeyError):
        alliance.member("nope")
    # The index is not a field: equal alliances stay equal, whether indexed or not.
    assert alliance == loads(alliance_text(25, 5), "x.toml")


# --- check: one line index per run, lines still right ------------------------------------

def test_check_indexes_the_file_once_and_places_every_finding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = alliance_text(200)
    path = tmp_path / "big.toml"
    path.write_text(text)
    alliance = load(path)
    calls = []
    real = check_module.index_lines

    def counting(source: str) -> dict[str, int]:
        calls.append(1)
        return real(source)

    monkeypatch.setattr(check_module, "index_lines", counting)
    findings = [f for f in check(alliance) if f.code == "no-owner"]
    assert len(calls) == 1
    assert len(findings) == 200 // UNOWNED
    # A finding on a missing `owner` points at its commitment's `[[commitments]]` header.
    headers = [n for n, line in enumerate(text.splitlines(), 1) if line == "[[commitments]]"]
    for finding in findings:
        index = int(re.fullmatch(r"commitments\[(\d+)\]\.owner", finding.key).group(1))
        assert finding.line == headers[index]


def test_check_reports_a_sequence_too_tight_from_the_computed_dues(tmp_path: Path) -> None:
    text = example("team-project").read_text().replace("due = 2027-04-16", "due = 2027-03-20")
    path = tmp_path / "tight.toml"
    path.write_text(text)
    (finding,) = [f for f in check(load(path)) if f.code == "sequence-too-tight"]
    # design due 02-19, build +4 weeks = 03-19, store +1 week = 03-26, launch +2 weeks = 04-09
    assert "2027-04-09" in finding.message
    assert finding.line == text.splitlines().index("due = 2027-03-20") + 1


# --- locate: linear on any line, no recursion ---------------------------------------------

def test_spaces_in_a_table_header_do_not_backtrack() -> None:
    # 100 KB of spaces around the dot of a dotted header: valid TOML that took 36 s.
    text = ("[alliance]\nid = 'x'\n[goal" + " " * 50_000 + "." + " " * 50_000 + "extra]\n"
            "statement = 's'\n")
    assert tomllib.loads(text)["goal"]["extra"] == {"statement": "s"}
    lines: dict[str, int] = {}
    spent = _cpu(lambda: lines.update(index_lines(text)))
    assert lines["goal.extra"] == 3
    assert lines["goal.extra.statement"] == 4
    assert spent < 1.0, f"index_lines took {spent:.1f} s of CPU"


def test_deeply_nested_values_and_headers_index_without_recursion() -> None:
    deep_array = "a = " + "[" * 100_000 + "]" * 100_000 + "\nb = 1\n"
    assert index_lines(deep_array) == {"a": 1, "b": 2}
    deep_header = "[" + ".".join(["x"] * 40_000) + "]\nk = 1\n[[t]]\nv = 2\n"
    assert tomllib.loads(deep_header)["t"] == [{"v": 2}]
    lines: dict[str, int] = {}
    spent = _cpu(lambda: lines.update(index_lines(deep_header)))
    assert lines["t[0].v"] == 4
    assert lines[".".join(["x"] * 40_000) + ".k"] == 2
    assert spent < 2.0, f"index_lines took {spent:.1f} s of CPU"


def test_a_deep_header_in_an_alliance_file_is_a_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(example("team-project").read_text() + "\n[x" + ".x" * 5_000 + "]\nk = 1\n")
    with pytest.raises(BadInput) as caught:
        load(path)
    assert "x: is not a known key" in str(caught.value)


def test_a_deeply_nested_value_in_an_alliance_file_is_a_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(example("team-project").read_text().replace(
        "[goal]\n", "[goal]\ndeep = " + "[" * 5_000 + "]" * 5_000 + "\n"))
    with pytest.raises(BadInput):
        load(path)


# --- startup: what each command imports ---------------------------------------------------

def _imported_after(args: list[str]) -> set[str]:
    """Run the CLI in a fresh interpreter and return the top-level modules it imported."""
    done, loaded = run_probed(args)
    assert done.returncode == 0, done.stderr
    return {m.split(".")[0] for m in loaded}


def test_version_is_answered_before_click_loads() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "designed_alliance", "--version"],
                         capture_output=True, text=True, check=True).stdout
    assert out == "alliance, version 0.1.0\n"
    assert "click" not in _imported_after(["--version"])


def test_help_and_check_do_not_load_templates_or_icalendar() -> None:
    for args in (["--help"], ["check", str(example("team-project"))]):
        modules = _imported_after(args)
        assert "click" in modules
        assert not modules & {"jinja2", "icalendar", "sqlite3", "email"}, args
