"""Where OAuth tokens live: the OS keyring, else a 0600 file in a 0700 config directory."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from designed_alliance.core.errors import AllianceError

from .files import InTheWay, read_regular

SERVICE = "designed-alliance"
MAX_TOKEN_BYTES = 64 * 1024  # an OAuth token JSON is a few kB


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
        if not os.path.lexists(self.path):
            return None
        # Never through a link, never a FIFO, never unbounded; a damaged file is "not signed
        # in", said in one line, not a UnicodeDecodeError.
        try:
            return read_regular(self.path, MAX_TOKEN_BYTES).decode("utf-8")
        except UnicodeDecodeError:
            raise AllianceError(f"the stored sign-in {self.path} is damaged — remove it, then "
                                f"sign in again (alliance auth {self.name})") from None
        except InTheWay:
            raise AllianceError(f"{self.path} is not a regular file — remove it, then sign in "
                                f"again (alliance auth {self.name})") from None

    def set(self, value: str) -> str:
        """Store the value; returns where it went ("keyring" or the file path)."""
        ring = self._keyring()
        if ring is not None:
            try:
                ring.set_password(SERVICE, self.name, value)
                return "the system keyring"
            except Exception:
                pass
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(self.path.parent, 0o700)
            # mkstemp: a fresh 0600 file (O_EXCL), so a link planted at a fixed temporary
            # name cannot make us truncate or write through it.
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.name}.",
                                       suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(value)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise AllianceError(f"cannot store the sign-in in {self.path.parent} "
                                f"({exc.strerror or type(exc).__name__}) — check that folder, "
                                "or use --config with a config file in a folder you own"
                                ) from None
        return str(self.path)

    def delete(self) -> None:
        ring = self._keyring()
        if ring is not None:
            with contextlib.suppress(Exception):  # nothing stored there
                ring.delete_password(SERVICE, self.name)
        self.path.unlink(missing_ok=True)
