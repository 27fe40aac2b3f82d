"""What Google and Outlook share, written once and run against both emulators: the target
contract, lost state, Retry-After, seeded faults, and a refused token."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from designed_alliance.core.config import load_config
from designed_alliance.core.state import State
from designed_alliance.core.target import Options

from .conftest import example
from .contract import EVENT_KEYS, TargetContract, alliance_from, run
from .services import GOOGLE, OUTLOOK, Service, both_services

service, emulator = both_services()


@pytest.fixture
def slept(service: Service, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff waits are recorded, not slept: the tests stay fast and can check them."""
    waits: list[float] = []
    monkeypatch.setattr(service.target, "sleep", staticmethod(waits.append))
    return waits


class ServiceContract(TargetContract):
    svc: Service

    @pytest.fixture
    def target(self, tmp_path: Path, request, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.setattr(self.svc.target, "sleep", staticmethod(lambda seconds: None))
        emulator = request.getfixturevalue(self.svc.emulator)
        config = load_config(self.svc.config(tmp_path, emulator), explicit=True)
        return self.svc.target(config, Options(out_dir=tmp_path))

    @pytest.fixture
    def remote(self, request):
        emulator = request.getfixturevalue(self.svc.emulator)
        return lambda: self.svc.view(emulator)


class TestGoogleContract(ServiceContract):
    svc = GOOGLE


class TestOutlookContract(ServiceContract):
    svc = OUTLOOK


def test_lost_state_creates_nothing_new(cli, tmp_path: Path, service: Service, emulator,
                                        slept, state_file: Path) -> None:
    config = service.config(tmp_path, emulator)
    args = ("--config", config, "setup", example("website-relaunch"), "--to", service.name,
            "--yes")
    assert cli(*args).exit_code == 0
    before = service.view(emulator)
    state_file.unlink()
    emulator.reset_log()
    result = cli(*args)
    assert result.exit_code == 0, result.output
    for method, path in service.creates:
        assert emulator.count(method, path) == 0, (method, path)
    assert service.view(emulator) == before
    assert len(service.drafts(emulator)) == 1


def test_retry_after_is_honoured(service: Service, emulator, slept, tmp_path: Path) -> None:
    emulator.faults.push(status=429, retry_after="7", path_contains=service.batch_fault)
    config = load_config(service.config(tmp_path, emulator), explicit=True)
    run(service.target(config, Options(out_dir=tmp_path)), alliance_from(),
        State(tmp_path / "s.sqlite"))
    assert slept and slept[0] >= 7
    assert set(service.view(emulator)) == EVENT_KEYS


@pytest.mark.parametrize("seed", range(100))
def test_seeded_faults_end_in_exactly_the_expected_state(seed: int, service: Service,
                                                         emulator, slept,
                                                         tmp_path: Path) -> None:
    config = load_config(service.config(tmp_path, emulator), explicit=True)
    emulator.faults.random(rate=0.2, seed=seed)
    state = State(tmp_path / "state.sqlite")
    alliance = alliance_from()
    rng = random.Random(seed)
    for attempt in range(10):  # the documented recovery: run the same command again
        try:
            run(service.target(config, Options(out_dir=tmp_path)), alliance, state)
            break
        except Exception:
            if rng.random() < 0.5:
                state.close()
                state = State(tmp_path / f"lost-{attempt}.sqlite")  # and sometimes lose state
    else:
        pytest.fail("did not converge in 10 runs")
    emulator.faults.clear()
    found = service.view(emulator)
    assert set(found) == EVENT_KEYS
    assert {v.status for v in found.values()} == {"active"}
    assert len(emulator.events()) == len(EVENT_KEYS)
    assert len(service.drafts(emulator)) == 1


def test_refused_token_says_run_auth(cli, tmp_path: Path, service: Service, emulator, slept,
                                     state_file: Path) -> None:
    config = service.config(tmp_path, emulator, command="echo not-the-token")
    if service is GOOGLE:
        emulator.revoked_tokens.add("not-the-token")
    result = cli("--config", config, "setup", example("household"), "--to", service.name,
                 "--yes")
    assert result.exit_code == 1
    assert f"alliance auth {service.name}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not-the-token" not in result.output + result.stderr
    assert emulator.events() == []
