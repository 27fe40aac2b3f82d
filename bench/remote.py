"""Requests per setup and per unchanged re-run for each remote target, counted by the
emulators (Google, Graph) or at the client (CalDAV against a real Radicale).

Two counts for Google and Graph: HTTP requests (what the network sees: a batch is one) and
API calls (each operation inside a batch too), because provider quotas count API calls.
They are measured for the team example and for a generated alliance of 100 commitments,
so docs/scaling.md can give calls per alliance as a function of its size."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "team-project.toml"


def _run(target_name: str, config_text: str, tmp: Path, file: Path = EXAMPLE) -> None:
    from designed_alliance.core.config import load_config
    from designed_alliance.core.load import load
    from designed_alliance.core.run import apply_plan, desired, make_plan, make_targets
    from designed_alliance.core.state import State
    from designed_alliance.core.target import Options

    config_path = tmp / f"{target_name}.toml"
    config_path.write_text(config_text)
    config = load_config(config_path, explicit=True)
    alliance = load(file)
    state = State(tmp / f"{target_name}-{file.stem}-state.sqlite")
    targets = make_targets([target_name], config, Options(out_dir=tmp / "out"))
    for target in targets:
        target.check_ready()
    want = desired(alliance, config)
    plan = make_plan(alliance, want, targets, state, reconcile=True)
    apply_plan(alliance, want, plan, targets, state)
    state.close()


def measure() -> list[tuple[str, str, str]]:
    from bench.generate import alliance_text
    from tests.emulators.google_emu import GoogleEmulator, GoogleServer
    from tests.emulators.graph_emu import GraphEmulator, GraphServer

    rows = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        big = tmp / "commitments-100.toml"
        big.write_text(alliance_text(100, 3, alliance_id="remote-100"))
        for file, label in ((EXAMPLE, "team example"), (big, "100 commitments")):
            google = GoogleEmulator()
            server = GoogleServer(google)
            config = (f'[google]\napi_root = "{google.base_url}"\n'
                      "access_token_command = 'echo test-token'\n")
            rows.append(_counted("google", label, google, lambda c=config, f=file: _run(
                "google", c, tmp, f)))
            server.close()

            graph = GraphEmulator()
            server = GraphServer(graph)
            config = (f'[outlook]\ngraph_root = "{graph.base_url}"\n'
                      "access_token_command = 'echo graph-token'\n")
            rows.append(_counted("outlook", label, graph, lambda c=config, f=file: _run(
                "outlook", c, tmp, f)))
            server.close()

        rows.append(_caldav(tmp))
    return rows


def _counted(target: str, label: str, emulator: Any, run: Callable[[], None]
             ) -> tuple[str, str, str]:
    """Run a fresh setup, then an unchanged one: HTTP requests and API calls of each."""
    run()
    fresh = (emulator.http_calls, len(emulator.requests))
    emulator.reset_log()
    run()
    again = (emulator.http_calls, len(emulator.requests))
    return (f"{target}, {label}: HTTP requests / API calls, fresh; unchanged",
            f"{fresh[0]} / {fresh[1]}; {again[0]} / {again[1]}", "")


def _caldav(tmp: Path) -> tuple[str, str, str]:
    import os

    import caldav

    from tests.servers.local import RadicaleServer

    (tmp / "radicale-root").mkdir(exist_ok=True)
    server = RadicaleServer(tmp / "radicale-root")
    server.start()
    try:
        server.mkcalendar()
        os.environ["ALLIANCE_BENCH_DAV"] = server.password
        config = (f'[caldav]\nurl = "{server.calendar_url}"\nusername = "{server.username}"\n'
                  'password_env = "ALLIANCE_BENCH_DAV"\n')
        calls = {"n": 0}
        original = caldav.DAVClient.request

        def counting(self, *args, **kwargs):
            calls["n"] += 1
            return original(self, *args, **kwargs)

        caldav.DAVClient.request = counting
        try:
            _run("caldav", config, tmp)
            fresh = calls["n"]
            calls["n"] = 0
            _run("caldav", config, tmp)
        finally:
            caldav.DAVClient.request = original
        return ("caldav, team example: HTTP requests, fresh; unchanged",
                f"{fresh}; {calls['n']}", "")
    finally:
        server.stop()
