"""Benchmarks: every figure is a ratio to `python -c pass` measured in the same run.

    python bench/run.py           # full figures (for closing notes)
    python bench/run.py --quick   # CI: a small run that fails when setup stops scaling
    python bench/run.py --small   # only startup, a fresh setup of each example and khal
    python bench/run.py --small --before REV   # and the same setups as of a git revision

How it measures, so the ratios are honest on a shared machine:
- baseline and subject alternate run by run (pass, subject, pass, subject, …), so a burst
  of load from elsewhere lands on both instead of on one block;
- each process is reaped with os.wait4, which gives its own CPU time (user + sys) and peak
  RSS; wall time is taken too. Figures are medians; ratios are median / median;
- one untimed run of each command first, so the compiled-template cache and the OS page
  cache are as warm as a user's second run (a first run ever also compiles templates);
- "fresh" setups get a new state folder and output folder for every run.

Rows:
- startup: `alliance --version`, `alliance --help`
- setup of the team example (fresh, unchanged re-run, after one edit), `check` of it
- setup of 1,000 commitments after one of them was edited (the state and output of the
  unedited file copied for each run, outside the measured process)
- side by side: a fresh setup of the team example, the two floors and `khal new` of one
  weekly event into a local vdir, alternated in one block (pass, setup, floors, khal, …),
  so their ratios are of the same moments. Both tools run as a user installs them: khal
  (not a project dependency) and this tree (a wheel) each in a venv of their own under the
  cache folder, made once per machine from PyPI; this environment's setup is a row beside
  them (--small uses the venvs only when they are already there)
- size sweep: setup of 1, 10, 100, 1,000 commitments and of 2, 20, 200 members, with the
  fitted growth exponent (log-log slope: 1.0 is linear) over all sizes and over the last step
- check of 2,000 commitments; peak RSS of setup(1,000)
- bulk: N generated alliances set up in one process (ms per alliance, RSS stays flat)
- remote: HTTP requests per fresh setup and per unchanged re-run (bench/remote.py)
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generate import alliance_text  # noqa: E402  (needs ROOT on sys.path)

PYTHON = sys.executable
ALLIANCE = [PYTHON, "-m", "designed_alliance"]
EXAMPLE = ROOT / "examples" / "team-project.toml"
# Every example a new user may copy (the journals beside them are not alliance files).
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.toml")
                  if not p.name.endswith(".progress.toml"))
# What a fresh setup cannot go below: only importing what it must use, doing nothing. The
# first is the libraries the project chose for the CLI and the texts; the second adds what
# any setup reads and writes with (TOML, state, digests, zones, rules, atomic files; the
# user folders are core/userdirs.py's, platformdirs is not loaded on Linux).
# Each ends as the `alliance` script ends, without the interpreter's teardown (os._exit).
FLOORS = [
    ("floor 1: import click, jinja2", "import click, jinja2, os; os._exit(0)"),
    ("floor 2: + tomllib, sqlite3, zoneinfo, …",
     "import click, jinja2, tomllib, sqlite3, hashlib, zoneinfo, dateutil.rrule, tempfile, os; "
     "os._exit(0)"),
]
# setup(1,000) / setup(100) above this fails --quick: linear would be ≈ 5–6 once startup is
# counted, the cubic code this guards against was ≈ 56.
GROWTH_GUARD = 10.0


@dataclass(frozen=True)
class Sample:
    cpu: float  # seconds of user + system time of the child
    wall: float
    rss_mib: float


@dataclass(frozen=True)
class Figure:
    name: str
    base_cpu: float
    base_wall: float
    cpu: float
    wall: float
    rss_mib: float
    goal: float | None = None  # the CPU ratio to stay under, when there is one

    @property
    def cpu_ratio(self) -> float:
        return self.cpu / self.base_cpu

    @property
    def wall_ratio(self) -> float:
        return self.wall / self.base_wall


def run_once(cmd: list[str], env: dict[str, str]) -> Sample:
    """One process: its CPU time and peak RSS from wait4, wall time around it."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if proc.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"bench: {' '.join(cmd)} exited {proc.returncode}:\n"
                             f"{errors.read().decode(errors='replace')}")
    return Sample(usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024)


