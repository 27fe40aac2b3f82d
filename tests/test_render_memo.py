"""A re-run after an edit renders only the texts whose values changed (issue 15).

Each calendar item's template gets only the values it shows (compose.Words); a text is
looked up by its template and those values, so what an edit did not touch is reused from
the last run. The tests hold the two sides of that: the reused texts are exactly what a
fresh rendering gives (for edits in every section of the file), and the texts rendered
again are only those that show what changed.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import sqlite3
from pathlib import Path

import pytest

from designed_alliance.core import compose, config, items, journal, model, records, rendered
from designed_alliance.core.config import Config, Defaults
from designed_alliance.core.journal import load_journal
from designed_alliance.core.load import loads
from designed_alliance.core.run import Desired, desired, remember
from designed_alliance.core.state import State

from .conftest import example

TEAM = example("team-project").read_text()
JOURNALED = example("website-relaunch")

# (name, old, new, the templates that must run again besides the kickoff's two)
EDITS = [
    ("commitment what", '"Build onboarding and main screens"', '"Build the onboarding"',
     # its own text, "Starts when … is done" of `store`, "Waiting on this" of `design`
     ["commitment.txt.j2"] * 3),
    ("commitment notes", 'takes = "1 week"\n', 'takes = "1 week"\nnotes = "Both stores"\n',
     ["commitment.txt.j2"]),
    ("hard due", "due = 2027-02-19", "due = 2027-02-22",
     # design, build and store move; launch keeps its own hard due, which store shows
     ["commitment.txt.j2"] * 3),
    ("member name", 'name = "Tomás Ferreira"', 'name = "Tomás F."', ["commitment.txt.j2"]),
    ("goal", '"Ship a public beta of the mobile app to 200 testers"', '"Ship the beta"',
     ["checkin.txt.j2", "review.txt.j2", *["commitment.txt.j2"] * 4, "celebration.txt.j2"]),
    ("title", 'title = "Mobile app beta"', 'title = "Beta"',
     ["checkin.txt.j2", "review.txt.j2", *["commitment.txt.j2"] * 4, "celebration.txt.j2"]),
    ("check-in questions", '"What shipped?", ', "", ["checkin.txt.j2"]),
    ("check-in time", 'time = "16:30"', 'time = "16:45"', []),
    ("measure", "target = 99.5", "target = 99.9", ["checkin.txt.j2"]),
    ("measure inspect", '"Crash reporter weekly summary"', '"Crash dashboard"', []),
    ("channel", '"4 hours"', '"2 hours"', ["checkin.txt.j2"]),
    ("celebration", '"The roof terrace"', '"The garden"', ["celebration.txt.j2"]),
    ("member needs", '"No scope changes inside a sprint"', '"Calm sprints"', []),
]


def render_twice(before: str, after: str, tmp_path: Path) -> tuple[Desired, Desired]:
    """(the re-run's Desired, a fresh Desired) for `after`, with `before` set up first."""
    state = State(tmp_path / "state.sqlite")
    first = loads(before, "team.toml")
    remember(first, desired(first, Config(), None, state=state), state)
    second = loads(after, "team.toml")
    return desired(second, Config(), None, state=state), desired(second, Config(), None)


@pytest.mark.parametrize(("old", "new", "again"), [e[1:] for e in EDITS],
                         ids=[e[0] for e in EDITS])
def test_an_edit_renders_only_the_texts_that_show_it(old: str, new: str, again: list[str],
                                                     tmp_path: Path) -> None:
    assert old in TEAM
    rerun, fresh = render_twice(TEAM, TEAM.replace(old, new, 1), tmp_path)
    assert rerun.events == fresh.events and rerun.messages == fresh.messages
    assert sorted(rerun.rendered) == sorted(
        [*again, "kickoff.txt.j2", "kickoff.html.j2"])


def test_an_unchanged_text_is_reused_across_a_changed_configuration(tmp_path: Path) -> None:
    state = State(tmp_path / "state.sqlite")
    alliance = loads(TEAM, "team.toml")
    remember(alliance, desired(alliance, Config(), None, state=state), state)
    other = Config(defaults=Defaults(organizer="tomas@example.org"))
    rerun = desired(alliance, other, None, state=state)
    assert not rerun.from_state
    assert rerun.rendered == ("kickoff.txt.j2", "kickoff.html.j2")  # the sender changed
    assert rerun.messages == desired(alliance, other, None).messages


def test_the_journal_rerenders_what_it_moves(tmp_path: Path) -> None:
    from designed_alliance.core.load import load

    alliance = load(JOURNALED)
    state = State(tmp_path / "state.sqlite")
    remember(alliance, desired(alliance, Config(), None, state=state), state)
    jrn = load_journal(alliance)
    assert jrn is not None and jrn.done
    rerun = desired(alliance, Config(), jrn, state=state)
    fresh = desired(alliance, Config(), jrn)
    assert rerun.events == fresh.events and rerun.messages == fresh.messages
    assert "celebration.txt.j2" in rerun.rendered  # it now lists who did what
    assert len(rerun.rendered) < len(fresh.rendered)


def test_many_edits_one_after_another_stay_what_a_fresh_rendering_gives(
        tmp_path: Path) -> None:
    """Each run reuses the texts the previous one kept, not only those of the first."""
    state = State(tmp_path / "state.sqlite")
    text = TEAM
    for _name, old, new, _again in EDITS:
        text = text.replace(old, new, 1)
        alliance = loads(text, "team.toml")
        want = desired(alliance, Config(), None, state=state)
        fresh = desired(alliance, Config(), None)
        assert want.events == fresh.events and want.messages == fresh.messages
        remember(alliance, want, state)
    alliance = loads(TEAM, "team.toml")  # and back to where it started
    back = desired(alliance, Config(), None, state=state)
    assert back.events == desired(alliance, Config(), None).events


def test_texts_are_not_reused_across_code_or_templates(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    state = State(tmp_path / "state.sqlite")
    alliance = loads(TEAM, "team.toml")
    remember(alliance, desired(alliance, Config(), None, state=state), state)
    monkeypatch.setattr(rendered, "code_stamp", lambda: "another build")
    edited = loads(TEAM.replace('"The roof terrace"', '"The garden"'), "team.toml")
    rerun = desired(edited, Config(), None, state=state)
    assert len(rerun.rendered) == len(rerun.events) + 2  # everything, kickoff in two parts


def test_a_damaged_kept_rendering_renders_everything(tmp_path: Path) -> None:
    state = State(tmp_path / "state.sqlite")
    alliance = loads(TEAM, "team.toml")
    remember(alliance, desired(alliance, Config(), None, state=state), state)
    with sqlite3.connect(tmp_path / "state.sqlite") as conn:
        conn.execute("UPDATE rendered SET items = ?", (b"\x78\x9c garbage",))
    edited = loads(TEAM.replace('"The roof terrace"', '"The garden"'), "team.toml")
    rerun = desired(edited, Config(), None, state=state)
    assert len(rerun.rendered) == len(rerun.events) + 2
    assert rerun.events == desired(edited, Config(), None).events


def test_the_key_spells_out_every_value() -> None:
    key = compose.memo_key
    assert key("a.j2", {"x": 1}) != key("b.j2", {"x": 1})
    assert key("a.j2", {"x": 1}) != key("a.j2", {"x": 1.0})
    assert key("a.j2", {"x": "1"}) != key("a.j2", {"x": 1})
    assert key("a.j2", {"x": ["a", "b"]}) != key("a.j2", {"x": ["a,b"]})
    assert key("a.j2", {"x": ["a"], "y": []}) != key("a.j2", {"x": [], "y": ["a"]})
    assert key("a.j2", {"x": ("a",)}) != key("a.j2", {"x": ["a"]})
    assert key("a.j2", {"x": {"k": "v"}}) != key("a.j2", {"x": {"v": "k"}})
    goal = model.Goal("Ship it")
    assert key("a.j2", {"g": goal}) != key("a.j2", {"g": dataclasses.replace(goal, why="x")})
    assert key("a.j2", {"x": 1}) == key("a.j2", {"x": 1})


@pytest.mark.parametrize("value", [object(), {1, 2}, Path("x"), json.JSONDecoder()],
                         ids=["object", "set", "path", "foreign"])
def test_a_value_the_key_cannot_spell_out_is_always_rendered(value: object) -> None:
    assert compose.memo_key("a.j2", {"x": value}) is None


_RECORD_REPR = inspect.unwrap(records._repr(["x"])).__code__  # the one records makes


@pytest.mark.parametrize("module", [model, items, config, journal],
                         ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_our_values_have_a_repr_that_lists_every_field(module: object) -> None:
    """memo_key spells our dataclasses by their repr: it must say all of it."""
    classes = [c for c in vars(module).values()
               if isinstance(c, type) and dataclasses.is_dataclass(c)
               and c.__module__ == module.__name__]  # type: ignore[attr-defined]
    assert classes
    for cls in classes:
        assert all(f.repr for f in dataclasses.fields(cls)), cls
        # dataclass leaves a __repr__ of the class's own in place: it must be the generated one
        code = inspect.unwrap(cls.__repr__).__code__
        assert code is _RECORD_REPR or code.co_filename == "<string>", cls
