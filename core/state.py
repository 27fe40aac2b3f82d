"""What has been applied where: SQLite in the user state dir, one row per alliance/target/item.

Rows of a remote target are written one at a time as each remote write succeeds, each in its
own transaction, so a run killed half-way leaves exactly the rows of what was really done. A
local target's rows (files in the output folder) are committed together at the end of its
apply: a file written but not recorded is found again by the target's lookup, or rewritten.
The `rendered` table keeps each alliance's last rendered items (see core/rendered.py).

The file is ours only if it says so: SQLite's `application_id` header field carries our mark
(older state files without it are recognised by their one `records` table). A garbage file, a
damaged one, another program's database or an unwritable place is a `StateError`: one line
that names the file and says what to do — never a traceback, and never our table written
into someone else's database.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import field
from pathlib import Path
from typing import Any

from designed_alliance.core.records import dataclass

from .errors import AllianceError

SQLITE_MAGIC = b"SQLite format 3\x00"
APPLICATION_ID = 0x44416C31  # "DAl1": marks the SQLite file as designed-alliance state
COLUMNS = ("alliance_id", "instance", "key", "remote_id", "fingerprint", "sequence", "status",
           "summary", "updated_at")
# `alliances`: which file and title an alliance id was last set up from (see `owner`).
OUR_TABLES = frozenset({"records", "probe", "deliveries", "alliances", "readback",
                        "rendered"})
# A mail's delivery to one recipient: the intent is committed before DATA, the outcome after.
SENDING, DELIVERED, REFUSED, UNSENT = "sending", "sent", "refused", "unsent"
LOCK_WAIT_SECONDS = 10.0  # how long a second run of one alliance waits ($ALLIANCE_LOCK_WAIT)
SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    alliance_id TEXT NOT NULL,
    instance    TEXT NOT NULL,
    key         TEXT NOT NULL,
    remote_id   TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    sequence    INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL DEFAULT 'active',
    summary     TEXT NOT NULL DEFAULT '{}',
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (alliance_id, instance, key)
);
CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    alliance_id TEXT NOT NULL,
    instance    TEXT NOT NULL,
    key         TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    status      TEXT NOT NULL,
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (alliance_id, instance, key, recipient)
);
CREATE TABLE IF NOT EXISTS alliances (
    alliance_id TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    source      TEXT NOT NULL,
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE IF NOT EXISTS readback (
    alliance_id TEXT NOT NULL,
    instance    TEXT NOT NULL,
    token       TEXT NOT NULL DEFAULT '',
    cache       TEXT NOT NULL DEFAULT '{}',
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (alliance_id, instance)
);
CREATE TABLE IF NOT EXISTS rendered (
    alliance_id TEXT PRIMARY KEY,
    inputs      TEXT NOT NULL,
    items       BLOB NOT NULL,
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
"""


# SQLite primary result codes (https://sqlite.org/rescode.html).
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = (
    10, 11, 13, 14, 26)


def _disk_full(path: Path) -> bool:
    try:
        info = os.statvfs(path.parent)
    except OSError:
        return False
    return info.f_bavail * info.f_frsize < 64 * 1024


class StateError(AllianceError):
    """The state file cannot be used as it is. The message names it and says what to do."""


def default_path() -> Path:
    """$ALLIANCE_STATE, else the user state dir (core/userdirs.py; it honours XDG_STATE_HOME)."""
    override = os.environ.get("ALLIANCE_STATE")
    if override:
        return Path(override)
    from designed_alliance.core import userdirs

    return userdirs.state() / "state.sqlite"


@dataclass(frozen=True)
class Record:
    """What state remembers of one object in one target: its remote id, fingerprint,
    SEQUENCE, status and the summary a change is described from."""

    key: str
    remote_id: str
    fingerprint: str
    sequence: int = 0
    status: str = "active"  # "cancelled" rows keep the SEQUENCE history of a removed item
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True)
class Owner:
    """The title and file an alliance id was last set up from."""

    title: str
    source: str


