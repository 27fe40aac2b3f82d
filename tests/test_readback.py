"""Reading the calendar back: answers, declined occurrences and drift, against the Google
and Graph emulators (acting as the members) through the real client code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import example
from .services import SERVICES, Service

NAMES = sorted(SERVICES)


@pytest.fixture(params=NAMES)
def service(request) -> Service:
    return SERVICES[request.param]


@pytest.fixture
def emulator(service: Service, request):
    return request.getfixturevalue(service.emulator)


@pytest.fixture(autouse=True)
def no_sleep(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service.target, "sleep", staticmethod(lambda seconds: None))


def set_up(cli, service: Service, tmp_path: Path, emulator, name: str = "team-project"
           ) -> tuple[Path, Path]:
    config = service.config(tmp_path, emulator)
    path = tmp_path / "a.toml"
    path.write_text(example(name).read_text())
    result = cli("--config", config, "setup", path, "--to", service.name, "--yes")
    assert result.exit_code == 0, result.output
    return config, path


def status(cli, config: Path, path: Path, service: Service, *extra: str) -> dict:
    result = cli("--config", config, "status", path, "--to", service.name, "--json",
                 "--on", "2027-03-01", *extra)
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def answers(data: dict) -> dict[tuple[str, str], str]:
    return {(r["key"], r["email"]): r["response"] for r in data["responses"]}


def test_responses_fresh_then_incremental(cli, tmp_path: Path, service: Service,
                                          emulator) -> None:
    config, path = set_up(cli, service, tmp_path, emulator)
    emulator.respond("checkins", "tomas@example.org", "accepted")
    emulator.reset_log()
    first = status(cli, config, path, service)
    assert answers(first)[("checkins", "tomas@example.org")] == "accepted"
    assert answers(first)[("checkins", "mei@example.org")] == "needs-action"
    assert "lena@example.org" not in {r["email"] for r in first["responses"]}  # organizer
    assert "Mei has not answered the check-in series" in first["busters"]
    assert first["read"]["incremental"] is False
    fresh = emulator.http_calls
    emulator.respond("checkins", "mei@example.org", "tentative")
    emulator.reset_log()
    second = status(cli, config, path, service)
    assert second["read"]["incremental"] is True
    assert emulator.http_calls <= 2, emulator.requests
    assert answers(second)[("checkins", "mei@example.org")] == "tentative"
    assert answers(second)[("checkins", "tomas@example.org")] == "accepted"  # from the cache
    print(f"{service.name}: fresh {fresh} request(s), incremental {emulator.http_calls}")
