"""The two calendar services tested through their real client code against our emulators.

One description per service, so the tests they share (the contract, lost state, Retry-After,
seeded faults, refused tokens) are written once and run against both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from designed_alliance.core.target import Target
from designed_alliance.integrations.google.target import GoogleTarget
from designed_alliance.integrations.outlook.target import (
    PROP_FINGERPRINT,
    PROP_KEY,
    PROP_SEQUENCE,
    OutlookTarget,
)

from .contract import RemoteView


def google_view(emulator: Any) -> dict[str, RemoteView]:
    found: dict[str, RemoteView] = {}
    for event in emulator.events("primary"):
        private = event.get("extendedProperties", {}).get("private", {})
        key = private["allianceKey"]
        assert key not in found, f"two events for {key}"
        found[key] = RemoteView("cancelled" if event["status"] == "cancelled" else "active",
                                private["allianceFingerprint"],
                                int(private["allianceSequence"]))
    return found


def graph_view(emulator: Any) -> dict[str, RemoteView]:
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


@dataclass(frozen=True)
class Service:
    name: str
    target: type[Target]
    emulator: str  # the fixture that starts its emulator
    root_key: str
    extra_lines: tuple[str, ...]
    token: str
    view: Callable[[Any], dict[str, RemoteView]]
    drafts: Callable[[Any], list[Any]]
    creates: tuple[tuple[str, str], ...]  # (method, path) of requests that make something
    batch_fault: str  # a path that only event writes in a batch contain
    fresh_requests: tuple[tuple[str, str], ...]  # a first setup: lookup, one batch, one draft

    def config(self, tmp_path: Path, emulator: Any, *, command: str | None = "default"
               ) -> Path:
        path = tmp_path / f"{self.name}.toml"
        lines = [f"[{self.name}]", *self.extra_lines,
                 f'{self.root_key} = "{emulator.base_url}"']
        if command == "default":
            command = f"echo {self.token}"
        if command:
            lines.append(f"access_token_command = '{command}'")  # TOML literal string
        path.write_text("\n".join(lines) + "\n")
        return path


GOOGLE = Service("google", GoogleTarget, "google_emulator", "api_root",
                 ('calendar_id = "primary"',), "test-token", google_view,
                 lambda emulator: emulator.drafts(), (("POST", "/events"), ("POST", "/drafts")),
                 "/batch", (("GET", "/calendar/v3/calendars/primary/events"),
                            ("POST", "/batch/calendar/v3"), ("POST", "/gmail/v1/users/me/drafts")))
OUTLOOK = Service("outlook", OutlookTarget, "graph_emulator", "graph_root",
                  ('tenant = "common"',), "graph-token", graph_view,
                  lambda emulator: emulator.messages(),
                  (("POST", "/me/events"), ("POST", "/me/messages")), "/me/events",
                  (("GET", "/me/events"), ("POST", "/$batch"), ("POST", "/me/messages")))
SERVICES = {"google": GOOGLE, "outlook": OUTLOOK}


def both_services() -> tuple[Any, Any]:
    """The `service` fixture (each test runs against Google and Outlook) and the
    `emulator` fixture of the service a test runs against, for modules shared by both."""
    import pytest

    @pytest.fixture(params=sorted(SERVICES), name="service")
    def service(request: Any) -> Service:
        return SERVICES[request.param]

    @pytest.fixture(name="emulator")
    def emulator(service: Service, request: Any) -> Any:
        return request.getfixturevalue(service.emulator)

    return service, emulator


def service_fixtures(service: Service) -> tuple[Any, Any]:
    """The `slept` and `config` fixtures of one service's own test module."""
    import pytest

    from designed_alliance.core.config import load_config

    @pytest.fixture(name="slept")
    def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
        """Backoff waits are recorded, not slept: the tests stay fast and can check them."""
        waits: list[float] = []
        monkeypatch.setattr(service.target, "sleep", staticmethod(waits.append))
        return waits

    @pytest.fixture(name="config")
    def config(tmp_path: Path, request: Any, slept: list[float]) -> Any:
        emulator = request.getfixturevalue(service.emulator)
        return load_config(service.config(tmp_path, emulator), explicit=True)

    return slept, config


def module_helpers(service: Service) -> tuple[Any, Any, Any, Any]:
    """For one service's own test module: its config writer, the `slept` and `config`
    fixtures, and `setup_cli(cli, config, alliance, *extra)`."""
    def setup_cli(cli: Any, config: Path, alliance: Path, *extra: str) -> Any:
        return cli("--config", config, "setup", alliance, "--to", service.name, "--yes", *extra)

    return (service.config, *service_fixtures(service), setup_cli)


def fresh_setup(cli: Any, service: Service, tmp_path: Path, emulator: Any, name: str) -> Path:
    """A first setup of an example: exactly one lookup, one batch and one draft; an unchanged
    re-run then sends no request at all (the state says everything is in place)."""
    from .conftest import example

    config = service.config(tmp_path, emulator)
    args = ("--config", config, "setup", example(name), "--to", service.name, "--yes")
    result = cli(*args)
    assert result.exit_code == 0, result.output
    top = [(r.method, r.path) for r in emulator.requests if not r.batch_part]
    assert tuple(top) == service.fresh_requests
    log = list(emulator.requests)
    emulator.reset_log()
    assert cli(*args).exit_code == 0
    assert emulator.http_calls == 0
    emulator.requests.extend(log)  # the caller inspects the first run's requests
    return config


def google_events(emulator: Any) -> dict[str, Any]:
    return {e["extendedProperties"]["private"]["allianceKey"]: e for e in emulator.events()}


def graph_events(emulator: Any) -> dict[str, Any]:
    return {next(p["value"] for p in e["singleValueExtendedProperties"]
                 if p["id"] == PROP_KEY): e for e in emulator.events()}


def set_up_then_move_checkins(cli: Any, service: Service, tmp_path: Path, emulator: Any,
                              name: str, *extra: str) -> None:
    """Set an example up, then move its check-ins from 09:30 to 10:00 and set up again; the
    emulator's log then holds the second run only."""
    from .conftest import example

    config = service.config(tmp_path, emulator)
    path = tmp_path / "a.toml"
    path.write_text(example(name).read_text())
    args = ("--config", config, "setup", path, "--to", service.name, "--yes")
    assert cli(*args).exit_code == 0
    emulator.reset_log()
    path.write_text(path.read_text().replace('time = "09:30"', 'time = "10:00"'))
    result = cli(*args, *extra)
    assert result.exit_code == 0, result.output