def _close(conn: sqlite3.Connection) -> None:
    # A state dropped in another thread (a test's server thread collecting garbage) may not
    # close it there; the connection's own deallocation, right after, closes it then.
    with contextlib.suppress(sqlite3.ProgrammingError):
        conn.close()


class State:
    """Read freely; the database file is created only on the first write."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self._conn: sqlite3.Connection | None = None
        self._marked = False
        self._schema_ready = False

    # -- errors -------------------------------------------------------------------------------
    def _error(self, exc: BaseException) -> StateError:
        """One line for whatever SQLite or the file system said, decided by SQLite's result
        code (or the OS errno), not by the message text."""
        if isinstance(exc, StateError):
            return exc
        where = self.path
        code = getattr(exc, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        damaged = self._damaged(str(exc))
        unwritable = StateError(f"cannot write the state file {where} ({exc}) — check the "
                                f"permissions of {where.parent}, or set ALLIANCE_STATE to a "
                                "file you can write")
        full = StateError(f"cannot write the state file {where}: the disk is full — free some "
                          "space, then run the same command again")
        if isinstance(exc, ValueError) or primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            return damaged
        if primary == _SQLITE_FULL or getattr(exc, "errno", None) in (errno.ENOSPC,
                                                                       errno.EDQUOT):
            return full
        if primary == _SQLITE_IOERR and _disk_full(where):
            return full  # SQLite says only "disk I/O error" when a WAL write hits ENOSPC
        if primary in (_SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_PERM) or isinstance(
                exc, PermissionError) or getattr(exc, "errno", None) == errno.EROFS:
            return unwritable
        if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return StateError(f"the state file {where} is locked by another alliance process "
                              "— wait for it to finish, then run again")
        if isinstance(exc, OSError):
            return StateError(f"cannot use the state file {where} ({exc.strerror or exc}) — "
                              "check the folder, or set ALLIANCE_STATE to another path")
        return StateError(f"cannot use the state file {where} ({type(exc).__name__}: {exc}) — "
                          "check the file, or set ALLIANCE_STATE to another path")

    def _damaged(self, detail: str) -> StateError:
        where = self.path
        return StateError(f"the state file {where} is damaged ({detail}) — move it away "
                          f"(mv {where} {where}.broken) and run again: setup finds what it "
                          "made in the calendars and folders and records it anew")

    def _foreign(self, detail: str) -> StateError:
        return StateError(f"{self.path} is not designed-alliance's state file ({detail}) — "
                          "it was left untouched; set ALLIANCE_STATE (or XDG_STATE_HOME) to "
                          "another path, or move that file away")

    # -- connection ---------------------------------------------------------------------------
    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if self._conn is not None:
            return self._conn
        try:
            if not self.path.exists():
                if not create:
                    return None
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                # Created 0600 before SQLite opens it: state names people and calendars.
                fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
            elif not self.path.is_file():
                raise StateError(f"the state file {self.path} is not a file — move it away, "
                                 "or set ALLIANCE_STATE to another path")
            else:
                with self.path.open("rb") as handle:
                    head = handle.read(len(SQLITE_MAGIC))
                # SQLite silently turns a file shorter than its header into a new database:
                # a one-line note someone saved there would be lost. Empty is ours (see above).
                if head and head != SQLITE_MAGIC:
                    raise self._damaged("file is not a database")
        except OSError as exc:
            raise self._error(exc) from None
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self._check_ours(conn)
            conn.execute("PRAGMA synchronous=FULL")
        except (sqlite3.Error, StateError) as exc:
            if conn is not None:
                conn.close()
            raise self._error(exc) from None
        self._conn = conn
        # Closed when this state is dropped or the process ends, whichever comes first: the
        # last connection's close folds the WAL back into the file, so that the file alone
        # holds every row (the alliance script's exit skips the interpreter's teardown,
        # which used to close it: package/__main__.py).
        weakref.finalize(self, _close, conn)
        return conn

    def _check_ours(self, conn: sqlite3.Connection) -> None:
        """Refuse another program's database before anything is written into it."""
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]  # garbage fails here
        if app_id == APPLICATION_ID:
            self._marked = True
            return
        if app_id != 0:
            raise self._foreign(f"its SQLite application id is {app_id:#x}")
        tables = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        if not tables:
            return  # a new, empty file: ours to set up
        if not tables <= OUR_TABLES or "records" not in tables:
            others = ", ".join(sorted(tables - OUR_TABLES)) or "no records table"
            raise self._foreign(f"it holds {others}")
        columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(records)"))
        if columns != COLUMNS:
            raise self._foreign("its records table has other columns")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect(create=True)
        assert conn is not None
        try:
            if not self._schema_ready:
                # Only on the first write: reading (plan) works on a read-only state file.
                conn.execute("PRAGMA journal_mode=WAL")
                # One transaction for the tables: one commit each was six syncs of the WAL.
                conn.executescript(f"BEGIN IMMEDIATE;\n{SCHEMA}COMMIT;\n")
                self._schema_ready = True
            conn.execute("BEGIN IMMEDIATE")
            if not self._marked:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        except sqlite3.Error as exc:
            # A failed schema or mark leaves its transaction open; the next write begins anew
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            raise self._error(exc) from None
        try:
            yield conn
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc) from None
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise self._error(exc) from None
        self._marked = True

    # -- checks for doctor and for the caller, before anything reaches anyone ------------------
    def verify(self) -> None:
        """Raise StateError unless the state file is absent (fine: nothing applied yet) or a
        readable, undamaged state file of ours. Writes nothing."""
        conn = self._connect(create=False)
        if conn is None:
            return
        try:
            result = conn.execute("PRAGMA quick_check").fetchall()
            if [tuple(row) for row in result] != [("ok",)]:
                raise self._damaged("; ".join(str(r[0]) for r in result[:2]))
            if self._has_records(conn):
                for (summary,) in conn.execute("SELECT summary FROM records"):
                    json.loads(summary)
        except (sqlite3.Error, ValueError) as exc:
            raise self._error(exc) from None

    def ensure_writable(self) -> None:
        """Open (creating if needed) and really write: one committed row in a scratch table,
        so a read-only file, a full disk or a lock is found before any remote write, not
        after it. Raises StateError."""
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO probe (id, at) VALUES "
                         "(1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))")

    def records(self, alliance_id: str, instance: str) -> dict[str, Record]:
        conn = self._connect(create=False)
        if conn is None:
            return {}
        if not self._has_records(conn):
            return {}
        try:
            rows = conn.execute(
                "SELECT key, remote_id, fingerprint, sequence, status, summary FROM records "
                "WHERE alliance_id = ? AND instance = ? ORDER BY rowid", (alliance_id, instance))
            return {row[0]: Record(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]))
                    for row in rows}
        except (sqlite3.Error, ValueError) as exc:
            raise self._error(exc) from None

    def _has_records(self, conn: sqlite3.Connection) -> bool:
        try:
            return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                "name = 'records'").fetchone() is not None
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def _has_table(self, conn: sqlite3.Connection, name: str) -> bool:
        try:
            return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                "name = ?", (name,)).fetchone() is not None
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def highest_sequences(self, alliance_id: str, keys: list[str], *,
                          exclude_instance: str) -> dict[str, tuple[int, str]]:
        """(SEQUENCE, fingerprint) of the highest SEQUENCE recorded for each of `keys` of
        this alliance in any other instance (another output folder, another calendar); keys
        recorded nowhere else are left out."""
        conn = self._connect(create=False)
        if conn is None or not keys or not self._has_records(conn):
            return {}
        marks = ", ".join("?" for _ in keys)
        try:
            rows = conn.execute(
                f"SELECT key, sequence, fingerprint FROM records WHERE alliance_id = ? AND "
                f"instance != ? AND key IN ({marks}) ORDER BY sequence",
                (alliance_id, exclude_instance, *keys))
            return {key: (int(sequence), str(fingerprint)) for key, sequence, fingerprint in rows}
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def owner(self, alliance_id: str) -> Owner | None:
        """Who set this alliance id up last (title and file), or None if nobody did."""
        conn = self._connect(create=False)
        if conn is None or not self._has_table(conn, "alliances"):
            return None
        try:
            row = conn.execute("SELECT title, source FROM alliances WHERE alliance_id = ?",
                               (alliance_id,)).fetchone()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return Owner(row[0], row[1]) if row else None

    def claim(self, alliance_id: str, title: str, source: str) -> None:
        """Record that `source`, titled `title`, is now where this alliance id lives."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO alliances (alliance_id, title, source) VALUES (?, ?, ?) "
                "ON CONFLICT (alliance_id) DO UPDATE SET title = excluded.title, "
                "source = excluded.source, "
                "updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
                (alliance_id, title, source))

    def has_any(self, alliance_id: str, instance: str) -> bool:
        return bool(self.records(alliance_id, instance))

    def put(self, alliance_id: str, instance: str, record: Record) -> None:
        self.put_many(alliance_id, instance, [record])

    def put_many(self, alliance_id: str, instance: str, records: list[Record]) -> None:
        """All of them or none: one transaction."""
        with self._write() as conn:
            for record in records:
                self._upsert(conn, alliance_id, instance, record)

    @staticmethod
    def _upsert(conn: sqlite3.Connection, alliance_id: str, instance: str, record: Record
                ) -> None:
        conn.execute(
                "INSERT INTO records (alliance_id, instance, key, remote_id, fingerprint, "
                "sequence, status, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (alliance_id, instance, key) DO UPDATE SET "
                "remote_id = excluded.remote_id, fingerprint = excluded.fingerprint, "
                "sequence = excluded.sequence, status = excluded.status, "
                "summary = excluded.summary, "
                "updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
                (alliance_id, instance, record.key, record.remote_id, record.fingerprint,
                 record.sequence, record.status, json.dumps(record.summary, sort_keys=True)))

    # -- deliveries: mail to each recipient, intent before sending and outcome after ----------
    def deliveries(self, alliance_id: str, instance: str, key: str
                   ) -> dict[str, tuple[str, str]]:
        """recipient → (Message-ID, status) for one message of one mail target."""
        conn = self._connect(create=False)
        if conn is None:
            return {}
        try:
            if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                            "name = 'deliveries'").fetchone() is None:
                return {}
            rows = conn.execute(
                "SELECT recipient, message_id, status FROM deliveries WHERE alliance_id = ? "
                "AND instance = ? AND key = ?", (alliance_id, instance, key))
            return {row[0]: (row[1], row[2]) for row in rows}
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def mark_deliveries(self, alliance_id: str, instance: str, key: str,
                        recipients: list[str], message_id: str, status: str) -> None:
        """Committed before it returns: the intent must be durable before DATA is sent."""
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO deliveries (alliance_id, instance, key, recipient, message_id, "
                "status) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (alliance_id, instance, key, "
                "recipient) DO UPDATE SET message_id = excluded.message_id, "
                "status = excluded.status, "
                "updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
                [(alliance_id, instance, key, recipient, message_id, status)
                 for recipient in recipients])

    def log_for(self, alliance_id: str, instance: str) -> DeliveryLog:
        return DeliveryLog(self, alliance_id, instance)

    # -- one run per alliance at a time ---------------------------------------------------------
    def lock_path(self, alliance_id: str, scope: str = "run") -> Path:
        from .items import slug

        suffix = "" if scope == "run" else f".{scope}"
        return self.path.parent / f"{self.path.name}.{slug(alliance_id)}{suffix}.lock"

    @contextmanager
    def locked(self, alliance_id: str, wait: float | None = None, *,
               scope: str = "run") -> Iterator[None]:
        """Hold an OS lock (flock) on a file beside the state, per alliance, until the block
        ends — the kernel releases it when the process dies, so a killed run never leaves a
        stale lock. A second run waits up to `wait` seconds ($ALLIANCE_LOCK_WAIT, else 10),
        then fails with one line: two runs planning from the same state would both send.
        `scope` "journal" serializes the journal commands' check-then-append instead."""
        import fcntl
        import time

        if wait is None:
            try:
                wait = float(os.environ.get("ALLIANCE_LOCK_WAIT", LOCK_WAIT_SECONDS))
            except ValueError:
                wait = LOCK_WAIT_SECONDS
        path = self.lock_path(alliance_id, scope)
        what = "run" if scope == "run" else f"{scope} write"
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW
                         | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError as exc:
            raise StateError(f"cannot create the lock file {path} ({exc.strerror or exc}) — "
                             f"check the permissions of {path.parent}, or set "
                             "ALLIANCE_STATE to a file you can write") from None
        try:
            deadline = time.monotonic() + max(wait, 0.0)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise AllianceError(
                            f"another alliance {what} for {alliance_id} is active (it holds "
                            f"{path}) — wait for it to finish, then run again") from None
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock


    # -- rendered items: an unchanged re-run renders nothing (see core/rendered.py) ----------
    def rendered(self, alliance_id: str, inputs: str) -> bytes | None:
        """The items last rendered for this alliance, if they were rendered from `inputs`."""
        last = self.last_rendered(alliance_id)
        return last[1] if last is not None and last[0] == inputs else None

    def last_rendered(self, alliance_id: str) -> tuple[str, bytes] | None:
        """(inputs digest, items) of this alliance's last rendering, whatever its inputs."""
        conn = self._connect(create=False)
        if conn is None or not self._has_table(conn, "rendered"):
            return None
        try:
            row = conn.execute("SELECT inputs, items FROM rendered WHERE alliance_id = ?",
                               (alliance_id,)).fetchone()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return (str(row[0]), bytes(row[1])) if row else None

    def put_rendered(self, alliance_id: str, inputs: str, items: bytes) -> None:
        """Keep these items as the alliance's last rendering (one row per alliance)."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO rendered (alliance_id, inputs, items) VALUES (?, ?, ?) "
                "ON CONFLICT (alliance_id) DO UPDATE SET inputs = excluded.inputs, "
                "items = excluded.items, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
                (alliance_id, inputs, items))

    # -- read-back: where the last `status --to` read of responses ended ----------------------
    def sync_point(self, alliance_id: str, instance: str) -> tuple[str, dict[str, Any]] | None:
        """(token, cache) of the last read of this alliance's responses here, or None."""
        conn = self._connect(create=False)
        if conn is None:
            return None
        try:
            if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                            "name = 'readback'").fetchone() is None:
                return None
            row = conn.execute("SELECT token, cache FROM readback WHERE alliance_id = ? AND "
                               "instance = ?", (alliance_id, instance)).fetchone()
            if row is None:
                return None
            cache = json.loads(row[1])
        except (sqlite3.Error, ValueError) as exc:
            raise self._error(exc) from None
        return str(row[0]), cache if isinstance(cache, dict) else {}

    def put_sync_point(self, alliance_id: str, instance: str, token: str,
                       cache: dict[str, Any]) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO readback (alliance_id, instance, token, cache) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (alliance_id, instance) DO UPDATE SET token = excluded.token, "
                "cache = excluded.cache, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
                (alliance_id, instance, token, json.dumps(cache, sort_keys=True)))


@dataclass(frozen=True)
class DeliveryLog:
    """The deliveries of one alliance on one mail target, handed to the target at apply."""

    state: State
    alliance_id: str
    instance: str

    def get(self, key: str) -> dict[str, tuple[str, str]]:
        return self.state.deliveries(self.alliance_id, self.instance, key)

    def mark_many(self, key: str, recipients: list[str], message_id: str, status: str
                  ) -> None:
        self.state.mark_deliveries(self.alliance_id, self.instance, key, recipients,
                                   message_id, status)
