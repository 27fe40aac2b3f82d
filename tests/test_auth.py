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
                                   "scope": "https://www.googleapis.com/auth/calendar "
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
        "https://www.googleapis.com/auth/calendar",
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


# -- Google: an expired access token is refreshed silently; a revoked one says what to do ----

class RefreshEndpoint(ThreadingHTTPServer):
    """Google's token endpoint for the refresh grant: answers with `answer` (status, body)."""

    def __init__(self, answer: tuple[int, dict]) -> None:
        self.posts: list[dict[str, list[str]]] = []
        self.answer = answer
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                endpoint.posts.append(parse_qs(body))
                status, payload = endpoint.answer
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/token"


GOOGLE_SCOPES = ["https://www.googleapis.com/auth/calendar",
                 "https://www.googleapis.com/auth/gmail.compose"]


def stored_google_token(config_dir: Path, token_uri: str, monkeypatch) -> Path:
    """What `alliance auth google` left behind an hour ago: the access token has expired.

    google-auth ignores a stored token_uri (it always refreshes at Google's own endpoint),
    so the endpoint it calls is pointed at the one the test owns.
    """
    monkeypatch.setattr("google.oauth2.credentials._GOOGLE_OAUTH2_TOKEN_ENDPOINT", token_uri)
    config_dir.mkdir(exist_ok=True)
    path = config_dir / "google.token"
    path.write_text(json.dumps({
        "token": "stale-access-token", "refresh_token": "refresh-sentinel-r3fr3sh",
        "token_uri": token_uri, "client_id": "test-client.apps.example",
        "client_secret": "client-secret-sentinel", "scopes": GOOGLE_SCOPES,
        "expiry": "2020-01-01T00:00:00Z"}))
    path.chmod(0o600)
    return path


@pytest.fixture
def google_config(tmp_path: Path, google_emulator, monkeypatch) -> Path:
    from designed_alliance.integrations.google.target import GoogleTarget

    monkeypatch.setattr(GoogleTarget, "sleep", staticmethod(lambda seconds: None))
    monkeypatch.setenv("ALLIANCE_NO_KEYRING", "1")
    folder = tmp_path / "gcfg"
    folder.mkdir()
    config = folder / "config.toml"
    config.write_text(f'[google]\nclient_secrets = "{tmp_path}/client.json"\n'
                      f'api_root = "{google_emulator.base_url}"\n')
    return config


def test_google_expired_token_is_refreshed_silently_and_kept(cli, google_config: Path,
                                                             google_emulator,
                                                             monkeypatch) -> None:
    endpoint = RefreshEndpoint((200, {"access_token": "fresh-access-token",
                                      "expires_in": 3600, "token_type": "Bearer",
                                      "scope": " ".join(GOOGLE_SCOPES)}))
    google_emulator.token = "fresh-access-token"  # the stale one is refused by the emulator
    token_file = stored_google_token(google_config.parent, endpoint.url, monkeypatch)
    result = cli("--config", google_config, "setup", example("household"), "--to", "google",
                 "--yes")
    assert result.exit_code == 0, result.output
    assert view(google_emulator)  # the events are there
    assert len(endpoint.posts) == 1
    post = endpoint.posts[0]
    assert post["grant_type"] == ["refresh_token"]
    assert post["refresh_token"] == ["refresh-sentinel-r3fr3sh"]
    kept = json.loads(token_file.read_text())
    assert kept["token"] == "fresh-access-token"
    assert kept["refresh_token"] == "refresh-sentinel-r3fr3sh"  # Google does not resend it
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert "refresh-sentinel" not in result.output + result.stderr
    # The next run uses the kept token: no refresh needed.
    assert cli("--config", google_config, "plan", example("household"), "--to",
               "google").exit_code == 0
    endpoint.shutdown()


@pytest.mark.parametrize(("answer", "fragment"), [
    ((400, {"error": "invalid_grant", "error_description": "Token has been expired or "
                                                          "revoked."}), "alliance auth google"),
    (None, "check the network"),
], ids=["revoked", "no-network"])
def test_google_refresh_that_fails_is_one_line(cli, google_config: Path, google_emulator,
                                               answer, fragment: str, monkeypatch) -> None:
    if answer is None:
        endpoint = None
        token_uri = "http://127.0.0.1:9/token"  # discard port: nothing listens
    else:
        endpoint = RefreshEndpoint(answer)
        token_uri = endpoint.url
    stored_google_token(google_config.parent, token_uri, monkeypatch)
    result = cli("--config", google_config, "setup", example("household"), "--to", "google",
                 "--yes")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert "refresh-sentinel" not in result.output
    assert google_emulator.writes() == 0
    if endpoint is not None:
        assert len(endpoint.posts) == 1
        endpoint.shutdown()


# -- Outlook: the MSAL device-code flow against an authority the test owns -------------------

