"""The token file fallback as a hostile user or a flaky machine leaves it: a FIFO or a link
where the token should be, bytes that are not text, a link planted at a temporary name, a
folder nobody can write. One line each, and nothing written through a link."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from designed_alliance.core.errors import AllianceError
from designed_alliance.integrations.tokens import TokenStore

from .conftest import example


@pytest.fixture(autouse=True)
def no_keyring(monkeypatch) -> None:
    monkeypatch.setenv("ALLIANCE_NO_KEYRING", "1")


def google_config(tmp_path: Path) -> Path:
    folder = tmp_path / "cfg"
    folder.mkdir(exist_ok=True)
    config = folder / "config.toml"
    config.write_text(f'[google]\nclient_secrets = "{tmp_path}/client.json"\n'
                      'api_root = "http://127.0.0.1:9/"\n')
    return config


@pytest.mark.parametrize("kind", ["fifo", "dev-zero-link", "not-utf8"])
def test_a_token_file_that_is_not_a_token_is_one_line(cli, tmp_path: Path, kind: str) -> None:
    config = google_config(tmp_path)
    token = config.parent / "google.token"
    if kind == "fifo":
        os.mkfifo(token)
    elif kind == "dev-zero-link":
        token.symlink_to("/dev/zero")
    else:
        token.write_bytes(b"\xff\xfe\x00garbage")
    result = cli("--config", config, "setup", example("household"), "--to", "google", "--yes")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(token) in lines[0] and "alliance auth google" in lines[0]


def test_set_never_writes_through_a_planted_link(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (folder / "google.tmp").symlink_to(victim)  # the temporary name the old code used
    store = TokenStore("google", folder)
    assert store.set("token-value") == str(folder / "google.token")
    assert victim.read_text() == "keep me"
    assert store.get() == "token-value"
    assert stat.S_IMODE((folder / "google.token").stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == ["google.tmp", "google.token"]


def test_set_into_a_place_nobody_can_write_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(AllianceError, match="cannot store the sign-in") as error:
        TokenStore("google", blocker / "cfg").set("token-value")
    assert len(str(error.value).splitlines()) == 1 and "token-value" not in str(error.value)


@pytest.mark.parametrize("kind", ["fifo", "link"])
def test_an_outlook_cache_that_is_not_a_file_is_one_line_and_nothing_is_chmodded(
        cli, tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "ocfg"
    folder.mkdir()
    config = folder / "config.toml"
    config.write_text('[outlook]\nclient_id = "11111111-2222-3333-4444-555555555555"\n'
                      'graph_root = "http://127.0.0.1:9/v1.0/"\n')
    cache = folder / "outlook-msal-cache.bin"
    victim = tmp_path / "victim.txt"
    victim.write_text("x")
    victim.chmod(0o644)
    if kind == "fifo":
        os.mkfifo(cache)
    else:
        cache.symlink_to(victim)
    result = cli("--config", config, "setup", example("household"), "--to", "outlook", "--yes")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(cache) in lines[0] and "alliance auth outlook" in lines[0]
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644


def test_google_client_secrets_that_is_a_fifo_is_bad_input(cli, tmp_path: Path) -> None:
    fifo = tmp_path / "client.json"
    os.mkfifo(fifo)
    config = tmp_path / "config.toml"
    config.write_text(f'[google]\nclient_secrets = "{fifo}"\n')
    result = cli("--config", config, "auth", "google")
    assert result.exit_code == 2
    assert "client.json" in result.stderr and "is not a file" in result.stderr
