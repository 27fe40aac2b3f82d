"""Benchmarks: one table of figures, each a ratio against a baseline measured in the same run.

    python bench/run.py           # full figures (for closing notes)
    python bench/run.py --quick   # a smoke run for CI, so the suite cannot rot

Rows:
- startup: `alliance --help` vs `python -c pass` (median wall time of N cold processes)
- setup: `alliance setup <example>` (ics + eml into a temp folder) vs `python -c pass`
- bulk: N generated alliances set up in one process: ms per alliance, peak RSS after
  N/10 and after N alliances (memory must stay flat: state is on disk, not in memory)
- remote: HTTP requests per fresh setup and per unchanged re-run, counted by the emulators
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _timed(cmd: list[str], env: dict[str, str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def startup_and_setup(runs: int) -> list[tuple[str, str, str]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, XDG_STATE_HOME=f"{tmp}/state", XDG_CONFIG_HOME=f"{tmp}/config")
        base = _timed([sys.executable, "-c", "pass"], env, runs)
        helped = _timed([sys.executable, "-m", "designed_alliance", "--help"], env, runs)
        rows.append(("python -c pass", f"{base * 1000:.1f} ms", "1.0×"))
        rows.append(("alliance --help", f"{helped * 1000:.1f} ms", f"{helped / base:.1f}×"))
        example = str(ROOT / "examples" / "team-project.toml")
        samples = []
        for i in range(runs):
            run_env = dict(env, XDG_STATE_HOME=f"{tmp}/state-{i}")
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "designed_alliance", "setup", example,
                            "--out", f"{tmp}/out-{i}"], env=run_env, check=True,
                           stdout=subprocess.DEVNULL)
            samples.append(time.perf_counter() - start)
        setup = statistics.median(samples)
        rows.append(("alliance setup (ics+eml, fresh)", f"{setup * 1000:.1f} ms",
                     f"{setup / base:.1f}×"))
        rerun = _timed([sys.executable, "-m", "designed_alliance", "setup", example, "--out",
                        f"{tmp}/out-0"], dict(env, XDG_STATE_HOME=f"{tmp}/state-0"), runs)
        rows.append(("alliance setup (unchanged re-run)", f"{rerun * 1000:.1f} ms",
                     f"{rerun / base:.1f}×"))
    return rows


def generated(n: int) -> list[str]:
    text = (ROOT / "examples" / "team-project.toml").read_text()
    out = []
    for i in range(n):
        out.append(text.replace('id = "mobile-app-beta-9q2m"', f'id = "bulk-{i:05d}"')
                   .replace('title = "Mobile app beta"', f'title = "Bulk alliance {i}"')
                   .replace('time = "09:30"', f'time = "{8 + i % 9:02d}:{(i * 5) % 60:02d}"'))
    return out


def bulk(n: int) -> list[tuple[str, str, str]]:
    from designed_alliance.core.config import Config
    from designed_alliance.core.load import loads
    from designed_alliance.core.run import apply_plan, desired, make_plan, make_targets
    from designed_alliance.core.state import State
    from designed_alliance.core.target import Options

    texts = generated(n)
    checkpoints: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        state = State(Path(tmp) / "state.sqlite")
        config = Config()
        start = time.perf_counter()
        for i, text in enumerate(texts, start=1):
            alliance = loads(text, f"bulk-{i}.toml")
            targets = make_targets(["ics", "eml"], config,
                                   Options(out_dir=Path(tmp) / "out" / alliance.id))
            want = desired(alliance, config)
            plan = make_plan(alliance, want, targets, state)
            apply_plan(alliance, want, plan, targets, state)
            if i in (max(1, n // 10), n):
                checkpoints[i] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        elapsed = time.perf_counter() - start
        state.close()
    first, last = sorted(checkpoints)
    return [
        (f"bulk setup, {n} alliances", f"{elapsed / n * 1000:.1f} ms/alliance", ""),
        (f"peak RSS after {first} / {last}", f"{checkpoints[first]:.0f} / "
         f"{checkpoints[last]:.0f} MiB", f"{checkpoints[last] / checkpoints[first]:.2f}×"),
    ]


def remote_requests() -> list[tuple[str, str, str]]:
    try:
        from bench.remote import measure
    except ImportError:
        return []
    return measure()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few runs, small bulk (CI smoke)")
    args = parser.parse_args()
    runs = 3 if args.quick else 15
    rows = startup_and_setup(runs)
    if args.quick:
        rows += bulk(20)
    else:
        rows += bulk(100)
        rows += bulk(1000)
    rows += remote_requests()
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'figure':>24}  {'ratio':>7}")
    for name, figure, ratio in rows:
        print(f"{name:<{width}}  {figure:>24}  {ratio:>7}")


if __name__ == "__main__":
    main()
