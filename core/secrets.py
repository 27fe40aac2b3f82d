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


SECRET_TIMEOUT = 60.0
MAX_SECRET_OUTPUT = 64 * 1024  # a password or token is short; more is a wrong command


def run_secret_command(command: str, *, what: str) -> str:
    """The first line the command prints on stdout. Its stderr is never read (it may hold
    anything, secrets included); its output is capped, so `yes` or `cat /dev/zero` given by
    mistake fail in one line instead of filling the memory."""
    import selectors
    import time

    try:
        argv = shlex.split(command)
    except ValueError as exc:  # an unbalanced quote
        raise BadInput(f"cannot be split into a command ({exc})", key=what,
                       hint="check the quotes") from None
    if not argv:
        raise BadInput("is empty", key=what, hint='write the command, like "pass show dav"')
    try:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except FileNotFoundError:
        raise BadInput(f"the command {argv[0]!r} was not found", key=what,
                       hint="check the command, or install it") from None
    except OSError as exc:  # not executable, a folder, …
        raise BadInput(f"the command {argv[0]!r} cannot be run ({exc.strerror})", key=what,
                       hint="check the command and its permissions") from None
    assert process.stdout is not None
    deadline = time.monotonic() + SECRET_TIMEOUT
    chunks: list[bytes] = []
    size = 0
    problem = ""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                problem = f"{what} took longer than {SECRET_TIMEOUT:.0f} s — check the command"
                break
            if not selector.select(timeout=left):
                continue
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_SECRET_OUTPUT:
                problem = (f"{what} printed more than {MAX_SECRET_OUTPUT // 1024} kB — it "
                           "must print only the secret")
                break
    if problem:
        process.kill()
    process.stdout.close()
    try:
        returncode = process.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        problem = problem or f"{what} took longer than {SECRET_TIMEOUT:.0f} s — check the command"
        returncode = -1
    if problem:
        raise AllianceError(problem)
    if returncode != 0:
        # Report the exit code only: what it printed may be (part of) the secret.
        raise AllianceError(f"{what} failed (exit {returncode}) — run it by hand to "
                            "see why")
    output = b"".join(chunks).decode("utf-8", errors="replace").strip()
    value = output.splitlines()[0] if output else ""
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
