"""Shared fixtures. Server and emulator fixtures live next to the servers they start."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest_plugins = [
    "tests.emulators.google_emu",
    "tests.emulators.graph_fixtures",
    "tests.servers.local",
]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own state, config and working folder: nothing leaks between them."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("ALLIANCE_STATE", raising=False)
    monkeypatch.delenv("ALLIANCE_CONFIG", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def state_file(isolated: Path) -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "designed-alliance" / "state.sqlite"


@pytest.fixture
def cli():
    """Run `alliance …` in-process; returns click's Result (stdout, stderr, exit_code)."""
    from designed_alliance.core.cli import cli as command

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(command, [str(a) for a in args], input=input,
                             catch_exceptions=False)

    return invoke


def example(name: str) -> Path:
    return EXAMPLES / f"{name}.toml"
