"""What has been applied where: SQLite in the user state dir, one row per alliance/target/item.

Rows are written one at a time as each remote write succeeds, each in its own transaction,
so a run killed half-way leaves exactly the rows of what was really done.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
"""


def default_path() -> Path:
    """$ALLIANCE_STATE, else the platformdirs user state dir (which honours XDG_STATE_HOME)."""
    override = os.environ.get("ALLIANCE_STATE")
    if override:
        return Path(override)
    from platformdirs import user_state_path

    return user_state_path("designed-alliance") / "state.sqlite"


@dataclass(frozen=True)
class Record:
    key: str
    remote_id: str
    fingerprint: str
    sequence: int = 0
    status: str = "active"  # "cancelled" rows keep the SEQUENCE history of a removed item
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.status == "active"


class State:
    """Read freely; the database file is created only on the first write."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self._conn: sqlite3.Connection | None = None

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if self._conn is not None:
            return self._conn
        if not self.path.exists():
            if not create:
                return None
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Created 0600 before SQLite opens it: state names people and calendars.
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(SCHEMA)
        self._conn = conn
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect(create=True)
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def records(self, alliance_id: str, instance: str) -> dict[str, Record]:
        conn = self._connect(create=False)
        if conn is None:
            return {}
        rows = conn.execute(
            "SELECT key, remote_id, fingerprint, sequence, status, summary FROM records "
            "WHERE alliance_id = ? AND instance = ? ORDER BY rowid", (alliance_id, instance))
        return {row[0]: Record(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]))
                for row in rows}

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
