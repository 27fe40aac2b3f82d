"""The output folder as a hostile user and a flaky machine leave it: links, FIFOs, devices,
folders named like our files, a file where the folder should be, a full or read-only disk,
a SIGTERM mid-write. Each is one line naming the path, exit 1, and nothing lost."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import icalendar
import pytest

from .conftest import ROOT, tmpfs

EVENTS = 6  # household: check-ins, review, celebration and three commitments


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


def edit(path: Path) -> None:
    path.write_text(path.read_text().replace('time = "18:00"', 'time = "18:30"'))


def events_in(path: Path) -> list[icalendar.Event]:
    return icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")


def one_line(result, *fragments: str) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def no_tmp(folder: Path) -> None:
    assert sorted(p.name for p in folder.glob(".*.tmp")) == []


def test_a_link_between_our_files_is_not_written_through(cli, household: Path,
                                                         out: Path) -> None:
    assert cli("setup", household, "--out", out).exit_code == 0
    (out / "checkins.ics").unlink()
    (out / "checkins.ics").symlink_to("alliance.ics")
    edit(household)
    one_line(cli("setup", household, "--out", out), str(out / "checkins.ics"),
             "symbolic link")
    assert not (out / "alliance.ics").is_symlink()
    whole = events_in(out / "alliance.ics")
    assert len(whole) == EVENTS  # the import file still holds every event


def test_a_link_out_of_the_folder_is_not_written_through(cli, household: Path, out: Path,
                                                         tmp_path: Path) -> None:
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    out.mkdir()
    (out / "alliance.ics").symlink_to(victim)
    one_line(cli("setup", household, "--out", out), "alliance.ics", "symbolic link")
    assert victim.read_text() == "keep me"


@pytest.mark.parametrize("kind", ["dev-zero-link", "dangling-link", "fifo", "directory",
                                  "huge-file"])
def test_special_things_named_like_invites_are_named_not_read(cli, household: Path,
                                                              out: Path, kind: str) -> None:
    """Without state, setup and plan read every *.ics to rebuild it: none of these may hang,
    exhaust memory or raise a traceback."""
    out.mkdir()
    odd = out / "odd.ics"
    if kind == "dev-zero-link":
        odd.symlink_to("/dev/zero")
    elif kind == "dangling-link":
        odd.symlink_to(out / "nowhere.ics")
    elif kind == "fifo":
        os.mkfifo(odd)
    elif kind == "directory":
        odd.mkdir()
    else:
        with odd.open("wb") as handle:  # sparse: 64 MB on paper, nothing on the disk
            handle.truncate(64 * 1024 * 1024)
    started = time.monotonic()
    for command in ("plan", "setup"):
        line = one_line(cli(command, household, "--out", out), str(odd))
        assert "--out" in line or "move it" in line
    assert time.monotonic() - started < 20
    assert sorted(p.name for p in out.iterdir()) == ["odd.ics"]  # nothing written


def test_a_directory_where_we_write_is_named(cli, household: Path, out: Path) -> None:
    assert cli("setup", household, "--out", out).exit_code == 0
    (out / "checkins.ics").unlink()
    (out / "checkins.ics").mkdir()
    edit(household)
    one_line(cli("setup", household, "--out", out), str(out / "checkins.ics"), "directory")
    no_tmp(out)


@pytest.mark.parametrize("where", ["file", "under-a-file"])
def test_out_pointing_at_a_file_is_one_line(cli, household: Path, tmp_path: Path,
                                            where: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = blocker if where == "file" else blocker / "sub"
    one_line(cli("setup", household, "--out", target), str(blocker), "--out")
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize(("call", "code", "fragment"), [
    ("write", errno.ENOSPC, "no space left"),
    ("fsync", errno.EIO, "Input/output error"),
    ("mkstemp", errno.EROFS, "read-only"),
    ("mkstemp", errno.EACCES, "permission denied"),
])
def test_full_or_read_only_disk_is_one_line_and_keeps_the_old_files(
        cli, household: Path, out: Path, monkeypatch, call: str, code: int,
        fragment: str) -> None:
    assert cli("setup", household, "--out", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    edit(household)

    def fail(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(code, os.strerror(code))

    import tempfile

    owner = tempfile if call == "mkstemp" else os
    monkeypatch.setattr(owner, call, fail)
    one_line(cli("setup", household, "--out", out), fragment)
    monkeypatch.undo()
    no_tmp(out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # The disk has room again: the same command finishes the job.
    result = cli("setup", household, "--out", out)
    assert result.exit_code == 0, result.output
    starts = {str(e["X-DESIGNED-ALLIANCE-KEY"]): e.decoded("DTSTART")
              for e in events_in(out / "alliance.ics")}
    assert starts["checkins"].strftime("%H:%M") == "18:30"


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A real 24 kB tmpfs, where the machine lets us mount one (root on Linux)."""
    with tmpfs(tmp_path / "tiny", "24k") as mount:
        yield mount


