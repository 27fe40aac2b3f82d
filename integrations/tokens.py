"""Where OAuth tokens live: the OS keyring, else a 0600 file in a 0700 config directory."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

SERVICE = "designed-alliance"


class TokenStore:
    """A small named secret. Never printed, never logged."""

    def __init__(self, name: str, folder: Path, *, use_keyring: bool = True) -> None:
        self.name = name
        self.path = folder / f"{name}.token"
        self.use_keyring = use_keyring and not os.environ.get("ALLIANCE_NO_KEYRING")

    def _keyring(self):
        if not self.use_keyring:
            return None
        try:
            import keyring
            from keyring.backends import fail
        except ImportError:
            return None
        if isinstance(keyring.get_keyring(), fail.Keyring):
            return None  # no usable keyring on this machine (e.g. a headless server)
        return keyring

    def get(self) -> str | None:
        ring = self._keyring()
        if ring is not None:
            try:
                value = ring.get_password(SERVICE, self.name)
            except Exception:
                value = None
            if value:
                return value
        if self.path.exists():
            return self.path.read_text(encoding="utf-8")
        return None

    def set(self, value: str) -> str:
        """Store the value; returns where it went ("keyring" or the file path)."""
        ring = self._keyring()
        if ring is not None:
            try:
                ring.set_password(SERVICE, self.name, value)
                return "the system keyring"
            except Exception:
                pass
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.path.parent, 0o700)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value)
        os.replace(tmp, self.path)
        return str(self.path)

    def delete(self) -> None:
        ring = self._keyring()
        if ring is not None:
            with contextlib.suppress(Exception):  # nothing stored there
                ring.delete_password(SERVICE, self.name)
        self.path.unlink(missing_ok=True)
