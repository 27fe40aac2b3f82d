"""Writing files safely: inside the output folder only, atomically, never half-written.

The output folder may hold things we did not put there — a link someone made, a FIFO, a
directory named like one of our files, a link to /dev/zero. We never follow a link and never
open anything but a regular file there: whatever is in the way is named in one line (exit 1)
so the user can move it. A write that fails (full disk, read-only folder) or is interrupted
by SIGTERM/SIGHUP leaves the old file and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from designed_alliance.core.errors import AllianceError
from designed_alliance.core.items import slug

MAX_READ = 10 * 1024 * 1024  # our own files are a few kB; anything this big is not ours
STALE_TMP_SECONDS = 15 * 60  # a temporary file this old belongs to no running write
_KINDS = {stat.S_IFDIR: "a directory", stat.S_IFIFO: "a FIFO (named pipe)",
          stat.S_IFCHR: "a device", stat.S_IFBLK: "a device", stat.S_IFSOCK: "a socket",
          stat.S_IFLNK: "a symbolic link"}
_HINTS = {errno.ENOSPC: "no space left on the disk — free some space",
          errno.EDQUOT: "the disk quota is used up — free some space",
          errno.EROFS: "the file system is read-only — choose another --out",
          errno.EACCES: "permission denied — choose a folder you may write to with --out",
          errno.EPERM: "permission denied — choose a folder you may write to with --out"}


class InTheWay(AllianceError):
    """Something that is not a regular file of ours sits where we read or write."""


def _in_the_way(path: Path, mode: int) -> InTheWay:
    kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
    return InTheWay(f"{path} is {kind} — alliance never follows links or opens special files "
                    "in its output folder; move it away, or choose another folder with --out")


def _failed(action: str, path: Path, exc: OSError) -> AllianceError:
    hint = _HINTS.get(exc.errno or 0, f"{exc.strerror or type(exc).__name__} — check the "
                      "folder, or choose another one with --out")
    return AllianceError(f"cannot {action} {path}: {hint}; then run the same command again "
                         "(what was done is recorded)")


def safe_path(folder: Path, name: str) -> Path:
    """`folder/name` with a name that cannot leave the folder, whatever user text it holds.

    Only the folder is resolved: resolving the name too would follow a link placed there
    (`checkins.ics → alliance.ics`) and write through it.
    """
    stem, dot, ext = name.rpartition(".")
    clean = f"{slug(stem)}{dot}{slug(ext)}" if dot else slug(name)
    if clean in ("", ".", "..") or "/" in clean:
        raise AllianceError(f"refusing to write {name!r} outside {folder}")
    return (_resolved.get(folder) or folder.resolve()) / clean


def ensure_folder(folder: Path) -> None:
    """Make the output folder (a link to a folder is fine: the user chose it); one line when
    a file or something else sits there instead."""
    try:
        info = folder.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise _failed("use the folder", folder, exc) from None
    if info is not None:
        if not stat.S_ISDIR(info.st_mode):
            raise InTheWay(f"{folder} is not a folder — --out (or defaults.output_dir) must "
                           "name a folder; remove the file or choose another path")
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InTheWay(f"a file is in the way of the folder {folder} — --out must name a "
                       "folder whose parents are folders too") from None
    except NotADirectoryError:
        raise InTheWay(f"a file is in the way of the folder {folder} — --out must name a "
                       "folder whose parents are folders too") from None
    except OSError as exc:
        raise _failed("create the folder", folder, exc) from None


def check_replaceable(path: Path) -> None:
    """Nothing at `path`, or a regular file (never a link, a folder, a FIFO, a device)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _failed("look at", path, exc) from None
    if not stat.S_ISREG(info.st_mode):
        raise _in_the_way(path, info.st_mode)


