"""The init wizard, driven by typed answers and by an answers file; its output loads."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
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


def garden(**changes: list[str]) -> list[str]:
    """The typed answers of a whole conversation, section by section; override a section."""
    sections = {
        "goal": ["Garden project", "Grow our own vegetables", "Fresher food", "",
                 "Europe/Berlin", "2027-03-01", "2027-09-30"],
        "kim": ["Kim", "kim@example.com", "", "gardener", "Seeds ordered on time", "",
                "Weekend digging", "", "y"],
        "lou": ["Lou", "lou@example.com", "America/New_York", "", "A plan for the beds", "",
                "Watering on weekdays", "", "n"],
        "measures": ["y", "Harvest", "kg", "0", "50", "2027-09-15", "Lou",
                     "Weigh every basket", "n"],
        "commitments": ["y", "Order seeds", "Kim", "2027-03-10",
                        "y", "Plant seedlings", "2", "y", "1", "3 weeks", "n"],
        "channels": ["y", "Family chat", "planning", "1 day", "n",
                     "y", "Post-it notes", "they get lost", "n"],
        "checkins": ["week", "sunday", "10:00", "30 minutes", "The garden", "What grew?", ""],
        "review": ["4 weeks", "17:00"],
        "celebration": ["Harvest feast", "deadline", "", "The allotment"],
    }
    sections.update(changes)
    return [answer for section in sections.values() for answer in section]


def typed(answers: list[str]) -> str:
    return "\n".join(answers) + "\n"


def saved_answers(target: Path) -> Path:
    from designed_alliance.core.commands.init import saved_path

    return saved_path(target)


def test_interactive_conversation_writes_every_answer(cli, tmp_path: Path) -> None:
    target = tmp_path / "garden.toml"
    result = cli("init", target, input=typed(garden()))
    assert result.exit_code == 0, result.output
    data = tomllib.loads(target.read_text())  # parsed by tomllib, not by our loader
    kim, lou = data["members"]
    assert kim["role"] == "gardener" and "timezone" not in kim  # the alliance's own zone
    assert lou["timezone"] == "America/New_York"
    (measure,) = data["measures"]
    assert measure["baseline"] == 0 and measure["target"] == 50  # numbers, not strings
    assert isinstance(measure["target"], int)
    assert measure["unit"] == "kg" and measure["owner"] == "lou"
    assert data["review"] == {"time": "17:00"}
    assert data["alliance"]["review_every"] == "4 weeks"
    assert "time" not in data["celebration"] and data["celebration"]["where"] == "The allotment"
    alliance = load(target)
    assert alliance.celebration is not None and alliance.celebration.time is None  # all day
    assert alliance.commitment("plant-seedlings").after == "order-seeds"
    assert alliance.commitment("plant-seedlings").owner == "lou"
    assert alliance.checkins is not None and alliance.checkins.questions == ("What grew?",)
    assert alliance.review is not None and str(alliance.review.time) == "17:00:00"
    assert not saved_answers(target).exists()  # done: nothing left to resume
    match = re.search(r"\((\d+) questions, (\d+) checked as typed\)", result.output)
    assert match is not None and match.group(1) == match.group(2)


def test_a_timed_celebration_asks_its_length(cli, tmp_path: Path) -> None:
    target = tmp_path / "garden.toml"
    answers = garden(celebration=["Harvest feast", "2027-10-02", "7pm", "19:00", "3 hours", ""])
    result = cli("init", target, input=typed(answers))
    assert result.exit_code == 0, result.output
    celebration = tomllib.loads(target.read_text())["celebration"]
    assert celebration["on"] == date(2027, 10, 2)
    assert celebration == {"how": "Harvest feast", "on": date(2027, 10, 2), "time": "19:00",
                           "duration": "3 hours"}


@pytest.mark.parametrize(("section", "answers", "complaint"), [
    ("goal", ["Garden project", "Grow our own vegetables", "", "", "Mars/Olympus",
              "Europe/Berlin", "2027-02-30", "2027-03-01", "2027-02-01", "2027-09-30"],
     ["is not a known time zone", "is not a date", "is before the start"]),
    ("kim", ["Kim", "kim at example", "kim@example.com", "Moon/Base", "", "", "", "", "maybe",
             "y"], ["is not an email address", "is not a known time zone", "answer y or n"]),
    ("measures", ["y", "Harvest", "", "0", "", "50", "2027-13-01", "", "Nobody", "", "", "n"],
     ["this one needs an answer", "is not a date", "is not one of them"]),
    ("commitments", ["y", "Order seeds", "Kim", "soon", "2027-03-10", "y", "Plant seedlings",
                     "Lou", "y", "Weeding", "1", "a while", "3 months", "3 weeks", "n"],
     ["is not a date", "is not one of them", "is not a duration"]),
    ("checkins", ["fortnightly", "2 weeks", "someday", "friday", "25:00", "10:00", "forever",
                  "45 minutes", "", "", ""],
     ["is not a cadence", "is not a weekday", "is not a time of day", "is not a duration"]),
    ("review", ["sometimes", "4 weeks", "teatime", ""],
     ["is not a cadence", "is not a time of day"]),
    ("celebration", ["Harvest feast", "when it is ripe", "deadline", "dusk", "", ""],
     ["is not a date", "is not a time of day"]),
])
def test_each_answer_is_checked_at_its_prompt(cli, tmp_path: Path, section: str,
                                              answers: list[str], complaint: list[str]) -> None:
    target = tmp_path / "garden.toml"
    result = cli("init", target, input=typed(garden(**{section: answers})))
    assert result.exit_code == 0, result.output
    for words in complaint:
        assert words in result.output, words
    load(target)


def test_back_changes_the_previous_answer(cli, tmp_path: Path) -> None:
    target = tmp_path / "garden.toml"
    goal = ["Garden project", "Grow our own vegetables", "<", "Grow all our vegetables",
            "Fresher food", "", "Europe/Berlin", "2027-03-01", "2027-09-30"]
    checkins = ["week", "sunday", "10:00", "back", "back", "saturday", "11:00", "30 minutes",
                "", "", ""]
    result = cli("init", target, input=typed(garden(goal=goal, checkins=checkins)))
    assert result.exit_code == 0, result.output
    data = tomllib.loads(target.read_text())
    assert data["goal"]["statement"] == "Grow all our vegetables"
    assert data["checkins"]["day"] == "saturday" and data["checkins"]["time"] == "11:00"


def test_ended_input_saves_answers_and_resume_continues(cli, tmp_path: Path) -> None:
    target = tmp_path / "garden.toml"
    answers = garden()
    cut = answers.index("Harvest")  # stop inside the measures
    first = cli("init", target, input=typed(answers[:cut]))
    assert first.exit_code == 2 and not target.exists()
    line = first.stderr.strip().splitlines()[-1]
    assert "--from-answers" in line and "--resume" in line
    saved = saved_answers(target)
    assert saved.stat().st_mode & 0o777 == 0o600
    data = json.loads(saved.read_text())
    assert [m["email"] for m in data["members"]] == ["kim@example.com", "lou@example.com"]
    assert data["_wizard"]["complete"] is False
    assert len(data["_wizard"]["transcript"]) == cut

    second = cli("init", target, "--resume", input=typed(answers[cut:]))
    assert second.exit_code == 0, second.output
    alliance = load(target)
    assert alliance.title == "Garden project" and alliance.measures[0].unit == "kg"
    assert not saved.exists()


def test_from_answers_on_a_saved_file_continues_it(cli, tmp_path: Path) -> None:
    target = tmp_path / "garden.toml"
    answers = garden()
    cut = answers.index("Family chat")
    assert cli("init", target, input=typed(answers[:cut])).exit_code == 2
    copy = tmp_path / "answers.json"
    copy.write_text(saved_answers(target).read_text())
    result = cli("init", target, "--from-answers", copy, input=typed(answers[cut:]))
    assert result.exit_code == 0, result.output
    assert load(target).communication.use[0].channel == "Family chat"


def test_resume_without_saved_answers_is_one_line(cli, tmp_path: Path) -> None:
    result = cli("init", tmp_path / "none.toml", "--resume")
    assert result.exit_code == 2 and "no saved answers" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_stdin_not_a_terminal_points_to_from_answers(cli, tmp_path: Path) -> None:
    target = tmp_path / "a.toml"
    result = cli("init", target, input="")
    assert result.exit_code == 2 and not target.exists()
    assert "stdin is not a terminal" in result.stderr
    assert "--from-answers answers.json" in result.stderr.strip().splitlines()[-1]


def _read_until(fd: int, wanted: str, seen: list[str], timeout: float = 20.0) -> None:
    import select

    deadline = time.monotonic() + timeout
    while wanted not in "".join(seen):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {wanted!r} in {''.join(seen)!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"ended before {wanted!r}: {''.join(seen)!r}")
            seen.append(chunk.decode("utf-8", "replace"))


def _reap(pid: int, timeout: float) -> int | None:
    """The child's wait status, or None (and the child killed) when it has not ended."""
    import signal

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a pty")
def test_ctrl_c_under_a_real_terminal_saves_and_resume_finishes(tmp_path: Path,
                                                               cli) -> None:
    import pty
    import signal

    target = tmp_path / "garden.toml"
    answers = garden()
    env = {**os.environ, "TERM": "dumb", "LANG": "C.UTF-8", "NO_COLOR": "1"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real program on a real terminal
        # A shell's background job starts with SIGINT ignored, and Python keeps that.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.execve(sys.executable, [sys.executable, "-m", "designed_alliance", "init",
                                   str(target)], env)
    seen: list[str] = []
    prompts = ["What do you call", "What is the goal", "Why does it matter",
               "What pain", "Time zone", "Start date", "Deadline", "Member 1: name"]
    for prompt, answer in zip(prompts, answers, strict=False):
        _read_until(fd, prompt, seen)
        seen.clear()
        os.write(fd, answer.encode() + b"\r")
    _read_until(fd, "email:", seen)  # mid-way: Kim's email is being asked
    os.write(fd, b"\x03")  # Ctrl-C, through the terminal's line discipline
    tail: list[str] = []
    # Read until the child closes the terminal: a child that is slow under load must not be
    # left blocked on a full terminal buffer while we wait for it.
    with contextlib.suppress(AssertionError):
        _read_until(fd, "\x00never", tail, timeout=60)
    status = _reap(pid, timeout=30)
    os.close(fd)
    assert status is not None, f"the wizard did not stop after Ctrl-C: {''.join(tail)!r}"
    assert os.waitstatus_to_exitcode(status) == 130, "".join(tail)
    said = [line for line in "".join(tail).replace("\r", "").splitlines()
            if line.strip() and line.strip() != "^C"]
    assert len(said) == 1 and "--resume" in said[0] and "Traceback" not in said[0], said
    saved = json.loads(saved_answers(target).read_text())
    assert saved["title"] == "Garden project" and saved["deadline"] == "2027-09-30"

    result = cli("init", target, "--resume", input=typed(answers[8:]))
    assert result.exit_code == 0, result.output
    alliance = load(target)
    assert alliance.title == "Garden project" and alliance.timezone == "Europe/Berlin"
    assert [m.name for m in alliance.members] == ["Kim", "Lou"]


@pytest.mark.parametrize("text", ['plain', 'quote " and \\ backslash', "tab\tand\nnewline",
                                  "ünïcödé ✓ 🎉", "\x01control"])
def test_toml_strings_round_trip(text: str) -> None:
    assert tomllib.loads(f"x = {toml_value(text)}")["x"] == text