Subject = Callable[[int], tuple[list[str], dict[str, str]]]


def compare(name: str, subject: Subject, base_env: dict[str, str], runs: int,
            goal: float | None = None) -> Figure:
    """Median CPU and wall of `subject` and of `python -c pass`, alternating run by run.

    `subject(i)` gives the command and environment of run i (i = -1 is the warm-up)."""
    return compare_many({name: (subject, goal)}, base_env, runs)[0]


def compare_many(subjects: dict[str, tuple[Subject, float | None]], base_env: dict[str, str],
                 runs: int) -> list[Figure]:
    """`compare` of several subjects in one block: each run is the baseline, then every
    subject in turn, so a figure of one is read beside the others' at the same moment
    (this machine's speed drifts by a third over minutes)."""
    baseline = [PYTHON, "-c", "pass"]
    run_once(baseline, base_env)
    for subject, _ in subjects.values():
        run_once(*subject(-1))
    bases: list[Sample] = []
    samples: dict[str, list[Sample]] = {name: [] for name in subjects}
    for i in range(runs):
        bases.append(run_once(baseline, base_env))
        for name, (subject, _) in subjects.items():
            samples[name].append(run_once(*subject(i)))
    base_cpu = statistics.median(s.cpu for s in bases)
    base_wall = statistics.median(s.wall for s in bases)
    return [Figure(name, base_cpu, base_wall, statistics.median(s.cpu for s in samples[name]),
                   statistics.median(s.wall for s in samples[name]),
                   max(s.rss_mib for s in samples[name]), goal)
            for name, (_, goal) in subjects.items()]


