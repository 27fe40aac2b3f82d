"""Requests per setup and per unchanged re-run for each remote target, counted by the
emulators (Google, Graph) or at the client (CalDAV against a real Radicale)."""

from __future__ import annotations

import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "team-project.toml"


def _run(target_name: str, config_text: str, tmp: Path) -> None:
    from designed_alliance.core.config import load_config
    from designed_alliance.core.load import load
    from designed_alliance.core.run import apply_plan, desired, make_plan, make_targets
    from designed_alliance.core.state import State
    from designed_alliance.core.target import Options

    config_path = tmp / f"{target_name}.toml"
    config_path.write_text(config_text)
    config = load_config(config_path, explicit=True)
    alliance = load(EXAMPLE)
    state = State(tmp / f"{target_name}-state.sqlite")
    targets = make_targets([target_name], config, Options(out_dir=tmp / "out"))
    for target in targets:
        target.check_ready()
    want = desired(alliance, config)
    plan = make_plan(alliance, want, targets, state, reconcile=True)
    apply_plan(alliance, want, plan, targets, state)
    state.close()


def measure() -> list[tuple[str, str, str]]:
    from tests.emulators.google_emu import GoogleEmulator, GoogleServer
    from tests.emulators.graph_emu import GraphEmulator, GraphServer

    rows = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        google = GoogleEmulator()
        server = GoogleServer(google)
        config = (f'[google]\napi_root = "{google.base_url}"\n'
                  "access_token_command = 'echo test-token'\n")
        _run("google", config, tmp)
        fresh = google.http_calls
        google.reset_log()
        _run("google", config, tmp)
        rows.append(("google: HTTP requests fresh / unchanged", f"{fresh} / {google.http_calls}",
                     ""))
        server.close()

        graph = GraphEmulator()
        server = GraphServer(graph)
        config = (f'[outlook]\ngraph_root = "{graph.base_url}"\n'
                  "access_token_command = 'echo graph-token'\n")
        _run("outlook", config, tmp)
        fresh = graph.http_calls
        graph.reset_log()
        _run("outlook", config, tmp)
        rows.append(("outlook: HTTP requests fresh / unchanged",
                     f"{fresh} / {graph.http_calls}", ""))
        server.close()

        rows.append(_caldav(tmp))
    return rows


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
        return ("caldav: HTTP requests fresh / unchanged", f"{fresh} / {calls['n']}", "")
    finally:
        server.stop()