def test_a_really_full_and_a_really_read_only_disk(cli, household: Path, tiny_disk: Path,
                                                   tmp_path: Path) -> None:
    out = tiny_disk / "out"
    one_line(cli("setup", household, "--out", out), "no space left")
    no_tmp(out)
    for path in out.iterdir():  # what was written is whole: the old file or the new one
        if path.suffix == ".ics":
            icalendar.Calendar.from_ical(path.read_bytes())
    for path in list(out.iterdir()):
        path.unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
    one_line(cli("setup", household, "--out", out), "read-only")


CHILD = """
import os, sys
from pathlib import Path
from designed_alliance.integrations import files
real_fsync = os.fsync
def slow_fsync(fd):
    print("writing", flush=True)
    import time; time.sleep(30)
os.fsync = slow_fsync
files.write_atomic(Path(sys.argv[1]) / "alliance.ics", b"x" * 1000)
"""


def test_sigterm_mid_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "alliance.ics").write_bytes(b"old")
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(folder)], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "writing"
    assert len(list(folder.glob(".*.tmp"))) == 1  # caught mid-write
    child.send_signal(signal.SIGTERM)
    assert child.wait(10) == -signal.SIGTERM  # it still dies of the signal
    no_tmp(folder)
    assert (folder / "alliance.ics").read_bytes() == b"old"


def test_a_temporary_file_left_by_a_kill_is_swept_at_the_next_run(cli, household: Path,
                                                                  out: Path) -> None:
    assert cli("setup", household, "--out", out).exit_code == 0
    stale = out / ".alliance.ics.k1ll3d.tmp"
    stale.write_bytes(b"half")
    young = out / ".alliance.ics.w0rk1n.tmp"  # another process may be writing this one
    young.write_bytes(b"busy")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    edit(household)
    assert cli("setup", household, "--out", out).exit_code == 0
    assert not stale.exists() and young.exists()


FORGED = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:forged\r\n"
          "X-DESIGNED-ALLIANCE-ID:home-reset-h7w1\r\nX-DESIGNED-ALLIANCE-KEY:checkins\r\n"
          "SEQUENCE:{}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


@pytest.mark.parametrize("content", [
    FORGED.format("not-a-number").encode(),
    FORGED.format("99999999999999999999999").encode(),
    FORGED.format("-5").encode(),
    os.urandom(4096),
    b"\xef\xbb\xbf",
    b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n",
], ids=["sequence-text", "sequence-huge", "sequence-negative", "random", "bom", "truncated"])
def test_damaged_or_forged_invites_are_never_adopted(cli, household: Path, out: Path,
                                                     content: bytes) -> None:
    out.mkdir()
    (out / "odd.ics").write_bytes(content)
    result = cli("setup", household, "--out", out)
    assert result.exit_code == 0, result.output
    assert (out / "odd.ics").read_bytes() == content
    checkins = events_in(out / "checkins.ics")
    assert [str(e["UID"]) for e in checkins] == ["checkins.home-reset-h7w1@designed-alliance"]
    assert int(checkins[0]["SEQUENCE"]) == 0
