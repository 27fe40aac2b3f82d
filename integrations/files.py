"""Writing files safely: inside the output folder only, atomically, never half-written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from designed_alliance.core.errors import AllianceError
from designed_alliance.core.items import slug


def safe_path(folder: Path, name: str) -> Path:
    """`folder/name` with a name that cannot leave the folder, whatever user text it holds."""
    stem, dot, ext = name.rpartition(".")
    clean = f"{slug(stem)}{dot}{slug(ext)}" if dot else slug(name)
    path = (folder / clean).resolve()
    if path.parent != folder.resolve():
        raise AllianceError(f"refusing to write {name!r} outside {folder}")
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file + rename, so readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def secret_schema(name: str) -> dict[str, dict[str, str]]:
    """The JSON Schema of a secret reference (`<name>_command`, `_env`, `_keyring`)."""
    return {
        f"{name}_command": {"type": "string",
                            "description": f"A command that prints the {name} on stdout."},
        f"{name}_env": {"type": "string",
                        "description": f"An environment variable holding the {name}."},
        f"{name}_keyring": {"type": "boolean",
                            "description": f"Read the {name} from the system keyring."},
    }
