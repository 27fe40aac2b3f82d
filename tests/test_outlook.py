"""The outlook target over real HTTP against the Graph emulator."""

from __future__ import annotations

from pathlib import Path

from designed_alliance.core.config import Config
from designed_alliance.core.state import State
from designed_alliance.core.target import Options
from designed_alliance.integrations.outlook.target import (
    OutlookTarget,
)

from . import services
from .conftest import example
from .contract import alliance_from, run
from .services import OUTLOOK
from .services import graph_view as view

outlook_config, slept, config, setup_cli = services.module_helpers(OUTLOOK)


def test_fresh_setup_request_count_and_bodies(cli, tmp_path: Path, graph_emulator,
                                              slept) -> None:
    services.fresh_setup(cli, OUTLOOK, tmp_path, graph_emulator, "team-project")
    events = services.graph_events(graph_emulator)
    checkins = events["checkins"]
    assert checkins["start"] == {"dateTime": "2027-02-01T16:30:00",
                                 "timeZone": "W. Europe Standard Time"}
    assert checkins["recurrence"]["pattern"] == {
        "type": "weekly", "interval": 1, "daysOfWeek": ["monday", "thursday"],
        "firstDayOfWeek": "monday"}
    assert checkins["recurrence"]["range"]["endDate"] == "2027-04-29"
    assert events["commitment:design"]["isAllDay"] is True
    # Signed in as someone else, so the first member is invited too (she used to be dropped)
    assert {a["emailAddress"]["address"] for a in checkins["attendees"]} == {
        "lena@example.org", "tomas@example.org", "mei@example.org"}
    assert all(e.get("transactionId") for e in graph_emulator.events())
    (draft,) = graph_emulator.messages()
    assert draft["subject"] == "Our designed alliance: Mobile app beta"
    assert len(draft["attachments"]) == 7


def test_edit_is_one_patch_and_the_kickoff_draft_made_anew(cli, tmp_path: Path,
                                                          graph_emulator, slept) -> None:
    services.set_up_then_move_checkins(cli, OUTLOOK, tmp_path, graph_emulator, "team-project")
    assert graph_emulator.count("PATCH") == 1
    assert view(graph_emulator)["checkins"].sequence == 1
    subjects = sorted(m["subject"] for m in graph_emulator.messages())
    assert subjects == ["Our designed alliance: Mobile app beta"]  # no second draft
    # Graph cannot patch attachments: the kickoff is made anew and the old one deleted.
    assert graph_emulator.count("POST", "/me/messages") == 1
    assert graph_emulator.count("DELETE", "/me/messages/") == 1






def test_inexpressible_rule_is_refused_at_plan_time(cli, tmp_path: Path, graph_emulator,
                                                    slept) -> None:
    config = outlook_config(tmp_path, graph_emulator)
    path = tmp_path / "a.toml"
    text = example("website-relaunch").read_text()
    path.write_text(text.replace('every = "week"', 'rrule = "FREQ=MONTHLY;BYMONTHDAY=1,15"')
                    .replace('day = "monday"\n', ""))
    for command in ("plan", "setup"):
        result = cli("--config", config, command, path, "--to", "outlook", "--yes"
                     if command == "setup" else "--to=outlook")
        assert result.exit_code == 2, result.output
        assert "checkins.rrule" in result.stderr and "Outlook" in result.stderr
    assert graph_emulator.events() == [] and graph_emulator.http_calls == 0




def test_missing_section_or_credentials_is_one_line_exit_1(cli, tmp_path: Path,
                                                           graph_emulator, state_file) -> None:
    result = cli("setup", example("household"), "--to", "outlook", "--yes")
    assert result.exit_code == 1 and "[outlook]" in result.stderr
    config = outlook_config(tmp_path, graph_emulator, command=None)
    result = cli("--config", config, "setup", example("household"), "--to", "outlook", "--yes")
    assert result.exit_code == 1
    assert "client_id" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    config.write_text(config.read_text() + 'client_id = "11111111-2222-3333-4444-555555555555"\n')
    result = cli("--config", config, "setup", example("household"), "--to", "outlook", "--yes")
    assert result.exit_code == 1 and "alliance auth outlook" in result.stderr
    assert graph_emulator.http_calls == 0 and not state_file.exists()




def test_batches_hold_at_most_twenty(config: Config, graph_emulator, slept,
                                     tmp_path: Path) -> None:
    text = example("website-relaunch").read_text()
    extra = "".join(f'\n[[commitments]]\nid = "c{i}"\nowner = "ana"\nwhat = "Step {i}"\n'
                    f"due = 2027-02-{i + 1:02d}\n" for i in range(25))
    alliance = alliance_from(text.replace("[communication]", extra + "\n[communication]"))
    run(OutlookTarget(config, Options(out_dir=tmp_path)), alliance, State(tmp_path / "s.db"))
    batches = [r for r in graph_emulator.requests if r.path == "/$batch"
               and all("/events" in q["url"] for q in r.body["requests"])]  # not categories
    assert len(batches) == 2
    assert max(len(r.body["requests"]) for r in batches) == 20
    assert len(graph_emulator.events()) == 30
