"""Results that do not depend on the current folder; a copied id; `setup DIR/`; what to send.

Every result is read back with another parser than the one that wrote it: icalendar for the
invites, `email` for the drafts, json for --json, the SMTP server's own envelopes.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
from pathlib import Path

import icalendar
import pytest

from .conftest import example
from .test_caldav_smtp import smtp_config

TEAM = "mobile-app-beta-9q2m"


def calendar(path: Path) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(path.read_bytes())


def sequence(path: Path) -> int:
    (event,) = calendar(path).walk("VEVENT")
    return int(event["SEQUENCE"])


def copy(name: str, folder: Path, text: str | None = None, as_name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{as_name or name}.toml"
    path.write_text(text if text is not None else example(name).read_text())
    return path


# -- the output belongs to the alliance, not to the working folder ---------------------------

def test_setup_and_teardown_from_other_folders_find_the_same_files(cli, tmp_path: Path,
                                                                   monkeypatch) -> None:
    path = copy("team-project", tmp_path / "team")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert cli("setup", path).exit_code == 0
    out = path.parent / "alliance-out" / TEAM
    assert calendar(out / "checkins.ics").walk("VEVENT")
    monkeypatch.chdir(elsewhere)
    again = cli("setup", path)
    assert again.exit_code == 0, again.output
    assert "(0 create, 0 update, 0 cancel" in again.output  # nothing made twice
    assert list(elsewhere.iterdir()) == []
    result = cli("teardown", path, "--yes")
    assert result.exit_code == 0, result.output
    assert "Nothing to do" not in result.output
    methods = {str(calendar(out / name)["METHOD"]) for name in ("checkins.ics", "review.ics")}
    assert methods == {"CANCEL"}
    assert list(elsewhere.iterdir()) == []


def test_default_out_dir_is_beside_the_file_unless_the_config_says(cli, tmp_path: Path) -> None:
    path = copy("household", tmp_path / "home")
    config = tmp_path / "config.toml"
    config.write_text(f'[defaults]\noutput_dir = "{tmp_path / "all"}"\n')
    assert cli("--config", config, "setup", path).exit_code == 0
    assert calendar(tmp_path / "all" / "home-reset-h7w1" / "alliance.ics").walk("VEVENT")
    assert not (path.parent / "alliance-out").exists()


def test_sequence_continues_for_the_same_uid_in_another_folder(cli, tmp_path: Path) -> None:
    path = copy("coach-client", tmp_path / "c")
    assert cli("setup", path).exit_code == 0
    path.write_text(path.read_text().replace('time = "12:15"', 'time = "12:30"'))
    assert cli("setup", path).exit_code == 0
    first = path.parent / "alliance-out" / "career-move-c4t8"
    assert sequence(first / "checkins.ics") == 1 and sequence(first / "celebration.ics") == 0
    other = tmp_path / "other"
    assert cli("setup", path, "--out", other).exit_code == 0
    # The same UIDs: a calendar that took SEQUENCE 1 would ignore a new SEQUENCE 0. The same
    # invite keeps the SEQUENCE it was sent with (it is a resend, not a change) ...
    uid = str(calendar(first / "checkins.ics").walk("VEVENT")[0]["UID"])
    assert str(calendar(other / "checkins.ics").walk("VEVENT")[0]["UID"]) == uid
    assert sequence(other / "checkins.ics") == 1
    assert sequence(other / "celebration.ics") == 0
    # ... and a changed one, written to a third folder, is newer than anything sent before.
    path.write_text(path.read_text().replace('time = "12:30"', 'time = "12:45"'))
    third = tmp_path / "third"
    assert cli("setup", path, "--out", third).exit_code == 0
    assert sequence(third / "checkins.ics") == 2


# -- a copied file keeps its id ---------------------------------------------------------------

def test_a_copy_with_the_same_id_and_another_title_is_refused(cli, tmp_path: Path,
                                                               state_file: Path) -> None:
    original = copy("household", tmp_path / "a")
    assert cli("setup", original).exit_code == 0
    other_text = original.read_text().replace('title = "Home reset"', 'title = "Book club"')
    twin = copy("household", tmp_path / "b", other_text)
    result = cli("setup", twin)
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert str(original) in line and "'Home reset'" in line
    assert "alliance init" in line and "--force" in line
    assert not (twin.parent / "alliance-out").exists()
    assert cli("teardown", twin, "--yes").exit_code == 1  # nor cancels the other's events
    assert "--force" in cli("plan", twin).stderr  # plan says setup would refuse

    # The same title from another place is the same alliance; a rename in place is fine.
    same = copy("household", tmp_path / "c", original.read_text())
    assert cli("setup", same).exit_code == 0
    same.write_text(other_text)  # `same` owns the id now: its rename is its own business
    assert cli("setup", same).exit_code == 0
    # --force: "it really is the same alliance, renamed", and from now on it owns the id.
    renamed = copy("household", tmp_path / "d",
                   other_text.replace('"Book club"', '"Home reset, again"'))
    assert cli("setup", renamed, "--force").exit_code == 0
    import sqlite3

    with sqlite3.connect(state_file) as conn:
        (row,) = conn.execute("SELECT title, source FROM alliances").fetchall()
    assert row == ("Home reset, again", str(renamed.resolve()))


# -- a folder of alliances ---------------------------------------------------------------------

def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "alliances"
    copy("household", folder)
    copy("coach-client", folder)
    shutil.copy(example("website-relaunch"), folder / "website-relaunch.toml")
    shutil.copy(example("website-relaunch").with_name("website-relaunch.progress.toml"),
                folder / "website-relaunch.progress.toml")
    return folder


def test_setup_dir_applies_each_alliance_and_sums_up(cli, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    result = cli("setup", folder)
    assert result.exit_code == 0, result.output
    assert result.output.count("Plan for '") == 3
    assert result.output.strip().splitlines()[-1] == (
        "3 alliances: 3 changed, 0 unchanged, 0 failed")
    for alliance_id in ("home-reset-h7w1", "career-move-c4t8", "website-relaunch-7f3k"):
        assert calendar(folder / "alliance-out" / alliance_id / "alliance.ics").walk("VEVENT")
    (folder / "coach-client.toml").write_text(
        (folder / "coach-client.toml").read_text().replace('time = "12:15"', 'time = "12:30"'))
    data = json.loads(cli("setup", folder, "--json").output)
    assert [(Path(a["file"]).name, a["status"]) for a in data["alliances"]] == [
        ("coach-client.toml", "changed"), ("household.toml", "unchanged"),
        ("website-relaunch.toml", "unchanged")]
    assert data["summary"] == {"changed": 1, "unchanged": 2, "failed": 0, "bad": 0}
    assert data["ok"] is True


def test_a_bad_file_in_the_folder_is_one_line_and_the_others_go_on(cli, tmp_path: Path
                                                                   ) -> None:
    folder = _folder(tmp_path)
    (folder / "broken.toml").write_text("[alliance]\nid = 'x'\n")
    for command in ("plan", "setup"):
        result = cli(command, folder)
        assert result.exit_code == 2, result.output
        errors = [line for line in result.stderr.splitlines() if line.startswith("alliance:")]
        assert len(errors) == 1 and "broken.toml" in errors[0]
        assert "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1] == (
        "4 alliances: 3 changed, 0 unchanged, 0 failed, 1 bad input")
    assert not (folder / "alliance-out" / "x").exists()
    data = json.loads(cli("plan", folder, "--json").output)
    assert [a["status"] for a in data["alliances"]] == ["bad", "unchanged", "unchanged",
                                                        "unchanged"]
    assert "broken.toml" in data["alliances"][0]["error"]
    check = cli("check", folder)
    assert check.exit_code == 2
    assert check.output.strip().splitlines()[-1] == "4 files: 3 ok, 0 with warnings, 1 bad input"


def test_a_failing_alliance_in_the_folder_is_exit_1(cli, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    blocked = folder / "alliance-out" / "home-reset-h7w1"
    blocked.parent.mkdir()
    blocked.write_text("a file where the folder should be")
    result = cli("setup", folder)
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines()[-1] == (
        "3 alliances: 2 changed, 0 unchanged, 1 failed")


def test_check_passes_a_progress_journal_to_its_alliance(cli, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    journal = folder / "website-relaunch.progress.toml"
    result = cli("check", *sorted(folder.glob("*.toml")))  # what `check *.toml` passes
    assert result.exit_code == 0, result.output
    assert f"{journal}: ok — the progress journal of 'Website relaunch'" in result.output
    journal.write_text(journal.read_text() + "\n[[done]]\ncommitment = \"nope\"\n")
    bad = cli("check", journal)
    assert bad.exit_code == 2 and str(journal) in bad.stderr
    orphan = tmp_path / "lonely.progress.toml"
    orphan.write_text("")
    lone = cli("check", orphan)
    assert lone.exit_code == 2 and "lonely.toml" in lone.stderr


# -- what the user must do next ------------------------------------------------------------------

def test_plan_to_a_remote_target_without_config_says_what_setup_says(cli, tmp_path: Path
                                                                     ) -> None:
    path = copy("household", tmp_path)
    for target in ("google", "outlook", "caldav"):
        planned = cli("plan", path, "--to", target)
        applied = cli("setup", path, "--to", target, "--yes")
        assert planned.exit_code == applied.exit_code == 1
        assert planned.stderr == applied.stderr and f"[{target}]" in planned.stderr


def test_setup_names_the_files_to_send(cli, tmp_path: Path) -> None:
    path = copy("coach-client", tmp_path)
    out = tmp_path / "alliance-out" / "career-move-c4t8"
    first = cli("setup", path)
    assert "Send kickoff.eml from your mail program" in first.output
    path.write_text(path.read_text().replace('time = "12:15"', 'time = "12:30"'))
    result = cli("setup", path)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"Files are in {out}" in lines
    send = next(line for line in lines if line.startswith("Send "))
    # The change summary is what to send; the rewritten kickoff.eml is a copy they have.
    assert "changes-1.eml" in send and "kickoff.eml" not in send
    invites = next(line for line in lines if line.startswith("Or send the invites alone: "))
    assert "checkins.ics" in invites and "celebration.ics" not in invites
    # What it names is there and is what it says it is.
    draft = email.message_from_bytes((out / "changes-1.eml").read_bytes(),
                                     policy=email.policy.default)
    assert draft["X-Unsent"] == "1"
    assert str(calendar(out / "checkins.ics")["METHOD"]) == "REQUEST"


def test_smtp_says_whom_it_sent_to(cli, tmp_path: Path, smtp_server, monkeypatch) -> None:
    monkeypatch.setenv("ALLIANCE_TEST_SMTP", smtp_server.password)
    config = smtp_config(tmp_path, smtp_server)
    path = copy("team-project", tmp_path)
    result = cli("--config", config, "setup", path, "--to", "ics", "--send", "--yes")
    assert result.exit_code == 0, result.output
    (sent,) = smtp_server.messages
    people = {r.lower() for r in sent.rcpt_tos}
    assert f"smtp: sent to {len(people)} people" in result.output.splitlines()
    assert "created" not in next(line for line in result.output.splitlines()
                                 if line.startswith("smtp:"))


@pytest.mark.parametrize("command", ["setup", "plan", "teardown"])
def test_help_says_where_the_files_go(cli, command: str) -> None:
    text = " ".join(cli(command, "--help").output.split())
    assert "beside the alliance file" in text and "FILE|DIR" in text
    assert os.sep + "alliance-out" not in text.replace("alliance-out/<id>", "")


def test_readme_quick_tour_lists_what_exists_and_runs_help(cli) -> None:
    from .conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    blocks = readme.split("```sh\n")
    assert blocks[1].split("```")[0] == (
        "pip install . && alliance setup examples/team-project.toml\n")
    tour = readme.split("## A quick tour", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].split() for line in tour.splitlines()
                if line.startswith("alliance ")]
    words = {" ".join(c[1:3]) if c[1] == "config" else c[1] for c in commands}
    assert {"log", "done", "status", "config init", "template", "setup"} <= words
    assert ["alliance", "template", "--full"] in commands
    assert any(c[:2] == ["alliance", "setup"] and c[2].endswith("/") for c in commands)
    for command in commands:  # every one is a real command (its --help works)
        name = command[1:3] if command[1] == "config" else command[1:2]
        assert cli(*name, "--help").exit_code == 0, command
