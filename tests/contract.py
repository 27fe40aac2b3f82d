"""One contract, every calendar target: subclass `TargetContract` and provide two fixtures.

- `target`: a ready `Target` instance writing somewhere the test owns.
- `remote`: a callable returning the ground truth on the remote side, as
  {item key: RemoteView}, read from the server/emulator/files themselves — never from our state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from designed_alliance.core.config import Config
from designed_alliance.core.load import loads
from designed_alliance.core.model import Alliance
from designed_alliance.core.plan import Action, Plan
from designed_alliance.core.run import Desired, apply_plan, desired, make_plan, require_success
from designed_alliance.core.state import State
from designed_alliance.core.target import Target

from .conftest import EXAMPLES

# The review's time pinned: by default it follows the check-in (right after it), and the
# edit tests below move the check-in alone.
BASE = (EXAMPLES / "website-relaunch.toml").read_text(encoding="utf-8") + (
    '\n[review]\ntime = "10:30"\n')
EVENT_KEYS = {"checkins", "review", "commitment:design", "commitment:copy", "celebration"}


@dataclass(frozen=True)
class RemoteView:
    status: str  # "active" | "cancelled"
    fingerprint: str
    sequence: int | None = None  # None where the remote does not expose it


def alliance_from(text: str = BASE) -> Alliance:
    return loads(text, "alliance.toml")


def run(target: Target, alliance: Alliance, state: State, *, teardown: bool = False,
        reconcile: bool = True) -> Plan:
    want = desired(alliance, Config())
    plan = make_plan(alliance, _only_events(want, target), [target], state,
                     teardown=teardown, reconcile=reconcile)
    report = apply_plan(alliance, want, plan, [target], state)
    require_success(report)
    return plan


def _only_events(want: Desired, target: Target) -> Desired:
    return want if "message" in target.handles else Desired(want.events, ())


def actions(plan: Plan) -> dict[str, Action]:
    """Event changes only: targets that also keep a kickoff draft update it on every edit."""
    return {c.key: c.action for part in plan.targets for c in part.changes
            if c.key in EVENT_KEYS}


class TargetContract:
    """What every target promises. Subclasses provide `target` and `remote`.

    Capability flags (as vdirsyncer's storage tests have) switch off what a target cannot do,
    and say why in the skip:
    - `supports_lookup`: a lost state is rebuilt from the remote side (sent mail cannot be).
    - `idempotent_without_state`: the same plan applied twice with no state between them
      makes nothing twice (a file or a tagged event is found again; sent mail is not).
    """

    supports_lookup = True
    idempotent_without_state = True

    @pytest.fixture
    def state(self, tmp_path: Path) -> State:
        state = State(tmp_path / "contract-state.sqlite")
        yield state
        state.close()

    def active(self, remote: Callable[[], dict[str, RemoteView]]) -> dict[str, RemoteView]:
        return {k: v for k, v in remote().items() if v.status == "active"}

    def test_fresh_setup_creates_every_event(self, target, remote, state) -> None:
        alliance = alliance_from()
        plan = run(target, alliance, state)
        assert set(actions(plan).values()) == {Action.CREATE}
        found = self.active(remote)
        assert set(found) == EVENT_KEYS
        want = {e.key: e.fingerprint for e in desired(alliance, Config()).events}
        assert {k: v.fingerprint for k, v in found.items()} == want

    def test_unchanged_rerun_keeps_everything(self, target, remote, state) -> None:
        run(target, alliance_from(), state)
        before = remote()
        plan = run(target, alliance_from(), state)
        assert set(actions(plan).values()) == {Action.KEEP}
        assert remote() == before

    def test_edit_updates_exactly_one_event_and_raises_sequence(self, target, remote,
                                                                state) -> None:
        run(target, alliance_from(), state)
        before = remote()
        edited = alliance_from(BASE.replace('time = "09:30"', 'time = "10:00"'))
        plan = run(target, edited, state)
        changed = {k: a for k, a in actions(plan).items() if a is not Action.KEEP}
        assert changed == {"checkins": Action.UPDATE}
        after = remote()
        assert after["checkins"].fingerprint != before["checkins"].fingerprint
        if after["checkins"].sequence is not None:
            assert after["checkins"].sequence == (before["checkins"].sequence or 0) + 1
        assert after["celebration"] == before["celebration"]
        assert after["review"] == before["review"]

    def test_removed_commitment_is_cancelled(self, target, remote, state) -> None:
        run(target, alliance_from(), state)
        edited = BASE.replace('after = "design"', "").replace(
            'takes = "2 weeks"                 # or: due = 2027-01-15', "due = 2027-01-15")
        edited = edited.split("[[commitments]]\nid = \"copy\"")[0] + "[communication]" + (
            edited.split("[communication]", 1)[1])
        plan = run(target, alliance_from(edited), state)
        cancelled = {k for k, a in actions(plan).items() if a is Action.CANCEL}
        updated = {k for k, a in actions(plan).items() if a is Action.UPDATE}
        assert cancelled == {"commitment:copy"}
        assert updated <= {"commitment:design"}  # its "waiting on this" line lost an entry
        assert "commitment:copy" not in self.active(remote)
        assert set(self.active(remote)) == EVENT_KEYS - {"commitment:copy"}

    def test_lost_state_is_rebuilt_without_duplicates(self, target, remote, state,
                                                      tmp_path: Path) -> None:
        if not self.supports_lookup:
            pytest.skip(f"{target.name} cannot look up what it made (can_lookup=False)")
        assert target.can_lookup
        run(target, alliance_from(), state)
        before = remote()
        fresh = State(tmp_path / "lost-state.sqlite")
        plan = run(target, alliance_from(), fresh)
        assert set(actions(plan).values()) == {Action.KEEP}
        assert remote() == before
        fresh.close()

    def test_applying_twice_without_recording_never_duplicates(self, target, remote,
                                                               state, tmp_path: Path) -> None:
        # As if the first run died after writing and before recording anything.
        if not self.idempotent_without_state:
            pytest.skip(f"{target.name} cannot find what it delivered without its state")
        alliance = alliance_from()
        want = _only_events(desired(alliance, Config()), target)
        plan = make_plan(alliance, want, [target], State(tmp_path / "a.sqlite"))
        require_success(apply_plan(alliance, want, plan, [target], State(tmp_path / "x.sqlite")))
        require_success(apply_plan(alliance, want, plan, [target], state))
        assert set(self.active(remote)) == EVENT_KEYS
        assert len(remote()) == len(EVENT_KEYS)

    def test_lookup_answers_without_writing(self, target, remote, state) -> None:
        """`lookup` finds exactly the tagged objects (or {} where it cannot look)."""
        alliance = alliance_from()
        assert target.lookup(alliance.id) == {}
        run(target, alliance, state)
        found = target.lookup(alliance.id)
        if not target.can_lookup:
            assert found == {}
            return
        assert set(found) >= EVENT_KEYS
        fingerprints = {k: v.fingerprint for k, v in self.active(remote).items()}
        assert {k: found[k].fingerprint for k in EVENT_KEYS} == fingerprints

    def test_teardown_cancels_everything(self, target, remote, state) -> None:
        run(target, alliance_from(), state)
        plan = run(target, alliance_from(), state, teardown=True)
        assert set(actions(plan).values()) == {Action.CANCEL}
        assert self.active(remote) == {}
