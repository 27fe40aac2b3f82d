"""SIGKILL at every write and every request, then run again: the result is exactly what a
clean run gives — no duplicate, no orphan, no lost change.

Each kill point runs the apply in a forked child that kills itself with SIGKILL just before
or just after the N-th state write, file write or HTTP request. The parent then runs the same
command to completion and compares what the remote side holds with a clean reference run.
"""

from __future__ import annotations

import email
import email.policy
import functools
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import icalendar
import pytest

from designed_alliance.core.config import Config, load_config
from designed_alliance.core.load import loads
from designed_alliance.core.run import apply_plan, desired, make_plan, make_targets
from designed_alliance.core.state import State
from designed_alliance.core.target import Options

from .conftest import example

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")

BASE = example("team-project").read_text()
EDITED = BASE.replace('time = "16:30"', 'time = "17:15"').replace(
    '[[commitments]]\nid = "store"', '[[commitments]]\nid = "listing"').replace(
    'after = "store"', 'after = "listing"')
SCENARIOS = {  # steps before the crashed one, then the crashed step
    "fresh": [(BASE, False)],
    "edit": [(BASE, False), (EDITED, False)],
    "teardown": [(BASE, False), (BASE, True)],
    "revert": [(BASE, False), (EDITED, False), (BASE, False)],  # a cancelled item comes back
}
KILLS: dict[str, int] = {}


def apply_once(text: str, names: tuple[str, ...], config: Config, out: Path, state_path: Path,
               teardown: bool) -> bool:
    alliance = loads(text, "alliance.toml")
    state = State(state_path)
    targets = make_targets(names, config, Options(out_dir=out))
    want = desired(alliance, config)
    plan = make_plan(alliance, want, targets, state, teardown=teardown, reconcile=True)
    apply_plan(alliance, want, plan, targets, state)
    again = make_plan(alliance, want, targets, state, teardown=teardown, reconcile=True)
    state.close()
    return again.has_changes


