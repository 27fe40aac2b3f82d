"""The state DB as a flaky machine and a careless user leave it: garbage, damage, another
program's database, a place nobody can write. One line that says what to do, exit 1, and
nothing written anywhere — another program's file least of all."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from designed_alliance.core.state import APPLICATION_ID, Record, State, StateError

from .conftest import tmpfs


def one_line(result, *fragments: str) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def foreign_db(path: Path, schema: str) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(schema)
    conn.commit()
    conn.close()
    return path.read_bytes()


def tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


BAD_FILES = {
    "garbage": lambda path: path.write_bytes(os.urandom(8192)),
    "text": lambda path: path.write_text("state = 'not sqlite'\n"),
    "one-byte": lambda path: path.write_bytes(b"x"),  # SQLite would make it a database
    "truncated-header": lambda path: path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 20),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
@pytest.mark.parametrize("command", ["plan", "setup"])
def test_a_garbage_state_file_is_one_line_and_nothing_is_written(
        cli, household: Path, state_file: Path, isolated: Path, kind: str,
        command: str) -> None:
    state_file.parent.mkdir(parents=True)
    BAD_FILES[kind](state_file)
    before = state_file.read_bytes()
    one_line(cli(command, household), str(state_file), "damaged", "mv ")
    assert state_file.read_bytes() == before
    assert not (household.parent / "alliance-out").exists()
    with pytest.raises(StateError, match="damaged"):
        State(state_file).verify()


@pytest.mark.parametrize("schema", [
    "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);",
    "CREATE TABLE records (id INTEGER PRIMARY KEY, payload BLOB);",
    "PRAGMA application_id = 1234; CREATE TABLE records (x);",
], ids=["other-tables", "records-clash", "other-application-id"])
def test_another_programs_database_is_left_untouched(cli, household: Path, state_file: Path,
                                                     isolated: Path, schema: str) -> None:
    before = foreign_db(state_file, schema)
    before_tables = tables(state_file)
    for command in ("plan", "setup"):
        one_line(cli(command, household), str(state_file), "not designed-alliance's state")
    assert state_file.read_bytes() == before and tables(state_file) == before_tables
    assert not (household.parent / "alliance-out").exists()
    with pytest.raises(StateError, match="not designed-alliance's state"):
        State(state_file).verify()
    with pytest.raises(StateError):
        State(state_file).ensure_writable()
    assert state_file.read_bytes() == before


def test_a_damaged_page_is_found_by_verify_and_is_one_line_in_setup(
        cli, household: Path, state_file: Path) -> None:
    assert cli("setup", household).exit_code == 0
    state = State(state_file)
    state.verify()  # healthy
    state.close()
    conn = sqlite3.connect(state_file)  # move the WAL into the main file, then damage that
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(state_file.read_bytes())
    page = 4096
    assert len(data) >= 2 * page
    data[page:2 * page] = b"\xa5" * page  # the records table's page: garbage
    state_file.write_bytes(bytes(data))
    with pytest.raises(StateError, match="damaged"):
        State(state_file).verify()
    household.write_text(household.read_text().replace('time = "18:00"', 'time = "18:30"'))
    one_line(cli("setup", household), str(state_file))


def test_a_damaged_row_is_one_line(cli, household: Path, state_file: Path) -> None:
    assert cli("setup", household).exit_code == 0
    conn = sqlite3.connect(state_file)
    conn.execute("UPDATE records SET summary = '{not json' WHERE key = 'checkins'")
    conn.commit()
    conn.close()
    one_line(cli("plan", household), str(state_file), "damaged")
    with pytest.raises(StateError, match="damaged"):
        State(state_file).verify()


@pytest.mark.parametrize("where", ["parent-is-a-file", "state-is-a-folder"])
def test_an_unusable_place_is_one_line(cli, household: Path, tmp_path: Path, monkeypatch,
                                       isolated: Path, where: str) -> None:
    blocker = tmp_path / "blocker"
    if where == "parent-is-a-file":
        blocker.write_text("a file")
        path = blocker / "state.sqlite"
    else:
        blocker.mkdir()
        path = blocker
    monkeypatch.setenv("ALLIANCE_STATE", str(path))
    line = one_line(cli("setup", household), str(path))
    assert "ALLIANCE_STATE" in line
    with pytest.raises(StateError):
        State(path).ensure_writable()


@pytest.fixture
def small_disk(tmp_path: Path):
    with tmpfs(tmp_path / "small", "512k") as mount:
        yield mount


def test_read_only_and_full_disks_are_found_by_ensure_writable(small_disk: Path) -> None:
    path = small_disk / "state.sqlite"
    state = State(path)
    state.put("a", "ics:/x", Record("k", "k.ics", "f1"))
    state.ensure_writable()
    state.close()
    # Full: fill what is left of the disk, then ask again.
    filler = small_disk / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    full = State(path)
    with pytest.raises(StateError, match="disk is full"):
        for n in range(200):  # the first pages may still fit in free SQLite pages
            full.put_many("a", "ics:/x", [Record(f"k{n}-{i}", "x" * 500, "f") for i in range(20)])
    full.close()
    filler.unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    readonly = State(path)
    assert readonly.records("a", "ics:/x")["k"].remote_id == "k.ics"  # reading still works
    with pytest.raises(StateError, match="cannot write"):
        readonly.ensure_writable()
    readonly.close()


def test_ensure_writable_creates_a_marked_private_file_and_keeps_the_api(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.sqlite"
    state = State(path)
    state.verify()  # absent is fine
    assert state.records("a", "x") == {} and not path.exists()
    state.ensure_writable()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    state.put("a", "x", Record("k", "r", "f", 2, "active", {"title": "T"}))
    state.put_many("a", "x", [Record("j", "r2", "g")])
    assert state.records("a", "x")["k"] == Record("k", "r", "f", 2, "active", {"title": "T"})
    state.verify()
    state.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == 2
    conn.close()


def test_a_state_file_from_before_the_mark_is_still_ours(tmp_path: Path) -> None:
    from designed_alliance.core import state as module

    path = tmp_path / "old.sqlite"
    old_schema = module.SCHEMA.split("CREATE TABLE IF NOT EXISTS probe")[0]
    conn = sqlite3.connect(path)
    conn.executescript(old_schema)
    conn.execute("INSERT INTO records (alliance_id, instance, key, remote_id, fingerprint) "
                 "VALUES ('a', 'x', 'k', 'r', 'f')")
    conn.commit()
    conn.close()
    state = State(path)
    state.verify()
    assert state.records("a", "x")["k"].remote_id == "r"
    state.ensure_writable()
    state.close()


def test_a_schema_that_fails_half_way_leaves_no_table_and_the_next_write_works(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tables are made in one transaction: a failure makes none of them, and leaves no
    transaction open on the connection for the next write."""
    from designed_alliance.core import state as state_module

    path = tmp_path / "state.sqlite"
    state = State(path)
    good = state_module.SCHEMA
    monkeypatch.setattr(state_module, "SCHEMA", good + "CREATE TABLE broken (;\n")
    with pytest.raises(StateError):
        state.ensure_writable()
    assert tables(path) == set()
    monkeypatch.setattr(state_module, "SCHEMA", good)
    state.put_many("a1", "ics:x", [Record("k", "r", "f")])
    assert tables(path) >= {"records", "deliveries", "rendered"}
    assert state.records("a1", "ics:x") == {"k": Record("k", "r", "f")}


def test_a_state_is_closed_when_dropped_even_in_another_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its connection closes (the WAL folded back into the file) when the state is dropped,
    also where SQLite's connection refuses calls from another thread: no error escapes."""
    import gc
    import threading

    raised: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", raised.append)
    path = tmp_path / "state.sqlite"
    holder = [State(path)]
    holder[0].ensure_writable()
    assert (tmp_path / "state.sqlite-wal").exists()

    def drop() -> None:
        holder.clear()
        gc.collect()

    thread = threading.Thread(target=drop)
    thread.start()
    thread.join()
    gc.collect()
    assert raised == []
    assert not (tmp_path / "state.sqlite-wal").exists()
