"""Secrets come from references — a command, an environment variable, the keyring — never
from a file's value, and never appear in output."""

from __future__ import annotations

import os
import shlex
import subprocess

from .errors import AllianceError, BadInput
from .reader import Reader


def resolve(section: Reader, name: str, *, service: str, user: str | None = None,
            required: bool = True) -> str | None:
    """Resolve `<name>_command`, `<name>_env` or `<name>_keyring` from a config section."""
    command = section.text(f"{name}_command")
    env = section.text(f"{name}_env")
    use_keyring = section.get(f"{name}_keyring", bool, default=False)
    given = [k for k, v in ((f"{name}_command", command), (f"{name}_env", env),
                            (f"{name}_keyring", use_keyring)) if v]
    if len(given) > 1:
        raise section.fail(given[1], f"and {given[0]} both give the {name}", "keep one")
    if command:
        return run_secret_command(command, what=f"{section.path}.{name}_command")
    if env:
        value = os.environ.get(env)
        if not value:
            raise AllianceError(f"{section.path}.{name}_env names ${env}, which is not set — "
                                f"export {env}=… before running alliance")
        return value
    if use_keyring:
        try:
            import keyring
        except ImportError:
            raise AllianceError("the keyring package is not installed — run: "
                                "pip install 'designed-alliance[keyring]'") from None
        value = keyring.get_password(service, user or "")
        if not value:
            raise AllianceError(f"no {name} for {user!r} in the keyring service {service!r} — "
                                f"store it with: keyring set {service} {user}")
        return value
    if required:
        raise section.fail(f"{name}_command", f"no {name} is configured",
                           f"add {name}_command = \"pass show …\" or {name}_env = \"VAR\"")
    return None


def run_secret_command(command: str, *, what: str) -> str:
    try:
        result = subprocess.run(shlex.split(command), capture_output=True, text=True,
                                timeout=60, check=False)
    except FileNotFoundError:
        raise BadInput(f"the command {shlex.split(command)[0]!r} was not found", key=what,
                       hint="check the command, or install it") from None
    except subprocess.TimeoutExpired:
        raise AllianceError(f"{what} took longer than 60 s — check the command") from None
    if result.returncode != 0:
        # Its stderr may hold anything, secrets included: report the exit code only.
        raise AllianceError(f"{what} failed (exit {result.returncode}) — run it by hand to "
                            "see why")
    value = result.stdout.strip().splitlines()[0] if result.stdout.strip() else ""
    if not value:
        raise AllianceError(f"{what} printed nothing — it must print the secret on stdout")
    return value


def url_has_password(url: str) -> bool:
    """True when `url` carries a password in its userinfo (`scheme://user:pass@host`)."""
    return ":" in _userinfo(url)


def redact_url(url: str) -> str:
    """`url` with any password in it replaced by `***` (the user name is kept: it is not a
    secret and it says which account). Safe on malformed input: it never raises."""
    import re

    # Done on the text, not by re-assembling urlsplit's parts, so the rest of the URL is
    # printed exactly as written and a URL urlsplit refuses is redacted all the same.
    match = re.match(r"^(?P<head>[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^/?#]*)@", url)
    if not match:
        return url
    info = match.group("info")
    user, colon, _ = info.partition(":")
    redacted = f"{user}:***" if colon else user
    return f"{match.group('head')}{redacted}@{url[match.end():]}"


def _userinfo(url: str) -> str:
    import re

    match = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://(?P<info>[^/?#]*)@", url.strip())
    return match.group("info") if match else ""