class Bench:
    """Commands of the benchmark, each in its own folders under one temporary root."""

    def __init__(self, root: Path, runs: int) -> None:
        self.root = root
        self.runs = runs
        self.env = dict(os.environ, XDG_STATE_HOME=str(root / "state"),
                        XDG_CONFIG_HOME=str(root / "config"),
                        XDG_CACHE_HOME=str(root / "cache"))
        self.env.pop("ALLIANCE_STATE", None)
        self.env.pop("ALLIANCE_CONFIG", None)
        self._count = 0

    def _fresh(self) -> Path:
        self._count += 1
        folder = self.root / f"run-{self._count}"
        folder.mkdir()
        return folder

    def file(self, name: str, text: str) -> Path:
        path = self.root / name
        path.write_text(text)
        return path

    def command(self, name: str, args: list[str], goal: float | None = None, *,
                python: bool = False) -> Figure:
        """`alliance ARGS` (or `python ARGS` with `python`)."""
        cmd = [PYTHON, *args] if python else [*ALLIANCE, *args]
        return compare(name, lambda i: (cmd, self.env), self.env, self.runs, goal)

    def setup_fresh(self, name: str, file: Path, goal: float | None = None,
                    extra_env: dict[str, str] | None = None) -> Figure:
        return compare(name, self._fresh_setup(file, extra_env), self.env, self.runs, goal)

    def setup_rerun(self, name: str, file: Path) -> Figure:
        folder = self._fresh()
        env = dict(self.env, XDG_STATE_HOME=str(folder / "state"))
        cmd = [*ALLIANCE, "setup", str(file), "--yes", "--out", str(folder / "out")]
        run_once(cmd, env)
        return compare(name, lambda i: (cmd, env), self.env, self.runs)

    def setup_after_edit(self, name: str, before: Path, after: Path) -> Figure:
        """`after` set up over the state and output `before` left. State records the output
        folder by its path, so every run restores both to the same place (copied here,
        outside the measured process) instead of a new folder: a new one would be a new
        target, and the run a fresh setup."""
        home = self._fresh()
        pristine, work = home / "pristine", home / "work"
        cmd = [*ALLIANCE, "setup", str(before), "--yes", "--out", str(work / "out")]
        env = dict(self.env, XDG_STATE_HOME=str(work / "state"))
        run_once(cmd, env)
        shutil.copytree(work, pristine)

        def subject(i: int) -> tuple[list[str], dict[str, str]]:
            shutil.rmtree(work)
            shutil.copytree(pristine, work)
            return [*ALLIANCE, "setup", str(after), "--yes", "--out", str(work / "out")], env

        return compare(name, subject, self.env, self.runs)

    def _fresh_setup(self, file: Path, extra_env: dict[str, str] | None = None,
                     command: list[str] = ALLIANCE) -> Subject:
        def subject(i: int) -> tuple[list[str], dict[str, str]]:
            folder = self._fresh()
            env = dict(self.env, XDG_STATE_HOME=str(folder / "state"), **(extra_env or {}))
            return [*command, "setup", str(file), "--yes", "--out", str(folder / "out")], env

        return subject

    def side_by_side(self, install: bool) -> tuple[list[Figure], bool]:
        """A fresh setup of the team example, the floors and one `khal new`, alternated in
        one block, and whether khal was there (without it: the setup and the floors).

        The goal's setup is the tree installed as pipx installs it (`as_installed`): a venv
        of its own, a wheel, compiled modules — as khal is, so both pay the same
        interpreter start. The floors run in that venv too. This environment's setup is
        measured beside them: an editable install here loads its import finder and every
        .pth file of the site into each process, which no installed user pays."""
        khal = find_khal()
        if khal is None and install:
            khal = install_khal()
        installed = as_installed(install)

        def khal_new(i: int) -> tuple[list[str], dict[str, str]]:
            folder = self._fresh()
            (folder / "vdir").mkdir()
            config = folder / "khal.conf"
            config.write_text(KHAL_CONFIG.format(vdir=folder / "vdir"))
            env = dict(self.env, XDG_DATA_HOME=str(folder / "data"))
            return [str(khal), "-c", str(config), "new", "-a", "bench", "-r", "weekly", "-u",
                    "2027-04-30", "2027-02-01", "09:30", "10:00", "Check-in"], env

        python = str(installed / "python") if installed else PYTHON

        def floor(code: str) -> Subject:
            return lambda i: ([python, "-c", code], self.env)

        subjects: dict[str, tuple[Subject, float | None]] = {}
        if installed is not None:
            # A cache folder of its own: the caches hold one install's answers (its
            # icalendar's, say), and two installs sharing one would rewrite them every run.
            subjects[SIDE_INSTALLED] = (self._fresh_setup(
                EXAMPLE, {"XDG_CACHE_HOME": str(self.root / "cache-installed")},
                command=[str(installed / "alliance")]), None)
        subjects[SIDE_HERE] = (self._fresh_setup(EXAMPLE), None)
        for name, code in FLOORS:
            subjects[name] = (floor(code), None)
        if khal is not None:
            subjects[SIDE_KHAL] = (khal_new, None)
        # At least 9 runs even in --quick: one round is about a second, and with CI's 3
        # runs the same tree read 0.44 and 0.54 on two clones.
        return compare_many(subjects, self.env, max(self.runs, 9)), khal is not None


SIDE_INSTALLED = "setup, team example (installed, side by side)"
SIDE_HERE = "setup, team example (this env, side by side)"
SIDE_KHAL = "khal new (one weekly event, local vdir)"


def khal_notes(block: list[Figure]) -> list[str]:
    """The side-by-side block's ratios to one `khal new` (all measured in the same runs)."""
    rows = {f.name: f for f in block}
    khal = rows[SIDE_KHAL]
    notes = []
    for name, label in ((SIDE_INSTALLED, "setup of the team example, installed as pipx "
                         "does, / one khal new, alternated"),
                        (SIDE_HERE, "the same setup in this environment / one khal new")):
        if name in rows:
            setup = rows[name]
            goal = " (goal ≤ 0.5)" if name == SIDE_INSTALLED else ""
            notes.append(f"{label}: CPU {setup.cpu / khal.cpu:.2f}, "
                         f"wall {setup.wall / khal.wall:.2f}{goal}")
    if SIDE_INSTALLED not in rows:
        notes.append(f"(no installed setup: {installed_venv()} is not made yet or could not "
                     "be; --quick and the full bench make it)")
    for floor in (f for f in block if f.name.startswith("floor")):
        notes.append(f"{floor.name.split(':')[0]} / one khal new: CPU "
                     f"{floor.cpu / khal.cpu:.2f} (a setup cannot cost less)")
    return notes


