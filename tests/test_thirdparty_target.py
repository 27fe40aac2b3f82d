"""A target added from outside: one module plus one entry point, and it takes part in plan,
setup, teardown, doctor, the config schema and the shared contract — with no change to core."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from designed_alliance.core.config import load_config
from designed_alliance.core.target import Options, available_targets

from .conftest import example
from .contract import RemoteView, TargetContract

ENTRY_POINTS = """[designed_alliance.integrations]
jsondir = tests.thirdparty.jsondir:JsonDirTarget
"""


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Install the entry point the way pip would: a dist-info folder on sys.path."""
    site = tmp_path / "site"
    dist = site / "alliance_jsondir-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: alliance-jsondir\n"
                                   "Version: 1.0\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(site))
    available_targets.cache_clear()
    yield
    available_targets.cache_clear()
    sys.modules.pop("tests.thirdparty.jsondir", None)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[jsondir]\nfolder = "{tmp_path / "json"}"\n')
    return path


def test_plan_setup_teardown_through_the_cli(installed, cli, config_file: Path,
                                             tmp_path: Path) -> None:
    result = cli("--config", config_file, "plan", example("website-relaunch"), "--to", "jsondir")
    assert result.exit_code == 0, result.output
    assert "jsondir →" in result.output and "+ create checkins" in result.output
    result = cli("--config", config_file, "setup", example("website-relaunch"),
                 "--to", "jsondir", "--yes")
    assert result.exit_code == 0, result.output
    files = {p.name: json.loads(p.read_text()) for p in (tmp_path / "json").glob("*.json")}
    assert {d["key"] for d in files.values()} == {
        "checkins", "review", "celebration", "commitment:design", "commitment:copy"}
    result = cli("--config", config_file, "teardown", example("website-relaunch"),
                 "--to", "jsondir", "--yes")
    assert result.exit_code == 0, result.output
    statuses = {json.loads(p.read_text())["status"] for p in (tmp_path / "json").glob("*.json")}
    assert statuses == {"cancelled"}


def test_doctor_and_config_schema_include_it(installed, cli, config_file: Path) -> None:
    result = cli("--config", config_file, "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(result.output)["checks"]}
    assert checks["jsondir"]["status"] == "ok"
    schema = json.loads(cli("config", "schema").output)
    assert schema["properties"]["jsondir"]["required"] == ["folder"]
    # The section is known now: the config loads, where an unknown section is an error.
    load_config(config_file, explicit=True)


def test_without_the_entry_point_its_section_is_refused(cli, config_file: Path) -> None:
    available_targets.cache_clear()
    result = cli("--config", config_file, "doctor")
    assert result.exit_code == 1
    assert "jsondir: is not a known section" in result.output


class TestJsonDirContract(TargetContract):
    @pytest.fixture
    def target(self, installed, config_file: Path, tmp_path: Path):
        from designed_alliance.core.target import load_target

        cls = load_target("jsondir")
        return cls(load_config(config_file, explicit=True), Options(out_dir=tmp_path / "out"))

    @pytest.fixture
    def remote(self, target):
        def read() -> dict[str, RemoteView]:
            out = {}
            for path in target.folder.glob("*.json"):
                data = json.loads(path.read_text())
                out[data["key"]] = RemoteView(data["status"], data["fingerprint"],
                                              data["sequence"])
            return out
        return read
