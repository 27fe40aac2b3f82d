"""The one user-facing error family, caught once in the CLI.

Every message is a single line that says what is wrong *and* what to do about it.
`BadInput` (exit 2) is for input the user wrote: alliance files, config files, flags.
`AllianceError` (exit 1) is for anything else the user can fix: credentials, servers,
a plan that needs `--force`.
"""

from __future__ import annotations

from pathlib import Path


class AllianceError(Exception):
    """Something the user can fix. The message says how; the CLI prints it and exits 1."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadInput(AllianceError):
    """Input the user wrote is wrong. One line: file, key path, line, what to do. Exit 2."""

    exit_code = 2

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        key: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = str(file) if file is not None else None
        self.key = key
        self.line = line
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line:
                where += f":{self.line}"
            where += ": "
        key = f"{self.key}: " if self.key else ""
        hint = f" — {self.hint}" if self.hint else ""
        text = f"{where}{key}{self.problem}{hint}"
        # One line, always: user text quoted in a message must not break it.
        return " ".join(text.splitlines())


class MissingExtra(AllianceError):
    """An optional dependency for a target is not installed; the hint fits how it was installed."""

    def __init__(self, extra: str, module: str) -> None:
        if pipx_venv() is not None:
            # pipx keeps the app in its own venv: `pip install` there is not what the user runs.
            import shlex

            packages = " ".join(shlex.quote(p) for p in extra_packages(extra) or [module])
            how = f"pipx inject designed-alliance {packages}"
        else:
            how = f"pip install 'designed-alliance[{extra}]'"
        super().__init__(
            f"the {extra} target needs the '{module}' package, which is not installed — "
            f"run: {how}"
        )
        self.extra = extra


def pipx_venv(prefix: str | None = None) -> Path | None:
    """The pipx venv this program runs from, or None: pipx keeps apps in <PIPX_HOME>/venvs/<app>."""
    import os
    import sys

    here = Path(prefix or sys.prefix).resolve()
    homes = [Path(os.environ["PIPX_HOME"]).expanduser()] if os.environ.get("PIPX_HOME") else []
    homes += [Path.home() / ".local" / "pipx", Path.home() / ".local" / "share" / "pipx"]
    for home in homes:
        venvs = (home / "venvs").resolve()
        if here.parent == venvs:
            return here
    # pipx moves its home between versions and platforms; the folder names do not change.
    if here.parent.name == "venvs" and here.parent.parent.name.lower() == "pipx":
        return here
    return None


def extra_packages(extra: str) -> list[str]:
    """The requirement names an extra of this distribution pulls in, as pipx inject takes them."""
    from importlib import metadata

    try:
        requires = metadata.requires("designed-alliance") or []
    except metadata.PackageNotFoundError:
        return []
    names = []
    for line in requires:
        requirement, _, marker = line.partition(";")
        if f'extra == "{extra}"' in marker.replace("'", '"'):
            names.append(requirement.strip().replace(" ", ""))
    return names


class NeedsForce(AllianceError):
    """A plan is unsafe (it cancels too much) and the user did not say --force."""


# -- remote failures ------------------------------------------------------------------------
# Adapters translate what a service said into one of these; the shared apply layer decides
# what to do by type (retry, reconcile, recreate, stop), never by reading message text.


class RemoteError(AllianceError):
    """A remote service did not do what was asked. `retryable` says whether waiting helps."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotFound(RemoteError):
    """The object is not there (deleted by hand, or never made)."""


class Conflict(RemoteError):
    """The object already exists (a create we never heard back from) or changed meanwhile."""


class Throttled(RemoteError):
    """The service asked us to slow down; `retry_after` is what it said, in seconds or a date."""

    retryable = True

    def __init__(self, message: str, *, status: int | None = 429,
                 retry_after: str | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class Unavailable(Throttled):
    """A 5xx, a timeout or a dropped connection: the request may or may not have been done."""

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after: str | None = None, answer_lost: bool = False) -> None:
        super().__init__(message, status=status, retry_after=retry_after)
        self.answer_lost = answer_lost  # the request may have been written: look first


class AuthExpired(RemoteError):
    """The credentials were refused (expired, revoked, too narrow): sign in again."""


class Refused(RemoteError):
    """The service refused the request for good (bad request, forbidden, quota for the day)."""
