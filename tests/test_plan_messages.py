"""Messages are plan items: `plan` shows every mail it would write, `--json` carries them, and
the shared apply workflow records a message together with what it announces — or neither."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

from designed_alliance.core.config import Config
from designed_alliance.core.errors import Unavailable
from designed_alliance.core.load import loads
from designed_alliance.core.plan import Action, Change
from designed_alliance.core.run import apply_plan, desired, make_plan
from designed_alliance.core.state import State
from designed_alliance.core.target import Applied, ApplyContext, Options, Remote, Target

from .conftest import example

# The review pinned: its default follows the check-in, and MOVED moves the check-in alone.
BASE = example("website-relaunch").read_text() + '\n[review]\ntime = "10:30"\n'
MOVED = BASE.replace('time = "09:30"', 'time = "10:00"')


def plan_json(cli, path: Path, *args: str) -> dict:
    result = cli("plan", path, "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def part(plan: dict, target: str) -> list[dict]:
    return next(t["changes"] for t in plan["targets"] if t["target"] == target)


def test_plan_lists_the_kickoff_and_then_each_change_summary(cli, tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text(BASE)
    first = part(plan_json(cli, path), "eml")
    kickoff = next(c for c in first if c["key"] == "kickoff")
    assert kickoff == {"action": "create", "kind": "message", "key": "kickoff",
                       "title": "Our designed alliance: Website relaunch", "sequence": 0}
    assert {c["announced_by"] for c in first if c["kind"] == "event"} == {"kickoff"}
    assert cli("setup", path).exit_code == 0

    path.write_text(MOVED)
    text = cli("plan", path).output
    assert "+ create message changes-" in text and "“Changes to our designed alliance" in text
    changes = part(plan_json(cli, path), "eml")
    (summary,) = [c for c in changes if c["key"].startswith("changes-")]
    assert summary["action"] == "create" and summary["kind"] == "message"
    told = {c["key"]: c["action"] for c in changes if c.get("announced_by") == summary["key"]}
    assert told == {"checkins": "update", "kickoff": "update"}
    # The ics target writes the event itself: nothing there is carried by a message.
    assert all("announced_by" not in c for c in part(plan_json(cli, path), "ics"))

    assert cli("setup", path).exit_code == 0
    assert not plan_json(cli, path)["has_changes"]  # the summary is history, never re-sent
    assert sorted(p.name for p in tmp_path.glob("alliance-out/**/changes-*.eml")) == [
        "changes-1.eml"]


def test_teardown_plans_a_cancellation_notice_for_mail_targets(cli, tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text(BASE)
    assert cli("setup", path).exit_code == 0
    result = cli("teardown", path, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    changes = part(json.loads(result.output), "eml")
    (notice,) = [c for c in changes if c["key"].startswith("changes-")]
    assert notice["title"] == "Cancelled: our designed alliance Website relaunch"
    assert {c["action"] for c in changes if c.get("announced_by") == notice["key"]} == {
        "cancel"}


class Flaky(Target):
    """Writes events and announces them in drafts; events in `failing` fail (a 503)."""

    name = "flaky"
    handles = frozenset({"event", "message"})
    announces = True
    is_remote = False
    failing: ClassVar[set[str]] = set()
    delivered: ClassVar[list[str]] = []

    @property
    def instance(self) -> str:
        return "flaky:test"

    def lookup(self, alliance_id: str) -> dict[str, Remote]:
        return {}

    def write_events(self, changes: Sequence[Change], context: ApplyContext
                     ) -> Iterator[Applied]:
        for change in changes:
            if change.key in self.failing:
                yield Applied(change, error=Unavailable("HTTP 503", status=503))
            else:
                yield Applied(change, remote_id=change.key)

    def deliver(self, change: Change, context: ApplyContext) -> str:
        keys = sorted(c.key for c in context.announced(change.key))
        self.delivered.append(f"{change.key}:{','.join(keys)}")
        return change.key


def test_a_message_is_held_back_when_what_it_announces_failed(tmp_path: Path) -> None:
    state = State(tmp_path / "s.sqlite")
    target = Flaky(Config(), Options(out_dir=tmp_path))
    Flaky.delivered.clear()

    def once(text: str) -> None:
        alliance = loads(text, "a.toml")
        want = desired(alliance, Config())
        plan = make_plan(alliance, want, [target], state)
        apply_plan(alliance, want, plan, [target], state)

    once(BASE)
    assert Flaky.delivered == [
        "kickoff:celebration,checkins,commitment:copy,commitment:design,review"]
    edited = MOVED.replace('how = "Team dinner at Lupa"', 'how = "Team dinner at Lucia"')
    Flaky.failing = {"celebration"}
    once(edited)
    # The check-in moved, the celebration failed: no summary claims what did not happen,
    # and the moved check-in is not recorded as told.
    assert len(Flaky.delivered) == 1
    records = state.records("website-relaunch-7f3k", "flaky:test")
    assert records["checkins"].sequence == 0
    Flaky.failing = set()
    once(edited)
    summary, kickoff = Flaky.delivered[1:]  # the summary, then the kickoff draft rewritten
    assert summary.startswith("changes-") and summary.endswith(
        ":celebration,checkins,kickoff")
    assert kickoff == "kickoff:"
    records = state.records("website-relaunch-7f3k", "flaky:test")
    assert records["checkins"].sequence == 1 and records["celebration"].sequence == 1
    assert {r.status for k, r in records.items() if k.startswith("changes-")} == {"sent"}
    again = make_plan(loads(edited, "a.toml"), desired(loads(edited, "a.toml"), Config()),
                      [target], state)
    assert not again.has_changes
    assert all(c.action is Action.KEEP for c in again.targets[0].changes)
