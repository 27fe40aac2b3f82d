"""Microsoft Graph tokens: MSAL (device code or browser) with a persisted cache, or a command.

`TokenProvider` is the one seam tests replace: everything else talks real HTTP.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from designed_alliance.core.config import Config, config_dir
from designed_alliance.core.errors import AllianceError, MissingExtra
from designed_alliance.core.reader import Reader
from designed_alliance.core.secrets import run_secret_command

SCOPES = ["Calendars.ReadWrite", "Mail.ReadWrite"]
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"


class TokenProvider:
    """Gives a bearer token for Graph: from `access_token_command`, else from MSAL's cache."""

    def __init__(self, config: Config, section: Reader | None) -> None:
        self.config = config
        self.section = section
        self.command = section.text("access_token_command") if section else ""
        self.client_id = section.text("client_id") if section else ""
        self.tenant = (section.text("tenant") if section else "") or "common"
        host = (section.text("authority_host") if section else "") or DEFAULT_AUTHORITY_HOST
        self.authority_host = host.rstrip("/")
        self.authority = f"{self.authority_host}/{self.tenant}"

    def token(self) -> str:
        if self.command:
            return run_secret_command(self.command, what="outlook.access_token_command")
        if not self.client_id:
            raise AllianceError("the outlook target needs outlook.client_id (an app "
                                "registration) or outlook.access_token_command in the config")
        cache = self._cache()
        # Look in the cache before building the MSAL app: building it asks the authority
        # for its metadata over the network, which is pointless with nobody signed in.
        if not list(cache.search(cache.CredentialType.ACCOUNT)):
            raise AllianceError("no Outlook sign-in yet — run: alliance auth outlook "
                                "(or set outlook.access_token_command in the config)")
        with self._network("refresh the Outlook sign-in"):
            app = self._app(cache)
            accounts = app.get_accounts()
            result = app.acquire_token_silent(SCOPES, account=accounts[0]) if accounts else None
        if not result or "access_token" not in result:
            raise AllianceError("no valid Outlook sign-in — run: alliance auth outlook")
        return result["access_token"]

    def cache_path(self) -> Path:
        return config_dir(self.config) / "outlook-msal-cache.bin"

    def _cache(self) -> Any:
        try:
            from msal_extensions import (
                FilePersistence,
                PersistedTokenCache,
                build_encrypted_persistence,
            )
        except ImportError:
            raise MissingExtra("outlook", "msal-extensions") from None
        path = self.cache_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            info = os.lstat(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise AllianceError(f"cannot use {path.parent} for the Outlook sign-in "
                                f"({exc.strerror}) — use --config with a config file in a "
                                "folder you own") from None
        else:
            # The chmod below follows links and the cache is read whole: a link or a FIFO
            # there would chmod someone else's file or hang.
            if not stat.S_ISREG(info.st_mode):
                raise AllianceError(f"{path} is not a regular file — remove it, then run: "
                                    "alliance auth outlook")
        try:
            persistence = build_encrypted_persistence(str(path))
        except Exception:  # no keychain/libsecret here: a 0600 file is the documented fallback
            persistence = FilePersistence(str(path))
            if not path.exists():
                fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
            os.chmod(path, 0o600)
        return PersistedTokenCache(persistence)

    def _app(self, cache: Any = None) -> Any:
        try:
            import msal
        except ImportError:
            raise MissingExtra("outlook", "msal") from None
        # Instance discovery asks login.microsoftonline.com whether the authority is known;
        # for an authority host the user set themselves that question is theirs, not ours.
        custom = self.authority_host != DEFAULT_AUTHORITY_HOST
        with self._network("reach the Microsoft sign-in service"):
            return msal.PublicClientApplication(
                self.client_id, authority=self.authority, token_cache=cache or self._cache(),
                instance_discovery=False if custom else None)

    @contextlib.contextmanager
    def _network(self, doing: str) -> Iterator[None]:
        """MSAL talks HTTP through requests and reports a bad tenant as ValueError: both
        become one line instead of a long traceback."""
        import requests

        from designed_alliance.core.secrets import redact_url

        # Printed: a user:password@ in outlook.authority_host must not be.
        host = urlsplit(redact_url(self.authority_host)).netloc or "the authority host"
        try:
            yield
        except requests.exceptions.RequestException as exc:
            raise AllianceError(f"cannot {doing}: {host} did not answer "
                                f"({type(exc).__name__}) — check the network (and "
                                "outlook.authority_host), then run again") from None
        except ValueError as exc:
            if "tenant" in str(exc).lower() or "authority" in str(exc).lower() or (
                    "discovery" in str(exc).lower()):
                raise AllianceError(f"{host} does not know the tenant {self.tenant!r} — check "
                                    "outlook.tenant (organizations, consumers, common or your "
                                    "tenant id) and outlook.authority_host") from None
            raise

    def sign_in(self, *, browser: bool, echo: Any) -> str:
        """Device-code flow (works over SSH) or the interactive browser flow."""
        app = self._app()
        with self._network("sign in to Microsoft"):
            if browser:
                result = app.acquire_token_interactive(SCOPES)
            else:
                flow = app.initiate_device_flow(scopes=SCOPES)
                if "user_code" not in flow:
                    raise AllianceError("Microsoft did not start a device sign-in "
                                        f"({flow.get('error', 'unknown error')}) — check "
                                        "outlook.client_id and outlook.tenant")
                echo(flow["message"])
                result = app.acquire_token_by_device_flow(flow)
        if "access_token" not in result:
            raise AllianceError("sign-in failed: "
                                f"{result.get('error_description') or result.get('error')} — "
                                "check the app registration and try again")
        return str(self.cache_path())