class Authority(ThreadingHTTPServer):
    """login.microsoftonline.com as far as MSAL's device-code flow needs it, over HTTPS with
    a certificate made in the test: OIDC discovery, the device authorization endpoint, and a
    token endpoint that says "authorization_pending" once before the user has approved."""

    def __init__(self, certs: tuple[Path, Path, Path], tenant: str = "common") -> None:
        import base64
        import ssl

        self.device_posts: list[dict[str, list[str]]] = []
        self.token_posts: list[dict[str, list[str]]] = []
        self.known_tenants = {tenant}
        authority = self

        def b64(data: dict) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def reply(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path).path.strip("/").split("/")
                if parts[1:] != ["v2.0", ".well-known", "openid-configuration"] or (
                        parts[0] not in authority.known_tenants):
                    return self.reply(400, {"error": "invalid_tenant"})
                base = f"{authority.base}/{parts[0]}"
                self.reply(200, {
                    "issuer": f"{base}/v2.0",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode"})

            def do_POST(self) -> None:
                body = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                if self.path.endswith("/devicecode"):
                    authority.device_posts.append(body)
                    return self.reply(200, {
                        "device_code": "device-code-sentinel", "user_code": "ABCD-EFGH",
                        "verification_uri": "https://microsoft.com/devicelogin",
                        "expires_in": 900, "interval": 0,
                        "message": "To sign in, open https://microsoft.com/devicelogin and "
                                   "enter the code ABCD-EFGH."})
                authority.token_posts.append(body)
                if len(authority.token_posts) == 1:
                    return self.reply(400, {"error": "authorization_pending"})
                claims = {"iss": f"{authority.base}/tid/v2.0", "aud": body["client_id"][0],
                          "oid": "user-oid", "sub": "user-sub", "tid": "tid",
                          "preferred_username": "ana@example.com", "name": "Ana",
                          "iat": 1, "nbf": 1, "exp": 4102444800}
                self.reply(200, {
                    "token_type": "Bearer", "scope": "Calendars.ReadWrite Mail.ReadWrite",
                    "expires_in": 3600, "ext_expires_in": 3600,
                    "access_token": "graph-token-from-device-flow",
                    "refresh_token": "outlook-refresh-sentinel",
                    "id_token": f"{b64({'alg': 'none'})}.{b64(claims)}.",
                    "client_info": b64({"uid": "user-oid", "utid": "tid"})})

        super().__init__(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(certs[1]), str(certs[2]))
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.base = f"https://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture
def authority(tmp_path: Path, monkeypatch):
    from .servers.local import make_certificates

    certs = make_certificates(tmp_path / "certs")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certs[0]))  # MSAL talks through requests
    server = Authority(certs)
    yield server
    server.shutdown()


def outlook_config(tmp_path: Path, authority_host: str, graph_root: str = "",
                   tenant: str = "common") -> Path:
    folder = tmp_path / "ocfg"
    folder.mkdir(exist_ok=True)
    config = folder / "config.toml"
    root = f'graph_root = "{graph_root}"\n' if graph_root else ""
    config.write_text(f'[outlook]\nclient_id = "11111111-2222-3333-4444-555555555555"\n'
                      f'tenant = "{tenant}"\nauthority_host = "{authority_host}"\n{root}')
    return config


def test_outlook_device_code_sign_in_end_to_end(cli, tmp_path: Path, authority,
                                                graph_emulator, monkeypatch) -> None:
    from designed_alliance.integrations.outlook.target import OutlookTarget

    monkeypatch.setattr(OutlookTarget, "sleep", staticmethod(lambda seconds: None))
    graph_emulator.token = "graph-token-from-device-flow"
    config = outlook_config(tmp_path, authority.base, graph_emulator.base_url)
    result = cli("--config", config, "auth", "outlook")
    assert result.exit_code == 0, result.output
    assert "ABCD-EFGH" in result.stderr  # the code the user types at the verification URL
    assert authority.device_posts[0]["client_id"] == ["11111111-2222-3333-4444-555555555555"]
    assert {"Calendars.ReadWrite", "Mail.ReadWrite"} <= set(
        authority.device_posts[0]["scope"][0].split())
    assert [p["device_code"] for p in authority.token_posts] == [["device-code-sentinel"]] * 2
    cache = config.parent / "outlook-msal-cache.bin"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    for secret in ("graph-token-from-device-flow", "outlook-refresh-sentinel"):
        assert secret not in result.output + result.stderr
    # The sign-in is what setup now uses, silently, from the cache.
    result = cli("--config", config, "setup", example("household"), "--to", "outlook",
                 "--yes")
    assert result.exit_code == 0, result.output
    assert graph_emulator.count("POST") > 0
    assert len(authority.token_posts) == 2  # the cached access token was enough


@pytest.mark.parametrize("where", ["no-network", "closed-port", "unknown-tenant"])
def test_outlook_auth_that_cannot_reach_the_authority_is_one_line(cli, tmp_path: Path,
                                                                  authority,
                                                                  where: str) -> None:
    if where == "no-network":
        # The real host: the loopback guard refuses its DNS lookup, as a machine offline would.
        config = outlook_config(tmp_path, "https://login.microsoftonline.com")
    elif where == "closed-port":
        config = outlook_config(tmp_path, "https://127.0.0.1:9")
    else:
        config = outlook_config(tmp_path, authority.base, tenant="contoso-nope")
    result = cli("--config", config, "auth", "outlook")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    expected = "outlook.tenant" if where == "unknown-tenant" else "check the network"
    assert expected in lines[0]
