"""The `alliance` script ends without the interpreter's teardown (package/__main__.py): the
outcome a user sees — status, output, files written at exit — is the interpreter's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.generate import alliance_text

from .conftest import EXAMPLES

SCRIPT = [sys.executable, "-m", "designed_alliance"]  # package/__main__.py, as `alliance`
# The same command with the interpreter's own exit: click's main, returning through it.
PLAIN = [sys.executable, "-c", "import sys; sys.argv[0] = 'alliance'\n"
         "from designed_alliance.core.cli import main; main()"]


def _env(**changes: str) -> dict[str, str]:
    """A user's environment: without PYTHONUNBUFFERED (set on CI machines), stdout to a pipe
    is held in a buffer, which is what an exit that skips a flush would lose."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return {**env, **changes}


def _run(command: list[str], *args: str, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120,
                          env=env or _env())


@pytest.mark.parametrize("args", [
    ["--help"],
    ["config", "schema"],
    ["check", "missing.toml"],  # a user error: one line, exit 2
    ["setup", "--nope"],  # click's usage error, exit 2
    ["show", "{team}", "--format", "json"],
    ["setup", "{team}", "--dry-run"],
], ids=["help", "schema", "bad-input", "usage", "show", "dry-run"])
def test_status_and_output_are_the_interpreters(args: list[str]) -> None:
    args = [a.replace("{team}", str(EXAMPLES / "team-project.toml")) for a in args]
    fast, plain = _run(SCRIPT, *args), _run(PLAIN, *args)
    assert (fast.returncode, fast.stdout, fast.stderr) \
        == (plain.returncode, plain.stdout, plain.stderr)


def test_a_setup_writes_its_files_and_a_state_file_that_holds_every_row(
        tmp_path: Path) -> None:
    state = tmp_path / "state"
    done = _run(SCRIPT, "setup", str(EXAMPLES / "team-project.toml"), "--yes",
                "--out", str(tmp_path / "out"), env=_env(XDG_STATE_HOME=str(state)))
    assert done.returncode == 0, done.stderr
    # The connection was closed, which folds SQLite's WAL back: the file alone (copied, as a
    # backup would be) has the rows, and no -wal or -shm file is left beside it.
    folder = state / "designed-alliance"
    assert sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock")) \
        == ["state.sqlite"]
    import shutil
    import sqlite3

    alone = tmp_path / "copy" / "state.sqlite"
    alone.parent.mkdir()
    shutil.copy(folder / "state.sqlite", alone)
    copy = sqlite3.connect(alone)
    try:
        assert copy.execute("SELECT count(*) FROM records").fetchone()[0] >= 7
    finally:
        copy.close()
    import email

    kickoff = email.message_from_bytes((tmp_path / "out" / "kickoff.eml").read_bytes())
    invites = [p for p in kickoff.walk() if p.get_content_type() == "text/calendar"]
    assert kickoff.is_multipart() and not kickoff.defects and len(invites) >= 5
    assert {p.name for p in (tmp_path / "out").glob("*.ics")} >= {"checkins.ics"}


def _script(body: str) -> list[str]:
    return [sys.executable, "-c", "import sys; sys.argv[0] = 'alliance'\n" + body
            + "\nfrom designed_alliance.__main__ import main; main()"]


def test_exit_functions_run_in_order_with_the_caches(tmp_path: Path) -> None:
    log = tmp_path / "log"
    body = (f"import atexit\nlog = open({str(log)!r}, 'a')\n"
            "atexit.register(lambda: (log.write('first registered\\n'), log.close()))\n"
            "atexit.register(lambda: log.write('second registered\\n'))\n"
            "atexit.register(lambda: print('printed at exit', end=''))")
    cache = tmp_path / "cache"
    done = _run(_script(body), "--help", env=_env(XDG_CACHE_HOME=str(cache)))
    assert done.returncode == 0, done.stderr
    assert log.read_text() == "second registered\nfirst registered\n"
    assert done.stdout.endswith("printed at exit")  # flushed after the exit functions
    # and those registered during the run: the patterns the run compiled were kept
    assert list((cache / "designed-alliance").glob("patterns-*.marshal"))


def test_a_thread_still_running_is_waited_for(tmp_path: Path) -> None:
    mark = tmp_path / "written-by-the-thread"
    body = ("import threading, time\n"
            f"def late():\n    time.sleep(0.5)\n    open({str(mark)!r}, 'w').write('done')\n"
            "threading.Thread(target=late).start()")
    done = _run(_script(body), "--help")
    assert done.returncode == 0, done.stderr
    assert mark.read_text() == "done"


def test_a_text_status_is_printed_and_exits_1() -> None:
    done = _run([sys.executable, "-c", "from designed_alliance.__main__ import _leave\n"
                 "print('before', end='')\n_leave(SystemExit('it went wrong'))"])
    assert (done.returncode, done.stdout, done.stderr) == (1, "before", "it went wrong\n")


@pytest.mark.parametrize("code", [0, 3, 256, -1])
def test_a_number_status_is_what_sys_exit_gives(code: int) -> None:
    fast = _run([sys.executable, "-c", "from designed_alliance.__main__ import _leave\n"
                 f"_leave(SystemExit({code}))"])
    plain = _run([sys.executable, "-c", f"raise SystemExit({code})"])
    assert fast.returncode == plain.returncode


def test_a_closed_pipe_ends_as_the_interpreter_ends_it(tmp_path: Path) -> None:
    """Output larger than a pipe holds, read by nobody: click's closed-pipe rule, then the
    interpreter's."""
    big = tmp_path / "big.toml"
    big.write_text(alliance_text(1000, 3))
    outcomes = []
    for command in (SCRIPT, PLAIN):
        proc = subprocess.Popen([*command, "show", str(big), "--format", "json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        errors = proc.stderr.read()
        outcomes.append((proc.wait(timeout=120), errors))
    assert outcomes[0] == outcomes[1]


def test_development_mode_keeps_the_teardown(tmp_path: Path) -> None:
    """-X dev reports unclosed files while tearing down; that report stays."""
    leaked = tmp_path / "leaked"
    leaked.write_text("")
    body = f"held = open({str(leaked)!r})"
    dev = _run([sys.executable, "-X", "dev", *_script(body)[1:]], "--help")
    assert dev.returncode == 0 and "ResourceWarning" in dev.stderr
    fast = _run(_script(body), "--help")
    assert fast.returncode == 0 and "ResourceWarning" not in fast.stderr