def read_regular(path: Path, limit: int = MAX_READ) -> bytes:
    """The bytes of a regular file at `path`, never through a link and never more than
    `limit`; InTheWay for anything else. O_NONBLOCK: opening a FIFO must not wait for a
    writer; fstat then tells it is not a file."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a link (dangling or not)
            raise _in_the_way(path, stat.S_IFLNK) from None
        with contextlib.suppress(OSError):
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode):
                raise _in_the_way(path, info.st_mode) from None
        raise _failed("read", path, exc) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _in_the_way(path, info.st_mode)
        if info.st_size > limit:
            raise InTheWay(f"{path} is {info.st_size // 1024} kB; alliance only reads its own "
                           f"small files here (at most {limit // 1024} kB) — move it out of "
                           "the output folder")
        chunks: list[bytes] = []
        size = 0
        while True:  # a file growing while we read is cut off at the limit, not followed
            chunk = os.read(fd, min(65536, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise InTheWay(f"{path} grew past {limit // 1024} kB while being read — move "
                               "it out of the output folder")
        return b"".join(chunks)
    except OSError as exc:
        raise _failed("read", path, exc) from None
    finally:
        os.close(fd)


# Folders inside `one_scan`: the old temporary files found there when it began, and the
# folder as given → resolved (resolving it again for every file written was a syscall each).
_scanned: dict[Path, list[Path]] = {}
_resolved: dict[Path, Path] = {}


def _old_tmp(paths: Iterator[Path], now: float) -> list[Path]:
    found = []
    for tmp in paths:
        with contextlib.suppress(OSError):
            info = os.lstat(tmp)
            if stat.S_ISREG(info.st_mode) and now - info.st_mtime > STALE_TMP_SECONDS:
                found.append(tmp)
    return found


@contextlib.contextmanager
def one_scan(folder: Path) -> Iterator[None]:
    """Within the block, writes into `folder` sweep what one scan of it found, instead of
    each reading the whole folder again (N files written cost N² directory reads)."""
    key = folder.resolve()
    if key in _scanned:
        yield
        return
    found: list[Path] = []
    if key.is_dir():
        found = _old_tmp(key.glob(".*.tmp"), time.time())
    _scanned[key] = found
    _resolved[folder] = key
    try:
        yield
    finally:
        _scanned.pop(key, None)
        _resolved.pop(folder, None)


def sweep_stale_tmp(folder: Path, name: str) -> None:
    """Remove `.<name>.*.tmp` files left by a write that was killed (SIGKILL, power loss).
    Only old ones: a young one may belong to another alliance process writing right now."""
    now = time.time()
    scanned = _scanned.get(folder)
    if scanned is None:
        candidates = _old_tmp(folder.glob(f".{name}.*.tmp"), now)
    else:
        prefix = f".{name}."
        candidates = [t for t in scanned if t.name.startswith(prefix)
                      and len(t.name) >= len(prefix) + len(".tmp")]
        for tmp in candidates:
            scanned.remove(tmp)
    for tmp in _old_tmp(iter(candidates), now):  # looked at again: it may be gone by now
        with contextlib.suppress(OSError):
            tmp.unlink()


class _Terminated(BaseException):
    """A SIGTERM/SIGHUP arrived while a file was being written."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _signals_unwind() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into an exception for the duration of one write, so the cleanup
    below runs; the default action (die with that signal) follows once it has."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: object) -> None:
        raise _Terminated(signum)

    for wanted in (signal.SIGTERM, signal.SIGHUP):
        current = signal.getsignal(wanted)
        if current is signal.SIG_DFL:  # a handler someone else installed stays theirs
            previous[wanted] = signal.signal(wanted, handler)
    try:
        yield
    except _Terminated as exc:
        for signum, old in previous.items():
            signal.signal(signum, old)
        previous.clear()
        os.kill(os.getpid(), exc.signum)  # die as the signal asked, temporary file gone
        raise SystemExit(128 + exc.signum) from None  # if the default was changed meanwhile
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file + rename, so readers see the old file or the new one.

    Raises InTheWay when something other than a regular file sits at `path`, and a
    one-line AllianceError when the disk is full, read-only or refuses us.
    """
    ensure_folder(path.parent)
    check_replaceable(path)
    sweep_stale_tmp(path.parent, path.name)
    with _signals_unwind():
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        except OSError as exc:
            raise _failed("write", path, exc) from None
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise _failed("write", path, exc) from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def remove(path: Path) -> None:
    """Remove our file at `path`; a link or anything else there is named, not touched."""
    check_replaceable(path)
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise _failed("remove", path, exc) from None


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
