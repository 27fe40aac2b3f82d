"""Outputs that heal: a deleted or replaced file in the output folder is written again as it
was (same SEQUENCE, same Message-ID), and the members are told nothing new about it."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from pathlib import Path

import icalendar
import pytest

EVENT_FILES = ["celebration.ics", "checkins.ics", "commitment-choose.ics",
               "commitment-kitchen.ics", "commitment-quotes.ics", "review.ics"]
ALL_FILES = sorted(["alliance.ics", "kickoff.eml", *EVENT_FILES])


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


def invite(path: Path) -> tuple[str, str, int, str]:
    """(key, fingerprint, SEQUENCE, METHOD) of a per-item invite, read with icalendar."""
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    event = cal.walk("VEVENT")[0]
    return (str(event["X-DESIGNED-ALLIANCE-KEY"]), str(event["X-DESIGNED-ALLIANCE-FINGERPRINT"]),
            int(event.get("SEQUENCE", 0)), str(cal["METHOD"]))


def kickoff_id(path: Path) -> str:
    return str(email.message_from_bytes(path.read_bytes(), policy=email.policy.default)[
        "Message-ID"])


def snapshot(out: Path) -> dict[str, object]:
    found: dict[str, object] = {name: invite(out / name) for name in EVENT_FILES}
    whole = icalendar.Calendar.from_ical((out / "alliance.ics").read_bytes())
    found["alliance.ics"] = sorted((str(e["X-DESIGNED-ALLIANCE-KEY"]),
                                    int(e.get("SEQUENCE", 0))) for e in whole.walk("VEVENT"))
    found["kickoff.eml"] = kickoff_id(out / "kickoff.eml")
    return found


def test_a_deleted_output_folder_is_written_again_as_it_was(cli, household: Path,
                                                            out: Path) -> None:
    assert cli("setup", household, "--out", out).exit_code == 0
    before = snapshot(out)
    for path in out.iterdir():
        path.unlink()
    out.rmdir()
    result = cli("setup", household, "--out", out)
    assert result.exit_code == 0, result.output
    assert "Nothing to do" not in result.output
    assert sorted(p.name for p in out.iterdir()) == ALL_FILES  # no changes-*.eml: no news
    assert snapshot(out) == before  # same SEQUENCE everywhere: nothing changed for anyone
    again = cli("setup", household, "--out", out)
    assert again.exit_code == 0 and "Nothing to do" in again.output


@pytest.mark.parametrize("name", ["review.ics", "kickoff.eml", "alliance.ics"])
def test_one_deleted_file_is_written_again_and_only_it(cli, household: Path, out: Path,
                                                       name: str, monkeypatch) -> None:
    from datetime import timedelta

    from designed_alliance.integrations import ical

    assert cli("setup", household, "--out", out).exit_code == 0
    before = snapshot(out)
    untouched = {p.name: p.read_bytes() for p in out.iterdir()
                 if p.name != name and (name != "alliance.ics" or p.suffix == ".eml")}
    (out / name).unlink()
    # The heal runs an hour later: a file written again would carry another DTSTAMP.
    later = ical.now_utc() + timedelta(hours=1)
    monkeypatch.setattr(ical, "now_utc", lambda: later)
    result = cli("setup", household, "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ALL_FILES
    assert snapshot(out) == before
    for other, data in untouched.items():
        assert (out / other).read_bytes() == data, f"{other} was rewritten"


def test_a_file_replaced_by_hand_is_written_again(cli, household: Path, out: Path) -> None:
    assert cli("setup", household, "--out", out).exit_code == 0
    before = snapshot(out)
    (out / "checkins.ics").write_bytes((out / "celebration.ics").read_bytes())
    (out / "kickoff.eml").write_text("Subject: not ours\r\nMessage-ID: <other@x>\r\n\r\nhi\r\n")
    result = cli("setup", household, "--out", out)
    assert result.exit_code == 0, result.output
    assert snapshot(out) == before


def test_a_heal_after_an_edit_announces_only_the_edit(cli, household: Path, out: Path) -> None:
    assert cli("setup", household, "--out", out).exit_code == 0
    (out / "review.ics").unlink()
    household.write_text(household.read_text().replace('time = "18:00"', 'time = "18:30"'))
    result = cli("setup", household, "--out", out)
    assert result.exit_code == 0, result.output
    summary = email.message_from_bytes((out / "changes-1.eml").read_bytes(),
                                       policy=email.policy.default)
    told = [str(icalendar.Calendar.from_ical(p.get_content()).walk("VEVENT")[0][
        "X-DESIGNED-ALLIANCE-KEY"]) for p in summary.walk()
        if p.get_content_type() == "text/calendar"]
    assert told == ["checkins"]
    assert invite(out / "review.ics")[2] == 0 and invite(out / "checkins.ics")[2] == 1


def alliance_command(*args: object, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The installed command in a child process: a hang is a timeout here, not a stuck
    test run."""
    command = Path(sys.executable).parent / "alliance"
    return subprocess.run([str(command), *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("kind", ["fifo", "link"])
def test_something_odd_named_like_a_change_summary_is_named_not_opened(
        household: Path, out: Path, tmp_path: Path, kind: str) -> None:
    env = {**os.environ}
    assert alliance_command("setup", household, "--out", out, env=env).returncode == 0
    odd = out / "changes-1.eml"
    if kind == "fifo":
        os.mkfifo(odd)
    else:
        victim = tmp_path / "elsewhere.eml"
        victim.write_text("Message-ID: <x@y>\r\n\r\n")
        odd.symlink_to(victim)
    household.write_text(household.read_text().replace('time = "18:00"', 'time = "18:30"'))
    done = alliance_command("setup", household, "--out", out, env=env)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(odd) in lines[0], done.stderr
    assert ("FIFO" if kind == "fifo" else "symbolic link") in lines[0]
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in out.glob("changes-*.eml")) == ["changes-1.eml"]
