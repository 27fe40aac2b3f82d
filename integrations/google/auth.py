"""Google credentials: the installed-app OAuth flow, a stored token, or a token command."""

from __future__ import annotations

import json
from typing import Any

from designed_alliance.core.config import Config, config_dir
from designed_alliance.core.errors import AllianceError, BadInput, MissingExtra
from designed_alliance.core.reader import Reader
from designed_alliance.core.secrets import run_secret_command

from ..tokens import TokenStore

CALENDAR = "https://www.googleapis.com/auth/calendar"
APP_CREATED = "https://www.googleapis.com/auth/calendar.app.created"
CALENDAR_LIST = "https://www.googleapis.com/auth/calendar.calendarlist.readonly"
COMPOSE = "https://www.googleapis.com/auth/gmail.compose"
# Only what the tool needs, and why (`alliance auth google` says it, one line each).
WHY = {
    CALENDAR: "events in the calendar your config names (calendars.get names the organizer; "
              "calendar.events alone does not allow it)",
    APP_CREATED: 'make the calendar "Alliance: <title>" and write events in it — no other '
                 "calendar of yours can be read or changed",
    CALENDAR_LIST: "find that calendar again by its tag after a lost state (calendarList.list "
                   "is not allowed by calendar.app.created)",
    COMPOSE: "draft the kickoff and change summaries in Gmail (and read your address for "
             "the organizer: users.getProfile)",
}
#: the full calendar scope: the config names a calendar of its own choosing (or primary)
SCOPES = [CALENDAR, COMPOSE]
#: every Google target in the config has a calendar of the alliance's own
DEDICATED_SCOPES = [APP_CREATED, CALENDAR_LIST, COMPOSE]


def scopes_for(config: Config) -> list[str]:
    """The narrow scopes when [google] says calendar = "dedicated" (the one Google target a
    config has), the full calendar scope otherwise."""
    values = config.sections.get("google", {})
    return DEDICATED_SCOPES if values.get("calendar") == "dedicated" else SCOPES


def scope_problem(config: Config, token: Any) -> str | None:
    """What is wrong when a stored token (its JSON, decoded) was granted fewer scopes than
    this config needs, in one line that says what to do; None when it has them all (or
    says nothing of its scopes)."""
    granted = token.get("scopes") if isinstance(token, dict) else None
    if isinstance(granted, str):
        granted = granted.split()
    if not isinstance(granted, list):
        return None
    lacking = [s for s in scopes_for(config) if s not in granted]
    if not lacking:
        return None
    return ("the stored Google sign-in does not allow what this config needs (missing: "
            + ", ".join(s.rpartition("/")[2] for s in lacking)
            + ") — run: alliance auth google (the [google] calendar setting changed since)")


def scope_hint(config: Config) -> str:
    """What to do when Google says the sign-in does not allow a request."""
    if config.sections.get("google", {}).get("access_token_command"):
        return ("give google.access_token_command a token with the scopes "
                + ", ".join(s.rpartition("/")[2] for s in scopes_for(config)))
    return "run: alliance auth google (it asks for the scopes this config needs)"


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
    wanted = scopes_for(config)
    try:
        info = json.loads(stored)
        creds = Credentials.from_authorized_user_info(info, wanted)
    except (ValueError, KeyError, TypeError, AttributeError):  # not JSON, or not a token
        raise AllianceError("the stored Google token is damaged — run: alliance auth google"
                            ) from None
    lacking = scope_problem(config, info)
    if lacking:
        raise AllianceError(lacking)
    if not creds.valid:
        refresh(config, creds)
    return creds


def refresh(config: Config, creds: Any) -> None:
    from google.auth.exceptions import RefreshError, TransportError
    from google.auth.transport.requests import Request

    if not creds.refresh_token:
        raise AllianceError("the Google token has expired — run: alliance auth google")
    try:
        creds.refresh(Request())
    except RefreshError:
        raise AllianceError("Google refused the stored token (revoked or expired) — run: "
                            "alliance auth google") from None
    except TransportError as exc:
        # No network, or the token endpoint is down: the sign-in itself may be fine.
        raise AllianceError(f"cannot reach Google to refresh the sign-in "
                            f"({type(exc).__name__}) — check the network, then run again"
                            ) from None
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
    if not secrets_file.is_file():  # a folder, a FIFO (would hang), a device
        raise BadInput("is not a file", file=secrets_file, key="google.client_secrets",
                       hint="give the path of the client JSON you downloaded")
    try:
        from google_auth_oauthlib.flow import InstalledAppFlow
    except ImportError:
        raise MissingExtra("google", "google-auth-oauthlib") from None
    try:
        flow = InstalledAppFlow.from_client_secrets_file(str(secrets_file),
                                                         scopes_for(config))
    except (ValueError, KeyError) as exc:
        raise BadInput(f"is not an OAuth client secrets file ({type(exc).__name__})",
                       file=secrets_file, hint="download the Desktop app client JSON from the "
                       "Google Cloud console again") from None
    import requests
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error

    try:
        creds = _run_flow(flow, open_browser)
    except requests.exceptions.RequestException as exc:
        raise AllianceError(f"cannot reach Google to finish the sign-in "
                            f"({type(exc).__name__}) — check the network, then run: "
                            "alliance auth google") from None
    except OAuth2Error as exc:
        raise AllianceError(f"Google refused the sign-in ({exc.error}) — check the client "
                            "secrets file, then run: alliance auth google") from None
    return token_store(config).set(creds.to_json())


def _run_flow(flow: Any, open_browser: bool) -> Any:
    return flow.run_local_server(host="127.0.0.1", port=0, open_browser=open_browser,
                                 authorization_prompt_message="Open this URL to allow "
                                 "designed-alliance to use your calendar: {url}",
                                 success_message="Done. You can close this tab.",
                                 timeout_seconds=300)
