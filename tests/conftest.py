"""Shared fixtures. Server and emulator fixtures live next to the servers they start."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest_plugins = [
    "tests.emulators.google_emu",
    "tests.emulators.graph_emu",
    "tests.servers.local",
]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", ""}

# The `alliance` script's main in a fresh interpreter; the modules loaded by the end are
# printed by an exit function, registered first so that it runs last (the script ends
# without the interpreter's teardown, after the exit functions: package/__main__.py).
_PROBE = ("import atexit, sys\n"
          "atexit.register(lambda: print('MODULES', ' '.join(sorted(sys.modules))))\n"
          "sys.argv = ['alliance', *sys.argv[1:]]\n"
          "from designed_alliance.__main__ import main\n"
          "main()\n")


def run_probed(args: list[str], *, env: dict[str, str] | None = None, prelude: str = ""
               ) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """`alliance ARGS` run as the script runs it, and the names of the modules it loaded
    (`prelude` is Python run first, e.g. to patch what must not be called)."""
    done = subprocess.run([sys.executable, "-c", prelude + _PROBE, *args],
                          capture_output=True, text=True, env=env, timeout=300)
    lines = [x for x in done.stdout.splitlines() if x.startswith("MODULES ")]
    assert lines, f"the probe printed no modules: {done.stdout[-500:]}{done.stderr[-2000:]}"
    return done, set(lines[-1].split()[1:])


def pytest_configure(config: pytest.Config) -> None:
    """The pytest process itself gets a cache folder of its own: the caches written when a
    process ends (compiled records, patterns, iCalendar answers) are written after every
    test's own folder is gone, and must not land in the user's ~/.cache."""
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="alliance-tests-cache-")
    os.environ["XDG_CACHE_HOME"] = folder
    atexit.register(shutil.rmtree, folder, True)  # registered first, so it runs last


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may only talk to 127.0.0.1: any other address fails loudly, DNS included."""
    import ipaddress
    import socket

    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def check(host: object) -> None:
        if isinstance(host, str) and host not in _LOOPBACK_NAMES:
            try:
                if ipaddress.ip_address(host).is_loopback:
                    return
            except ValueError:
                pass
            raise OSError(f"test tried to reach {host!r}: only loopback is allowed")

    def connect(self, address):  # type: ignore[no-untyped-def]
        if isinstance(address, tuple):
            check(address[0])
        return real_connect(self, address)

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        check(host.decode() if isinstance(host, bytes) else host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder (compiled templates, iCalendar answers) for the whole session: never
    the user's own, and not made anew for every test, which would compile every template
    again each time."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_cache: Path) -> Path:
    """Every test gets its own state, config and working folder: nothing leaks between them."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(shared_cache))
    monkeypatch.delenv("ALLIANCE_STATE", raising=False)
    monkeypatch.delenv("ALLIANCE_CONFIG", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture(autouse=True)
def example_copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`example(name)` gives a copy: setup writes alliance-out/ beside the alliance file, and
    a test must never write into the repository's examples/ folder."""
    import shutil

    copies = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", copies,
                    ignore=shutil.ignore_patterns("alliance-out"))
    monkeypatch.setattr(__import__(__name__, fromlist=["EXAMPLES"]), "EXAMPLES", copies)
    return copies


@pytest.fixture
def state_file(isolated: Path) -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "designed-alliance" / "state.sqlite"


@pytest.fixture
def cli():
    """Run `alliance …` in-process; returns click's Result (stdout, stderr, exit_code)."""
    from designed_alliance.core.cli import cli as command

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(command, [str(a) for a in args], input=input,
                             catch_exceptions=False)

    return invoke


def alliance_examples() -> list[Path]:
    """The example alliance files; the progress journals beside them are not alliances."""
    return sorted(p for p in EXAMPLES.glob("*.toml") if not p.name.endswith(".progress.toml"))


def example(name: str) -> Path:
    return EXAMPLES / f"{name}.toml"


@contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of `size` mounted at `where`, for full and read-only disk tests; the
    test is skipped where the machine will not mount one (it needs root on Linux)."""
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def household(tmp_path: Path) -> Path:
    """A copy of the household example beside the test's own output: setup writes there."""
    path = tmp_path / "household.toml"
    path.write_text(example("household").read_text())
    return path
