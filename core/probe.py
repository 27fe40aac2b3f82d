"""Small, dependency-free checks that targets use in their `doctor_checks` hook.

Core offers these; each target decides which apply to its own config section, so `doctor`
never names a target and a third-party one takes part the same way.
"""

from __future__ import annotations

import importlib.util
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import AllianceError
from .target import Check

if TYPE_CHECKING:
    from .config import Config


def importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def missing_extra(name: str, module: str, extra: str | None = None) -> Check | None:
    """A FAIL line when the optional package a target needs is not installed."""
    if importable(module):
        return None
    return Check("fail", name, f"the {module} package is missing — run: "
                 f"pip install 'designed-alliance[{extra or name}]'")


def reachable(host: str, port: int, timeout: float = 3.0) -> str | None:
    """None when a TCP connection opens, else the reason it did not."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def endpoint(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def server_check(name: str, host: str, port: int) -> Check:
    problem = reachable(host, port)
    if problem is None:
        return Check("ok", f"{name} server", f"{host}:{port} reachable")
    return Check("fail", f"{name} server", f"cannot reach {host}:{port} ({problem}) — check the "
                 f"address in [{name}] and your network")


def missing_keys(name: str, config: Config, keys: tuple[str, ...]) -> Check | None:
    values = config.sections.get(name, {})
    missing = [k for k in keys if not values.get(k)]
    if not missing:
        return None
    return Check("fail", name, f"missing {', '.join(missing)} in [{name}] of "
                 f"{config.path or 'the config file'}")


def password_check(name: str, config: Config) -> Check | None:
    """Resolve `[name]`'s password reference (command, env, keyring) without showing it."""
    from .secrets import resolve

    section = config.section(name)
    username = config.sections.get(name, {}).get("username")
    if section is None or not username:
        return None
    try:
        resolve(section, "password", service=f"designed-alliance-{name}", user=username)
    except AllianceError as exc:
        return Check("fail", f"{name} password", str(exc))
    return Check("ok", f"{name} password", "resolved (not shown)")


def login_check(name: str, cls: Any, config: Config, ok: str) -> Check:
    """Really log in through the target's own `verify()` (nothing is written), not only
    open a TCP connection: a wrong password is found by `doctor`, not by `setup`."""
    from pathlib import Path

    from .target import Options

    try:
        cls(config, Options(out_dir=Path.cwd())).verify()
    except AllianceError as exc:
        return Check("fail", f"{name} login", str(exc))
    return Check("ok", f"{name} login", ok)
