"""`alliance doctor`: what works, what does not, and exactly what to fix."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import click

from ..errors import AllianceError
from ..target import Check


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
                  "run: alliance config init, to connect calendars"))
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
        if state.exists():
            from ..state import State

            try:
                State(state).verify()
            except AllianceError as exc:
                status, detail = "fail", str(exc)
        add(Check(status, "state", detail))
    else:
        add(Check("fail", "state", f"cannot write {folder} — set XDG_STATE_HOME to a folder "
                  "you own"))
    if config is not None:
        checks.extend(_target_checks(config))
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


def _target_checks(config) -> list[Check]:
    """Each configured target checks its own section: core names none of them."""
    from ..config import placeholders
    from ..target import available_targets, load_target

    out: list[Check] = []
    installed = available_targets()
    for name in config.sections:
        if name not in installed:
            continue
        try:
            cls = load_target(name)
        except AllianceError as exc:
            out.append(Check("fail", name, str(exc)))
            continue
        # Example values left in place only fail later, and vaguely (or reach example.com).
        found = [Check("fail", name, f"{problem} — put your own value in [{name}] of "
                       f"{config.path}") for problem in placeholders(config, name)]
        if found:
            out.extend(found)
            continue
        try:
            out.extend(cls.doctor_checks(config))
        except AllianceError as exc:
            out.append(Check("fail", name, str(exc)))
    return out
