"""`alliance doctor`: what works, what does not, and exactly what to fix."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

import click

from ..errors import AllianceError

EXTRAS = {"google": ("googleapiclient", "google"), "outlook": ("msal", "outlook"),
          "caldav": ("caldav", "caldav")}
ROOT_KEYS = {"google": ("api_root", "https://www.googleapis.com/"),
             "outlook": ("graph_root", "https://graph.microsoft.com/v1.0/"),
             "caldav": ("url", None)}


@dataclass
class Check:
    status: str  # ok | warn | fail
    name: str
    detail: str


def importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def reachable(host: str, port: int, timeout: float = 3.0) -> str | None:
    """None when a TCP connection opens, else the reason it did not."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def _endpoint(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def run(config_path: Path | None, *, as_json: bool) -> int:
    from ..config import default_path, load_config
    from ..state import default_path as state_path

    checks: list[Check] = []
    add = checks.append
    version = sys.version_info
    add(Check("ok" if version >= (3, 11) else "fail", "python",
              f"{version.major}.{version.minor}" + ("" if version >= (3, 11)
                                                     else " — install Python 3.11 or newer")))
    path = config_path or default_path()
    config = None
    try:
        config = load_config(path, explicit=config_path is not None)
        add(Check("ok" if path.exists() else "warn", "config",
                  str(path) if path.exists() else f"{path} does not exist — defaults are used; "
                  "copy config.example.toml there to connect calendars"))
    except AllianceError as exc:
        add(Check("fail", "config", str(exc)))
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo("America/New_York")
        ZoneInfo("Europe/Berlin")
        add(Check("ok", "time zones", "IANA time zone data found"))
    except Exception:
        add(Check("fail", "time zones", "no time zone data — run: pip install tzdata"))
    state = state_path()
    folder = state.parent
    probe = folder if folder.exists() else next(
        (p for p in folder.parents if p.exists()), Path("/"))
    if os.access(probe, os.W_OK):
        detail = str(state)
        status = "ok"
        if state.exists() and state.stat().st_mode & 0o077:
            status, detail = "warn", f"{state} is readable by others — run: chmod 600 {state}"
        add(Check(status, "state", detail))
    else:
        add(Check("fail", "state", f"cannot write {folder} — set XDG_STATE_HOME to a folder "
                  "you own"))
    if config is not None:
        for name in ("google", "outlook", "caldav", "smtp"):
            if name in config.sections:
                checks.extend(_target_checks(name, config))
    for check in checks:
        if not as_json:
            mark = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}[check.status]
            colour = {"ok": "green", "warn": "yellow", "fail": "red"}[check.status]
            click.echo(f"{click.style(mark, fg=colour)}  {check.name}: {check.detail}")
    failed = any(c.status == "fail" for c in checks)
    if as_json:
        click.echo(json.dumps({"ok": not failed, "checks": [asdict(c) for c in checks]},
                              indent=2))
    return 1 if failed else 0


def _target_checks(name: str, config) -> list[Check]:
    from ..secrets import resolve

    out: list[Check] = []
    if name in EXTRAS:
        module, extra = EXTRAS[name]
        if not importable(module):
            out.append(Check("fail", name, f"the {module} package is missing — run: "
                             f"pip install 'designed-alliance[{extra}]'"))
            return out
    from ..config import placeholders

    # Example values left in place only fail later, and vaguely (or reach example.com).
    for problem in placeholders(config, name):
        out.append(Check("fail", name, f"{problem} — put your own value in [{name}] of "
                         f"{config.path}"))
    if out:
        return out
    section = config.section(name)
    values = config.sections[name]
    if name == "google" and not (values.get("access_token_command")
                                 or values.get("client_secrets")):
        out.append(Check("fail", name, "google needs client_secrets (then alliance auth "
                         "google) or access_token_command"))
    elif name == "google" and values.get("client_secrets") and not values.get(
            "access_token_command"):
        from designed_alliance.integrations.google.auth import token_store

        if not token_store(config).get():
            out.append(Check("fail", name, "not signed in — run: alliance auth google"))
    if name == "outlook" and not (values.get("access_token_command") or values.get("client_id")):
        out.append(Check("fail", name, "outlook needs client_id (then alliance auth outlook) "
                         "or access_token_command"))
    if name in ("caldav", "smtp"):
        missing = [k for k in (("url", "username") if name == "caldav" else ("host",))
                   if not values.get(k)]
        if missing:
            out.append(Check("fail", name, f"missing {', '.join(missing)} in [{name}]"))
            return out
        if values.get("username"):
            try:
                resolve(section, "password", service=f"designed-alliance-{name}",
                        user=values.get("username"))
                out.append(Check("ok", f"{name} password", "resolved (not shown)"))
            except AllianceError as exc:
                out.append(Check("fail", f"{name} password", str(exc)))
    if name == "smtp":
        host, port = values["host"], int(values.get("port", 587))
    else:
        key, default = ROOT_KEYS[name]
        host, port = _endpoint(values.get(key) or default)
    problem = reachable(host, port)
    out.append(Check("ok" if problem is None else "fail", f"{name} server",
                     f"{host}:{port} reachable" if problem is None else
                     f"cannot reach {host}:{port} ({problem}) — check the address in [{name}] "
                     "and your network"))
    return out
