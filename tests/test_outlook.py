"""The outlook target over real HTTP against the Graph emulator."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from designed_alliance.core.config import Config, load_config
from designed_alliance.core.state import State
from designed_alliance.core.target import Options
from designed_alliance.integrations.outlook.target import (
    PROP_FINGERPRINT,
    PROP_KEY,
    PROP_SEQUENCE,
    OutlookTarget,
)

from .conftest import example
from .contract import EVENT_KEYS, RemoteView, TargetContract, alliance_from, run


def outlook_config(tmp_path: Path, emulator, *, command: str | None = "echo graph-token"
                   ) -> Path:
    path = tmp_path / "outlook.toml"
    lines = ["[outlook]", 'tenant = "common"', f'graph_root = "{emulator.base_url}"']
    if command:
        lines.append(f"access_token_command = '{command}'")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(OutlookTarget, "sleep", staticmethod(waits.append))
    return waits


@pytest.fixture
def config(tmp_path: Path, graph_emulator, slept) -> Config:
    return load_config(outlook_config(tmp_path, graph_emulator), explicit=True)


def view(emulator) -> dict[str, RemoteView]:
    found: dict[str, RemoteView] = {}
    for event in emulator.events():
        props = {p["id"]: p["value"] for p in event["singleValueExtendedProperties"]}
        key = props[PROP_KEY]
        assert key not in found, f"two events for {key}"
        found[key] = RemoteView("active", props[PROP_FINGERPRINT], int(props[PROP_SEQUENCE]))
    for event in emulator.cancelled:
        props = {p["id"]: p["value"] for p in event["singleValueExtendedProperties"]}
        found.setdefault(props[PROP_KEY], RemoteView("cancelled", props[PROP_FINGERPRINT],
                                                     int(props[PROP_SEQUENCE])))
    return found


class TestOutlookTarget(TargetContract):
    @pytest.fixture
    def target(self, config: Config, tmp_path: Path):
        return OutlookTarget(config, Options(out_dir=tmp_path))

    @pytest.fixture
    def remote(self, graph_emulator):
        return lambda: view(graph_emulator)


def setup_cli(cli, config: Path, alliance: Path, *extra: str):
    return cli("--config", config, "setup", alliance, "--to", "outlook", "--yes", *extra)


def test_fresh_setup_request_count_and_bodies(cli, tmp_path: Path, graph_emulator,
                                              slept) -> None:
    config = outlook_config(tmp_path, graph_emulator)
    result = setup_cli(cli, config, example("team-project"))
    assert result.exit_code == 0, result.output
    items = 8  # 7 events + the kickoff draft
    top = [(r.method, r.path) for r in graph_emulator.requests if not r.batch_part]
    assert top == [("GET", "/me/events"), ("POST", "/$batch"), ("POST", "/me/messages")]
    assert graph_emulator.http_calls <= 1 + math.ceil(items / 20) + 1
    events = {next(p["value"] for p in e["singleValueExtendedProperties"]
                   if p["id"] == PROP_KEY): e for e in graph_emulator.events()}
    checkins = events["checkins"]
    assert checkins["start"] == {"dateTime": "2027-02-01T09:30:00",
                                 "timeZone": "W. Europe Standard Time"}
    assert checkins["recurrence"]["pattern"] == {
        "type": "weekly", "interval": 1, "daysOfWeek": ["monday", "thursday"],
        "firstDayOfWeek": "monday"}
    assert checkins["recurrence"]["range"]["endDate"] == "2027-04-29"
    assert events["commitment:design"]["isAllDay"] is True
    assert {a["emailAddress"]["address"] for a in checkins["attendees"]} == {
        "tomas@example.org", "mei@example.org"}  # the organizer is not invited to her own
    assert all(e.get("transactionId") for e in graph_emulator.events())
    (draft,) = graph_emulator.messages()
    assert draft["subject"] == "Our designed alliance: Mobile app beta"
    assert len(draft["attachments"]) == 7
    graph_emulator.reset_log()
    assert setup_cli(cli, config, example("team-project")).exit_code == 0
    assert graph_emulator.http_calls == 0  # unchanged: nothing to write, nothing to ask


def test_edit_is_one_patch_and_a_change_draft(cli, tmp_path: Path, graph_emulator,
                                              slept) -> None:
    config = outlook_config(tmp_path, graph_emulator)
    path = tmp_path / "a.toml"
    path.write_text(example("team-project").read_text())
    setup_cli(cli, config, path)
    graph_emulator.reset_log()
    path.write_text(path.read_text().replace('time = "09:30"', 'time = "10:00"'))
    assert setup_cli(cli, config, path).exit_code == 0
    assert graph_emulator.count("PATCH") == 1
    assert view(graph_emulator)["checkins"].sequence == 1
    subjects = sorted(m["subject"] for m in graph_emulator.messages())
    assert subjects == ["Changes to our designed alliance: Mobile app beta",
                        "Our designed alliance: Mobile app beta"]


def test_lost_state_creates_nothing(cli, tmp_path: Path, graph_emulator, slept,
                                    state_file: Path) -> None:
    config = outlook_config(tmp_path, graph_emulator)
    setup_cli(cli, config, example("team-project"))
    before = view(graph_emulator)
    state_file.unlink()
    graph_emulator.reset_log()
    assert setup_cli(cli, config, example("team-project")).exit_code == 0
    assert graph_emulator.count("POST", "/me/events") == 0
    assert graph_emulator.count("POST", "/me/messages") == 0
    assert view(graph_emulator) == before and len(graph_emulator.messages()) == 1


def test_retry_after_is_honoured_in_batch_parts(config: Config, graph_emulator, slept,
                                                tmp_path: Path) -> None:
    graph_emulator.faults.push(status=429, retry_after="5", path_contains="/me/events")
    run(OutlookTarget(config, Options(out_dir=tmp_path)), alliance_from(),
        State(tmp_path / "s.sqlite"))
    assert slept and slept[0] >= 5
    assert set(view(graph_emulator)) == EVENT_KEYS


def test_inexpressible_rule_is_refused_at_plan_time(cli, tmp_path: Path, graph_emulator,
                                                    slept) -> None:
    config = outlook_config(tmp_path, graph_emulator)
    path = tmp_path / "a.toml"
    text = example("website-relaunch").read_text()
    path.write_text(text.replace('every = "week"', 'rrule = "FREQ=MONTHLY;BYMONTHDAY=1,15"')
                    .replace('day = "monday"\n', ""))
    for command in ("plan", "setup"):
        result = cli("--config", config, command, path, "--to", "outlook", "--yes"
                     if command == "setup" else "--to=outlook")
        assert result.exit_code == 2, result.output
        assert "checkins.rrule" in result.stderr and "Outlook" in result.stderr
    assert graph_emulator.events() == [] and graph_emulator.http_calls == 0


@pytest.mark.parametrize("seed", range(100))
def test_seeded_faults_end_in_exactly_the_expected_state(seed: int, graph_emulator, slept,
                                                         tmp_path: Path) -> None:
    config = load_config(outlook_config(tmp_path, graph_emulator), explicit=True)
    graph_emulator.faults.random(rate=0.2, seed=seed)
    state = State(tmp_path / "state.sqlite")
    rng = random.Random(seed)
    for attempt in range(10):
        try:
            run(OutlookTarget(config, Options(out_dir=tmp_path)), alliance_from(), state)
            break
        except Exception:
            if rng.random() < 0.5:
                state.close()
                state = State(tmp_path / f"lost-{attempt}.sqlite")
    else:
        pytest.fail("did not converge in 10 runs")
    found = view(graph_emulator)
    assert set(found) == EVENT_KEYS
    assert len(graph_emulator.events()) == len(EVENT_KEYS)
    assert len(graph_emulator.messages()) == 1


def test_missing_section_or_credentials_is_one_line_exit_1(cli, tmp_path: Path,
                                                           graph_emulator, state_file) -> None:
    result = cli("setup", example("household"), "--to", "outlook", "--yes")
    assert result.exit_code == 1 and "[outlook]" in result.stderr
    config = outlook_config(tmp_path, graph_emulator, command=None)
    result = cli("--config", config, "setup", example("household"), "--to", "outlook", "--yes")
    assert result.exit_code == 1
    assert "client_id" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    config.write_text(config.read_text() + 'client_id = "11111111-2222-3333-4444-555555555555"\n')
    result = cli("--config", config, "setup", example("household"), "--to", "outlook", "--yes")
    assert result.exit_code == 1 and "alliance auth outlook" in result.stderr
    assert graph_emulator.http_calls == 0 and not state_file.exists()


def test_rejected_token_says_run_auth(cli, tmp_path: Path, graph_emulator, slept) -> None:
    config = outlook_config(tmp_path, graph_emulator, command="echo not-the-token")
    result = cli("--config", config, "setup", example("household"), "--to", "outlook", "--yes")
    assert result.exit_code == 1 and "alliance auth outlook" in result.stderr
    assert "not-the-token" not in result.output


def test_batches_hold_at_most_twenty(config: Config, graph_emulator, slept,
                                     tmp_path: Path) -> None:
    text = example("website-relaunch").read_text()
    extra = "".join(f'\n[[commitments]]\nid = "c{i}"\nowner = "ana"\nwhat = "Step {i}"\n'
                    f"due = 2027-02-{i + 1:02d}\n" for i in range(25))
    alliance = alliance_from(text.replace("[communication]", extra + "\n[communication]"))
    run(OutlookTarget(config, Options(out_dir=tmp_path)), alliance, State(tmp_path / "s.db"))
    batches = [r for r in graph_emulator.requests if r.path == "/$batch"]
    assert len(batches) == 2
    assert max(len(r.body["requests"]) for r in batches) == 20
    assert len(graph_emulator.events()) == 30
