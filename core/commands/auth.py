"""`alliance auth NAME`: sign in once, store the token, say where (never what).

The sign-in flow belongs to the target (its `sign_in` hook), so a third-party target with a
sign-in takes part without touching core.
"""

from __future__ import annotations

import click

from ..config import Config
from ..errors import BadInput
from ..target import available_targets, load_target


def providers() -> list[str]:
    """Targets that have a sign-in (their classes are loaded to ask)."""
    out = []
    for name in sorted(available_targets()):
        try:
            if load_target(name).has_sign_in():
                out.append(name)
        except Exception:
            continue
    return out


def run(provider: str, config: Config, *, browser: bool | None, forget: bool) -> str:
    cls = load_target(provider) if provider in available_targets() else None
    if cls is None or not cls.has_sign_in():
        raise BadInput(f"{provider!r} has no sign-in", key="PROVIDER",
                       hint=f"use one of: {', '.join(providers()) or '(none installed)'}")
    return cls.sign_in(config, browser=browser, forget=forget,
                       echo=lambda text: click.echo(text, err=True))