def killed_child(point: int, when: str, hooks: list[tuple[Any, str]],
                 action: Callable[[], Any], hits: Path) -> bool:
    """Run `action` in a forked child that SIGKILLs itself at the point; True if it did.

    Every hook the child passes is appended to `hits`, so the caller can prove that each kind
    of kill point (state write, file write, request) was really reached."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            count = [0]
            for owner, name in hooks:
                original = getattr(owner, name)

                label = f"{getattr(owner, '__name__', owner)}.{name}"

                def wrapper(*args: Any, _original: Any = original, _label: str = label,
                            **kwargs: Any) -> Any:
                    count[0] += 1
                    mine = count[0]
                    with hits.open("a") as record:
                        record.write(_label + "\n")
                    if when == "before" and mine == point:
                        os.kill(os.getpid(), signal.SIGKILL)
                    result = _original(*args, **kwargs)
                    if when == "after" and mine == point:
                        os.kill(os.getpid(), signal.SIGKILL)
                    return result

                setattr(owner, name, wrapper)
            action()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


# -- what the remote side holds, normalised so two runs can be compared ----------------------

def files_view(out: Path) -> dict[str, Any]:
    assert not list(out.glob(".*.tmp")), "a temporary file was left behind"
    view: dict[str, Any] = {}
    uids: set[str] = set()
    for path in sorted(out.glob("*.ics")):
        cal = icalendar.Calendar.from_ical(path.read_bytes())
        events = cal.walk("VEVENT")
        if path.name == "alliance.ics":
            view[path.name] = sorted(str(e["X-DESIGNED-ALLIANCE-KEY"]) for e in events)
            continue
        (event,) = events
        uid = str(event["UID"])
        assert uid not in uids, f"two files for {uid}"
        uids.add(uid)
        view[path.name] = (str(cal["METHOD"]), uid, int(event["SEQUENCE"]),
                           str(event.get("STATUS")), str(event["X-DESIGNED-ALLIANCE-FINGERPRINT"]))
    for path in sorted(out.glob("*.eml")):
        mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        view[path.name] = (str(mail["Message-ID"]),
                           sorted(p.get_filename() for p in mail.iter_attachments()))
    return view


def google_view(emulator: Any) -> dict[str, Any]:
    events = []
    for event in emulator.events("primary"):
        private = event["extendedProperties"]["private"]
        events.append((private["allianceKey"], event["status"], private["allianceFingerprint"],
                       private["allianceSequence"]))
    drafts = sorted((str(m["Subject"]), str(m["Message-ID"])) for _, m in emulator.drafts())
    return {"events": sorted(events), "drafts": drafts}


def graph_view(emulator: Any) -> dict[str, Any]:
    def props(event: dict[str, Any]) -> dict[str, str]:
        return {p["id"].split(" Name ")[-1]: p["value"]
                for p in event["singleValueExtendedProperties"]}

    active = sorted((props(e)["designedAllianceKey"], props(e)["designedAllianceFingerprint"],
                     props(e)["designedAllianceSequence"]) for e in emulator.events())
    gone = sorted({props(e)["designedAllianceKey"] for e in emulator.cancelled}
                  - {a[0] for a in active})
    drafts = sorted((m["subject"], m["internetMessageId"]) for m in emulator.messages())
    return {"events": active, "cancelled": gone, "drafts": drafts}


# -- the three kinds of target ---------------------------------------------------------------

class Files:
    names = ("ics", "eml")

    def __init__(self, root: Path) -> None:
        self.root = root
        self.out = root / "out"
        self.config = Config()

    def hooks(self) -> list[tuple[Any, str]]:
        from designed_alliance.integrations import eml, ics

        return [(State, "put_many"), (ics, "write_atomic"), (eml, "write_atomic")]

    def view(self) -> dict[str, Any]:
        return files_view(self.out)

    def close(self) -> None:
        pass


class Google:
    names = ("google",)

    def __init__(self, root: Path) -> None:
        from designed_alliance.integrations.google.target import GoogleTarget
        from tests.emulators.google_emu import GoogleEmulator, GoogleServer

        GoogleTarget.sleep = staticmethod(lambda seconds: None)
        GoogleTarget.batch_size = 1  # more requests, so more places to be killed between
        self.root = root
        self.out = root / "out"
        self.emulator = GoogleEmulator()
        self.server = GoogleServer(self.emulator)
        root.mkdir(parents=True, exist_ok=True)
        path = root / "config.toml"
        path.write_text(f'[google]\napi_root = "{self.emulator.base_url}"\n'
                        "access_token_command = 'echo test-token'\n")
        self.config = load_config(path, explicit=True)

    def hooks(self) -> list[tuple[Any, str]]:
        import httplib2

        return [(State, "put_many"), (httplib2.Http, "request")]

    def view(self) -> dict[str, Any]:
        return google_view(self.emulator)

    def close(self) -> None:
        self.server.close()


class Outlook:
    names = ("outlook",)

    def __init__(self, root: Path) -> None:
        from designed_alliance.integrations.outlook.target import OutlookTarget
        from tests.emulators.graph_emu import GraphEmulator, GraphServer

        OutlookTarget.sleep = staticmethod(lambda seconds: None)
        OutlookTarget.batch_size = 2
        self.root = root
        self.out = root / "out"
        self.emulator = GraphEmulator()
        self.server = GraphServer(self.emulator)
        root.mkdir(parents=True, exist_ok=True)
        path = root / "config.toml"
        path.write_text(f'[outlook]\ngraph_root = "{self.emulator.base_url}"\n'
                        "access_token_command = 'echo graph-token'\n")
        self.config = load_config(path, explicit=True)

    def hooks(self) -> list[tuple[Any, str]]:
        import requests

        return [(State, "put_many"), (requests.Session, "request")]

    def view(self) -> dict[str, Any]:
        return graph_view(self.emulator)

    def close(self) -> None:
        self.server.close()


KINDS = {"files": Files, "google": Google, "outlook": Outlook}


def run_steps(world: Any, steps: list[tuple[str, bool]], state_path: Path) -> None:
    for text, teardown in steps:
        pending = apply_once(text, world.names, world.config, world.out, state_path, teardown)
        assert not pending, "a clean run left changes to make"


@pytest.mark.slow  # ~2 minutes: a SIGKILL at every write of a whole setup, per target
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_killed_anywhere_then_rerun_converges(kind: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from designed_alliance.integrations.google.target import GoogleTarget
    from designed_alliance.integrations.outlook.target import OutlookTarget

    for cls in (GoogleTarget, OutlookTarget):  # the worlds change these; undo it afterwards
        monkeypatch.setattr(cls, "batch_size", cls.batch_size)
        monkeypatch.setattr(cls, "sleep", cls.sleep)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    make = KINDS[kind]
    survived = 0
    hits = tmp_path / "hits.txt"
    probe = make(tmp_path / "hooks")
    hooks = probe.hooks()
    probe.close()
    for scenario, steps in SCENARIOS.items():
        reference = make(tmp_path / f"ref-{scenario}")
        run_steps(reference, steps, reference.root / "state.sqlite")
        expected = reference.view()
        reference.close()
        for when in ("before", "after"):
            point = 1
            while True:
                world = make(tmp_path / f"{scenario}-{when}-{point}")
                state_path = world.root / "state.sqlite"
                run_steps(world, steps[:-1], state_path)
                text, teardown = steps[-1]
                died = killed_child(point, when, world.hooks(), functools.partial(
                    apply_once, text, world.names, world.config, world.out, state_path,
                    teardown), hits)
                # The user runs the same command again; it must finish the job.
                pending = apply_once(text, world.names, world.config, world.out, state_path,
                                     teardown)
                assert not pending, (scenario, when, point)
                assert world.view() == expected, (scenario, when, point)
                world.close()
                if not died:
                    break  # the point lies past the last write: every point was covered
                survived += 1
                point += 1
    KILLS[kind] = survived
    print(f"\n{kind}: {survived} kill points survived")
    reached = set(hits.read_text().split())
    wanted = {f"{getattr(owner, '__name__', owner)}.{name}" for owner, name in hooks}
    assert wanted <= reached, f"kill points never reached: {sorted(wanted - reached)}"
    assert survived >= 50, f"only {survived} kill points for {kind}"
