"""The init wizard, driven by typed answers and by an answers file; its output loads."""

from __future__ import annotations

import json
import tomllib
from datetime import date
from pathlib import Path

import pytest

from designed_alliance.core.compose import toml_value
from designed_alliance.core.load import load

ANSWERS = {
    "title": 'Book "Quiet Power" \\ draft',
    "goal": "Finish the first draft of the book",
    "why": "Readers keep asking; the ideas are ready",
    "pain": "",
    "timezone": "Europe/Berlin",
    "starts": "2027-01-04",
    "deadline": "2027-05-28",
    "review_every": "4 weeks",
    "members": [
        {"name": "Zoë Álvarez", "email": "zoe@example.com", "needs": ["Honest notes"],
         "offers": ["A chapter every two weeks"]},
        {"name": "Sam Lee", "email": "sam@example.com", "needs": ["Chapters on time"],
         "offers": ["Notes within three days"], "timezone": "America/New_York"},
    ],
    "measures": [{"name": "Chapters drafted", "baseline": 0, "target": 12, "by": "2027-05-14",
                  "inspect": "The shared folder, every check-in"}],
    "commitments": [
        {"what": "Outline", "owner": "Zoë Álvarez", "due": "2027-01-22"},
        {"what": "First three chapters", "owner": "zoe", "after": "Outline",
         "takes": "6 weeks"},
    ],
    "use": [{"channel": "Signal", "for": "quick questions", "respond_within": "1 day"}],
    "avoid": [{"channel": "Phone calls", "why": "they break the writing flow"}],
    "checkins": {"every": "2 weeks", "day": "friday", "time": "16:00",
                 "duration": "45 minutes", "where": "Café Lotte"},
    "celebration": {"how": "Launch dinner 🎉", "on": "deadline", "time": "19:00"},
}


def test_from_answers_writes_a_file_that_loads(cli, tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(ANSWERS, ensure_ascii=False))
    target = tmp_path / "book.toml"
    result = cli("init", target, "--from-answers", answers)
    assert result.exit_code == 0, result.output
    alliance = load(target)
    assert alliance.title == 'Book "Quiet Power" \\ draft'
    assert [m.id for m in alliance.members] == ["zoe", "sam"]
    assert alliance.members[1].timezone == "America/New_York"
    assert alliance.commitment("first-three-chapters").after == "outline"
    assert alliance.checkins is not None and alliance.checkins.days == ("FR",)
    assert alliance.celebration is not None and alliance.celebration.how == "Launch dinner 🎉"
    assert alliance.deadline == date(2027, 5, 28)
    assert "alliance plan" in result.output and "Which other relationships" in result.output
    assert cli("check", target).exit_code == 0
    # Comments explain the file to whoever opens it next.
    assert "# 4. Who does what, and when" in target.read_text()


def test_refuses_to_overwrite_without_force(cli, tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(ANSWERS))
    target = tmp_path / "a.toml"
    target.write_text("keep me")
    result = cli("init", target, "--from-answers", answers)
    assert result.exit_code == 2 and "--force" in result.stderr
    assert target.read_text() == "keep me"
    assert cli("init", target, "--from-answers", answers, "--force").exit_code == 0


@pytest.mark.parametrize(("mutate", "fragment"), [
    (lambda a: a.update(members="nobody"), "members: must be a list"),
    (lambda a: a["members"][1].update(email="sam at example"), "members[1].email"),
    (lambda a: a.update(timezone="Mars/Base"), "alliance.timezone"),
    (lambda a: a.update(title=None), "title: must be a string"),
])
def test_bad_answers_are_one_line_exit_2_nothing_written(cli, tmp_path: Path, mutate,
                                                         fragment: str) -> None:
    data = json.loads(json.dumps(ANSWERS))
    mutate(data)
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(data))
    target = tmp_path / "a.toml"
    result = cli("init", target, "--from-answers", answers)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and str(answers) in lines[0]
    assert not target.exists() and not list(tmp_path.glob(".a.toml.*"))


def test_answers_file_that_is_not_json(cli, tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text("{ not json")
    result = cli("init", tmp_path / "a.toml", "--from-answers", answers)
    assert result.exit_code == 2 and "is not valid JSON" in result.stderr


def test_interactive_conversation_reasks_bad_answers(cli, tmp_path: Path) -> None:
    typed = "\n".join([
        "Garden project", "Grow our own vegetables", "Fresher food", "",
        "Mars/Olympus", "Europe/Berlin",          # a bad zone is asked again
        "2027-03-01", "2027-09-30",
        "Kim", "kim at example", "kim@example.com",  # a bad email is asked again
        "Seeds ordered on time", "", "Weekend digging", "",
        "y",
        "Lou", "lou@example.com", "A plan for the beds", "", "Watering on weekdays", "",
        "n",
        "y", "Kilos harvested", "0", "50", "2027-09-15", "Weigh every basket", "n",
        "y", "Order seeds", "Kim", "2027-03-10",
        "y", "Plant seedlings", "Lou", "y", "Order seeds", "3 weeks", "n",
        "y", "Family chat", "planning", "1 day", "n",
        "y", "Post-it notes", "they get lost", "n",
        "week", "sunday", "10:00", "30 minutes", "The garden", "What grew?", "",
        "4 weeks",
        "Harvest feast", "deadline", "17:00",
    ]) + "\n"
    target = tmp_path / "garden.toml"
    result = cli("init", target, input=typed)
    assert result.exit_code == 0, result.output
    assert "is not a time zone" in result.output and "write an address" in result.output
    alliance = load(target)
    assert alliance.timezone == "Europe/Berlin"
    assert [m.email for m in alliance.members] == ["kim@example.com", "lou@example.com"]
    assert alliance.commitment("plant-seedlings").after == "order-seeds"
    assert alliance.checkins is not None and alliance.checkins.questions == ("What grew?",)


@pytest.mark.parametrize("text", ['plain', 'quote " and \\ backslash', "tab\tand\nnewline",
                                  "ünïcödé ✓ 🎉", "\x01control"])
def test_toml_strings_round_trip(text: str) -> None:
    assert tomllib.loads(f"x = {toml_value(text)}")["x"] == text
