"""Sign-in flows on loopback: Google's installed-app flow end to end; Outlook's refusals."""

from __future__ import annotations

import json
import stat
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import example
from .test_google import view


class TokenEndpoint(ThreadingHTTPServer):
    """Google's token endpoint, as far as the installed-app flow needs it."""

    def __init__(self) -> None:
        self.posts: list[dict[str, list[str]]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                endpoint.posts.append(parse_qs(body))
                data = json.dumps({"access_token": "test-token", "refresh_token": "refresh-me",
                                   "expires_in": 3600, "token_type": "Bearer",
                                   "scope": "https://www.googleapis.com/auth/calendar.events "
                                            "https://www.googleapis.com/auth/gmail.compose"
                                   }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def test_google_sign_in_stores_a_0600_token_and_setup_uses_it(cli, tmp_path: Path,
                                                              monkeypatch, google_emulator,
                                                              isolated: Path) -> None:
    from designed_alliance.integrations.google.target import GoogleTarget

    monkeypatch.setattr(GoogleTarget, "sleep", staticmethod(lambda seconds: None))
    monkeypatch.setenv("ALLIANCE_NO_KEYRING", "1")
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the test token endpoint is http
    endpoint = TokenEndpoint()
    secrets = tmp_path / "client.json"
    secrets.write_text(json.dumps({"installed": {
        "client_id": "test-client.apps.example", "client_secret": "client-secret-sentinel",
        "auth_uri": "http://127.0.0.1:1/auth",
        "token_uri": f"http://127.0.0.1:{endpoint.server_address[1]}/token",
        "redirect_uris": ["http://localhost"]}}))
    config_dir = tmp_path / "cfg"
    config_dir.mkdir()
    config = config_dir / "config.toml"
    config.write_text(f'[google]\nclient_secrets = "{secrets}"\n'
                      f'api_root = "{google_emulator.base_url}"\n')
    seen: dict[str, list[str]] = {}

    class Browser:
        """Plays the user: approves, and the provider redirects back to the loopback port."""

        def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
            query = parse_qs(urlsplit(url).query)
            seen.update(query)
            target = f"{query['redirect_uri'][0]}?code=the-code&state={query['state'][0]}"
            threading.Thread(target=lambda: urllib.request.urlopen(target, timeout=10).read(),
                             daemon=True).start()
            return True

    monkeypatch.setattr("webbrowser.get", lambda *args: Browser())
    result = cli("--config", config, "auth", "google")
    assert result.exit_code == 0, result.output
    assert set(seen["scope"][0].split()) == {
        "https://www.googleapis.com/auth/calendar.events",
        "https://www.googleapis.com/auth/gmail.compose"}
    assert seen["redirect_uri"][0].startswith("http://127.0.0.1:")
    assert endpoint.posts[0]["code"] == ["the-code"]
    token_file = config_dir / "google.token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_dir.stat().st_mode) == 0o700
    assert "test-token" not in result.output and "refresh-me" not in result.output
    # The stored token is what setup now uses.
    result = cli("--config", config, "setup", example("household"), "--to", "google", "--yes")
    assert result.exit_code == 0, result.output
    assert view(google_emulator)
    assert "refresh-me" not in result.output
    assert cli("--config", config, "auth", "google", "--forget").exit_code == 0
    assert not token_file.exists()
    endpoint.shutdown()


def test_google_auth_without_client_secrets_says_where(cli, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[google]\nclient_secrets = "{tmp_path}/missing.json"\n')
    result = cli("--config", config, "auth", "google")
    assert result.exit_code == 2
    assert "missing.json: client secrets file not found" in result.stderr


@pytest.mark.parametrize(("config_text", "fragment"), [
    ("", "[outlook] section"),
    ('[outlook]\ntenant = "common"\n', "client_id is missing"),
])
def test_outlook_auth_refusals(cli, tmp_path: Path, config_text: str, fragment: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(config_text)
    result = cli("--config", config, "auth", "outlook")
    assert result.exit_code == 1 and fragment in result.stderr