def tree_at(rev: str, root: Path) -> Path:
    """An import path holding the package as it was at git revision `rev` (the same
    package-dir layout as pyproject.toml), byte-compiled, for before/after rows: put on
    PYTHONPATH it comes before the editable install of the work tree."""
    import io
    import tarfile

    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True,
                             check=True).stdout
    source = root / f"tree-{rev}"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(source, filter="data")
    path = root / f"path-{rev}"
    package = path / "designed_alliance"
    shutil.copytree(source / "package", package)
    for folder in ("core", "integrations", "templates"):
        (package / folder).symlink_to(source / folder)
    import compileall

    # compile_dir does not follow the linked folders: compile them where they are, or every
    # run of the old tree would compile its modules from source (PYTHONDONTWRITEBYTECODE)
    compileall.compile_dir(str(path), quiet=1)
    for folder in ("core", "integrations", "templates"):
        compileall.compile_dir(str(source / folder), quiet=1)
    return path


def _bench_folder() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "designed-alliance-bench"


def khal_venv() -> Path:
    """Where the bench keeps its own khal: a venv under the user's cache folder (khal is not
    a project dependency, and its dependencies must not mix with ours)."""
    return _bench_folder() / "khal-venv"


def installed_venv() -> Path:
    return _bench_folder() / "alliance-venv"


def as_installed(install: bool) -> Path | None:
    """The bin folder of a venv holding this work tree as pipx installs it: the project's
    dependencies from PyPI (once, when `install`), then a wheel of the tree, byte-compiled
    by pip, for this run. Built from a copy, so that no `build/` folder left in the tree
    from an earlier build adds modules the tree no longer has. None when it cannot be made:
    the side-by-side block is then measured in this environment alone."""
    import tomllib

    venv = installed_venv()
    pip = venv / "bin" / "pip"
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "dependencies"]
    try:
        if not pip.exists():
            if not install:
                return None
            print(f"bench: making {venv} (once) ...", file=sys.stderr)
            _quietly(sys.executable, "-m", "venv", venv)
        # Already satisfied after the first run: pip answers from the venv, offline.
        _quietly(pip, "install", "-q", "setuptools>=68", "wheel", *dependencies)
        with tempfile.TemporaryDirectory(prefix="alliance-bench-tree-") as copy:
            tree = Path(copy) / "tree"
            shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(
                ".git", "build", "dist", "*.egg-info", "node_modules", "__pycache__",
                "alliance-out", ".*_cache", ".hypothesis"))
            _quietly(pip, "install", "-q", "--no-deps", "--no-build-isolation",
                     "--force-reinstall", tree)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"bench: {venv} could not be made or updated ({exc})", file=sys.stderr)
        return None
    return venv / "bin"


def find_khal() -> str | None:
    for folder in (Path(PYTHON).parent, khal_venv() / "bin"):
        found = shutil.which("khal", path=str(folder))
        if found:
            return found
    return shutil.which("khal")


def _quietly(*command: str | Path) -> None:
    subprocess.run([str(part) for part in command], stdout=subprocess.DEVNULL, check=True)


def install_khal() -> str | None:
    """pip install khal (PyPI) into `khal_venv()`; None (the row is skipped) when that fails."""
    venv = khal_venv()
    print(f"bench: installing khal into {venv} (once) ...", file=sys.stderr)
    try:
        _quietly(sys.executable, "-m", "venv", venv)
        _quietly(venv / "bin" / "pip", "install", "-q", "khal")
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"bench: khal could not be installed ({exc}); its row is skipped",
              file=sys.stderr)
        return None
    return shutil.which("khal", path=str(venv / "bin"))


KHAL_CONFIG = """\
[calendars]
[[bench]]
path = {vdir}
type = calendar
[locale]
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%d %H:%M
longdatetimeformat = %Y-%m-%d %H:%M
default_timezone = Europe/Berlin
local_timezone = Europe/Berlin
[default]
default_calendar = bench
"""


