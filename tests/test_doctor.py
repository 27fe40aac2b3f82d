"""`alliance doctor` names each problem and what to do; it never prints a secret."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

SENTINEL = "SENTINEL-doctor-s3cret"


def run(cli, config: Path | None = None):
    args = (["--config", config] if config else []) + ["doctor", "--json"]
    result = cli(*args)
    data = json.loads(result.output)
    return result, {c["name"]: c for c in data["checks"]}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_only_is_ok_with_a_warning(cli) -> None:
    result, checks = run(cli)
    assert result.exit_code == 0
    assert checks["python"]["status"] == "ok" and checks["time zones"]["status"] == "ok"
    assert checks["config"]["status"] == "warn" and "alliance config init" in (
        checks["config"]["detail"])
    text = cli("doctor").output
    assert "ok" in text and "state" in text


def test_bad_config_is_reported(cli, tmp_path: Path) -> None:
    result, checks = run(cli, write(tmp_path, "[defaults]\ntargts = []\n"))
    assert result.exit_code == 1
    assert checks["config"]["status"] == "fail" and "did you mean `targets`" in (
        checks["config"]["detail"])


@pytest.fixture
def open_port():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_reachable_and_unreachable_servers(cli, tmp_path: Path, open_port: int,
                                           monkeypatch) -> None:
    monkeypatch.setenv("DAV_PASSWORD", SENTINEL)
    good = write(tmp_path, f'[caldav]\nurl = "http://127.0.0.1:{open_port}/cal/"\n'
                           'username = "ana"\npassword_env = "DAV_PASSWORD"\n')
    result, checks = run(cli, good)
    assert checks["caldav server"]["status"] == "ok"
    assert checks["caldav password"]["status"] == "ok"
    # A port that answers TCP is not a CalDAV server: doctor really logs in, and says so.
    assert checks["caldav login"]["status"] == "fail"
    assert result.exit_code == 1 and SENTINEL not in result.output
    port = closed_port()
    bad = write(tmp_path, f'[smtp]\nhost = "127.0.0.1"\nport = {port}\n')
    result, checks = run(cli, bad)
    assert result.exit_code == 1
    assert checks["smtp server"]["status"] == "fail"
    assert f"cannot reach 127.0.0.1:{port}" in checks["smtp server"]["detail"]


def test_password_command_failing_and_env_missing(cli, tmp_path: Path, open_port: int) -> None:
    script = tmp_path / "pw.sh"
    script.write_text(f"#!/bin/sh\necho {SENTINEL} >&2\nexit 4\n")
    script.chmod(0o700)
    config = write(tmp_path, f'[smtp]\nhost = "127.0.0.1"\nport = {open_port}\n'
                             f'username = "ana"\npassword_command = "{script}"\n')
    result, checks = run(cli, config)
    assert checks["smtp password"]["status"] == "fail"
    assert "exit 4" in checks["smtp password"]["detail"]
    assert SENTINEL not in result.output
    config.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {open_port}\nusername = "ana"\n'
                      'password_env = "NOT_SET_ANYWHERE"\n')
    result, checks = run(cli, config)
    assert "NOT_SET_ANYWHERE" in checks["smtp password"]["detail"]
    assert result.exit_code == 1


def test_missing_keys_and_sign_in(cli, tmp_path: Path) -> None:
    result, checks = run(cli, write(tmp_path, '[caldav]\nusername = "ana"\n'))
    assert "missing url" in checks["caldav"]["detail"]
    result, checks = run(cli, write(tmp_path, '[google]\ncalendar_id = "primary"\n'))
    assert "client_secrets" in checks["google"]["detail"]
    result, checks = run(cli, write(tmp_path, '[google]\nclient_secrets = "/x.json"\n'))
    assert "alliance auth google" in checks["google"]["detail"]
    result, checks = run(cli, write(tmp_path, '[outlook]\ntenant = "common"\n'))
    assert "client_id" in checks["outlook"]["detail"]
    assert result.exit_code == 1


def test_missing_optional_dependency(cli, tmp_path: Path, monkeypatch) -> None:
    from designed_alliance.core import probe as doctor

    monkeypatch.setattr(doctor, "importable", lambda module: module != "caldav")
    result, checks = run(cli, write(tmp_path, '[caldav]\nurl = "http://127.0.0.1:1/"\n'
                                              'username = "a"\n'))
    assert result.exit_code == 1
    assert "pip install 'designed-alliance[caldav]'" in checks["caldav"]["detail"]


def test_config_schema_describes_the_example(cli) -> None:
    import tomllib

    from .conftest import ROOT

    schema = json.loads(cli("config", "schema").output)
    example = tomllib.loads((ROOT / "config.example.toml").read_text())
    assert set(example) <= set(schema["properties"])
    for section, values in example.items():
        allowed = schema["properties"][section]["properties"]
        assert set(values) <= set(allowed), section
        for key, value in values.items():
            expected = allowed[key].get("type")
            kinds = {"string": str, "integer": int, "boolean": bool, "array": list,
                     "number": (int, float)}
            if expected:
                assert isinstance(value, kinds[expected]), (section, key)
            if "enum" in allowed[key]:
                assert value in allowed[key]["enum"]


def test_doctor_logs_in_to_caldav_and_smtp(cli, tmp_path: Path, radicale, smtp_server,
                                           monkeypatch) -> None:
    monkeypatch.setenv("DAV_PASSWORD", radicale.password)
    monkeypatch.setenv("SMTP_PASSWORD", smtp_server.password)
    config = write(tmp_path, f'[caldav]\nurl = "{radicale.calendar_url}"\n'
                             f'username = "{radicale.username}"\n'
                             'password_env = "DAV_PASSWORD"\n'
                             f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\n'
                             f'security = "none"\nusername = "{smtp_server.username}"\n'
                             'password_env = "SMTP_PASSWORD"\n')
    result, checks = run(cli, config)
    assert checks["caldav login"]["status"] == "ok", checks["caldav login"]
    assert checks["smtp login"]["status"] == "ok", checks["smtp login"]
    assert result.exit_code == 0
    monkeypatch.setenv("DAV_PASSWORD", "wrong")
    monkeypatch.setenv("SMTP_PASSWORD", "wrong")
    result, checks = run(cli, config)
    assert checks["caldav login"]["status"] == "fail"
    assert checks["smtp login"]["status"] == "fail"
    assert result.exit_code == 1
    assert all(len(c["detail"].splitlines()) == 1 for c in checks.values())
