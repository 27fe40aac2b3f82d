"""Google credentials: the installed-app OAuth flow, a stored token, or a token command."""

from __future__ import annotations

import json
from typing import Any

from designed_alliance.core.config import Config, config_dir
from designed_alliance.core.errors import AllianceError, BadInput, MissingExtra
from designed_alliance.core.reader import Reader
from designed_alliance.core.secrets import run_secret_command

from ..tokens import TokenStore

# Only what the tool needs: events in calendars, and drafts (compose) in Gmail.
SCOPES = [
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/gmail.compose",
]


def token_store(config: Config) -> TokenStore:
    return TokenStore("google", config_dir(config))


def credentials(config: Config, section: Reader) -> Any:
    """Credentials for the API calls, refreshed when expired. Raises with what to do."""
    try:
        from google.oauth2.credentials import Credentials
    except ImportError:
        raise MissingExtra("google", "google-auth") from None
    command = section.text("access_token_command")
    if command:
        token = run_secret_command(command, what="google.access_token_command")
        return Credentials(token=token)
    stored = token_store(config).get()
    if not stored:
        raise AllianceError("no Google credentials yet — run: alliance auth google "
                            "(or set google.access_token_command in the config)")
    try:
        creds = Credentials.from_authorized_user_info(json.loads(stored), SCOPES)
    except (ValueError, KeyError):
        raise AllianceError("the stored Google token is damaged — run: alliance auth google"
                            ) from None
    if not creds.valid:
        refresh(config, creds)
    return creds


def refresh(config: Config, creds: Any) -> None:
    from google.auth.exceptions import RefreshError
    from google.auth.transport.requests import Request

    if not creds.refresh_token:
        raise AllianceError("the Google token has expired — run: alliance auth google")
    try:
        creds.refresh(Request())
    except RefreshError:
        raise AllianceError("Google refused the stored token (revoked or expired) — run: "
                            "alliance auth google") from None
    token_store(config).set(creds.to_json())


def authorize(config: Config, *, open_browser: bool = True) -> str:
    """Run the installed-app flow on a loopback port; store the token; say where."""
    section = config.require("google", "google")
    path = section.text("client_secrets", required=True,
                        hint="download an OAuth client (Desktop app) JSON from the Google "
                        "Cloud console and give its path")
    from pathlib import Path

    secrets_file = Path(path).expanduser()
    if not secrets_file.exists():
        raise BadInput("client secrets file not found", file=secrets_file,
                       hint="download it from the Google Cloud console (Credentials → OAuth "
                       "client ID → Desktop app) and save it there")
    try:
        from google_auth_oauthlib.flow import InstalledAppFlow
    except ImportError:
        raise MissingExtra("google", "google-auth-oauthlib") from None
    flow = InstalledAppFlow.from_client_secrets_file(str(secrets_file), SCOPES)
    creds = flow.run_local_server(host="127.0.0.1", port=0, open_browser=open_browser,
                                  authorization_prompt_message="Open this URL to allow "
                                  "designed-alliance to use your calendar: {url}",
                                  success_message="Done. You can close this tab.",
                                  timeout_seconds=300)
    return token_store(config).set(creds.to_json())