def slope(sizes: list[int], figures: list[Figure]) -> tuple[float, float]:
    """Least-squares log-log slope of CPU over all sizes, and the slope of the last step."""
    xs = [math.log(n) for n in sizes]
    ys = [math.log(f.cpu) for f in figures]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    fitted = (sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
              / sum((x - mx) ** 2 for x in xs))
    last = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    return fitted, last


def sweep(bench: Bench, label: str, sizes: list[int],
          text: Callable[[int], str], goals: dict[int, float]) -> tuple[list[Figure], str]:
    figures = []
    for n in sizes:
        path = bench.file(f"{label}-{n}.toml", text(n))
        figures.append(bench.setup_fresh(f"setup, {n} {label}", path, goals.get(n)))
    fitted, last = slope(sizes, figures)
    note = (f"growth exponent of setup CPU in {label}: {fitted:.2f} fitted over "
            f"{', '.join(map(str, sizes))}; {last:.2f} from {sizes[-2]} to {sizes[-1]}")
    return figures, note


def bulk(n: int) -> list[str]:
    from designed_alliance.core.config import Config
    from designed_alliance.core.load import loads
    from designed_alliance.core.run import apply_plan, desired, make_plan, make_targets
    from designed_alliance.core.state import State
    from designed_alliance.core.target import Options

    checkpoints: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        state = State(Path(tmp) / "state.sqlite")
        config = Config()
        start = time.process_time()
        for i in range(1, n + 1):
            alliance = loads(alliance_text(4, 3, alliance_id=f"bulk-{i:05d}"), f"bulk-{i}.toml")
            targets = make_targets(["ics", "eml"], config,
                                   Options(out_dir=Path(tmp) / "out" / alliance.id))
            want = desired(alliance, config)
            plan = make_plan(alliance, want, targets, state)
            apply_plan(alliance, want, plan, targets, state)
            if i in (max(1, n // 10), n):
                checkpoints[i] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        elapsed = time.process_time() - start
        state.close()
    first, last = sorted(checkpoints)
    return [f"bulk setup in one process, {n} alliances: {elapsed / n * 1000:.1f} ms CPU per "
            f"alliance; peak RSS after {first} / {last}: {checkpoints[first]:.0f} / "
            f"{checkpoints[last]:.0f} MiB"]


def remote_requests() -> list[str]:
    try:
        from bench.remote import measure
    except ImportError:
        return []
    return [f"{name}: {figure}" for name, figure, _ in measure()]


def table(figures: list[Figure]) -> str:
    head = (f"{'benchmark':<44} {'CPU ms':>9} {'wall ms':>9} {'CPU ×':>7} {'wall ×':>7} "
            f"{'RSS MiB':>8} {'goal':>9}")
    lines = [head, "-" * len(head)]
    base_cpu = statistics.median(f.base_cpu for f in figures)
    base_wall = statistics.median(f.base_wall for f in figures)
    lines.append(f"{'python -c pass (median of all baselines)':<44} {base_cpu * 1000:>9.1f} "
                 f"{base_wall * 1000:>9.1f} {'1.0':>7} {'1.0':>7} {'':>8} {'':>9}")
    for f in figures:
        goal = ""
        if f.goal is not None:
            goal = f"≤{f.goal:g} " + ("ok" if f.cpu_ratio <= f.goal else "OVER")
        lines.append(f"{f.name:<44} {f.cpu * 1000:>9.1f} {f.wall * 1000:>9.1f} "
                     f"{f.cpu_ratio:>7.1f} {f.wall_ratio:>7.1f} {f.rss_mib:>8.0f} {goal:>9}")
    return "\n".join(lines)


def precompile() -> None:
    """Byte-compile the package, as `pip install` of the wheel does. An editable install
    under PYTHONDONTWRITEBYTECODE (set on this machine) would otherwise recompile every
    module on every run — a cost no installed user pays."""
    import compileall

    root = Path(__file__).resolve().parent.parent
    for folder in ("package", "core", "integrations", "templates"):
        compileall.compile_dir(str(root / folder), quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="few runs and sizes; exit 1 when setup(1,000)/setup(100) > "
                        f"{GROWTH_GUARD:g} (CI)")
    parser.add_argument("--small", action="store_true",
                        help="only the small end: startup, a fresh setup of each example, "
                        "khal (when already installed)")
    parser.add_argument("--before", metavar="REV",
                        help="with --small: also each setup row as of git revision REV, "
                        "measured the same way in the same run")
    parser.add_argument("--runs", type=int, help="runs per figure (default 3 quick, 11 full)")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 11)
    precompile()
    figures: list[Figure] = []
    notes: list[str] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="alliance-bench-") as name:
        bench = Bench(Path(name), runs)
        figures.append(bench.command("alliance --version", ["--version"]))
        figures.append(bench.command("alliance --help", ["--help"], goal=2.5))
        fresh = bench.setup_fresh("setup, team example (ics+eml, fresh)", EXAMPLE, goal=5)
        figures.append(fresh)
        if args.small:
            for path in EXAMPLES:
                if path != EXAMPLE:
                    figures.append(bench.setup_fresh(f"setup, {path.stem} (fresh)", path,
                                                     goal=5))
            if args.before:
                old = {"PYTHONPATH": str(tree_at(args.before, Path(name)))}
                for path in EXAMPLES:
                    figures.append(bench.setup_fresh(f"  the same as of {args.before[:10]}, "
                                                     f"{path.stem}", path, extra_env=old))
            block, with_khal = bench.side_by_side(install=False)
            figures += block
            if with_khal:
                notes += khal_notes(block)
            print(table(figures))
            print()
            for note in notes:
                print(note)
            return
        if not args.quick:
            figures.append(bench.setup_rerun("setup, team example (unchanged re-run)",
                                             EXAMPLE))
            edited = bench.file("team-edited.toml", EXAMPLE.read_text().replace(
                '"Build onboarding and main screens"', '"Build the onboarding"'))
            figures.append(bench.setup_after_edit(
                "setup, team example (one commitment edited)", EXAMPLE, edited))
            figures.append(bench.command("check, team example", ["check", str(EXAMPLE)]))
        # khal and the installed tree each get a venv of their own, made once per machine
        # (PyPI); CI's --quick makes them too, as the goal is read from them.
        block, with_khal = bench.side_by_side(install=True)
        figures += block
        if with_khal:
            notes += khal_notes(block)
        else:
            notes.append(f"khal could not be installed into {khal_venv()}: its row is "
                         "skipped")
        sizes = [100, 1000] if args.quick else [1, 10, 100, 1000]
        swept, note = sweep(bench, "commitments", sizes, lambda n: alliance_text(n, 3),
                            {1000: 40})
        figures += swept
        notes.append(note)
        if not args.quick:
            text = alliance_text(1000, 3)
            one_edit = text.replace('"Deliverable number 500"', '"Deliverable 500, edited"')
            edit = bench.setup_after_edit(
                "setup, 1000 commitments, one of them edited",
                bench.file("commitments-1000-before.toml", text),
                bench.file("commitments-1000-edited.toml", one_edit))
            figures.append(edit)
            notes.append(f"after one edit / fresh, 1000 commitments: CPU "
                         f"{edit.cpu / swept[-1].cpu:.2f} (renders that commitment, the one "
                         "waiting on it and the kickoff)")
        growth = swept[-1].cpu / swept[-2].cpu
        notes.append(f"setup(1000)/setup(100) CPU: {growth:.1f} (goal ≤ 6; --quick fails "
                     f"above {GROWTH_GUARD:g}); peak RSS of setup(1000): "
                     f"{swept[-1].rss_mib:.0f} MiB (goal ≤ 80)")
        if growth > GROWTH_GUARD:
            failed = True
            notes.append(f"FAIL: setup grows {growth:.1f}× from 100 to 1,000 commitments")
        if not args.quick:
            swept, note = sweep(bench, "members", [2, 20, 200],
                                lambda n: alliance_text(4, n), {200: 25})
            figures += swept
            notes.append(note)
            big = bench.file("check-2000.toml", alliance_text(2000, 3))
            figures.append(bench.command("check, 2000 commitments", ["check", str(big)],
                                         goal=15))
    print(table(figures))
    print()
    for note in notes:
        print(note)
    for line in bulk(20 if args.quick else 200) + remote_requests():
        print(line)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
