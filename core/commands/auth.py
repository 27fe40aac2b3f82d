"""`alliance auth google|outlook`: sign in once, store the token, say where (never what)."""

from __future__ import annotations

import click

from ..config import Config
from ..errors import AllianceError


def run(provider: str, config: Config, *, browser: bool | None, forget: bool) -> str:
    if provider == "google":
        from designed_alliance.integrations.google.auth import authorize, token_store

        if forget:
            token_store(config).delete()
            return "Forgot the stored Google sign-in."
        where = authorize(config, open_browser=browser is not False)
        return f"Signed in to Google; the token is kept in {where}."
    from designed_alliance.integrations.outlook.auth import TokenProvider

    section = config.section("outlook")
    if section is None:
        raise AllianceError("alliance auth outlook needs an [outlook] section with client_id "
                            "and tenant — copy it from config.example.toml")
    provider_ = TokenProvider(config, section)
    if forget:
        path = provider_.cache_path()
        path.unlink(missing_ok=True)
        return "Forgot the stored Outlook sign-in."
    if not provider_.client_id:
        raise AllianceError("outlook.client_id is missing — register an app in Microsoft Entra "
                            "ID (see README) and put its client id in the config")
    where = provider_.sign_in(browser=bool(browser), echo=lambda text: click.echo(text, err=True))
    return f"Signed in to Microsoft; the token cache is {where}."
