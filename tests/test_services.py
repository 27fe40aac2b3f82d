"""What Google and Outlook share, written once and run against both emulators: the target
contract, lost state, Retry-After, seeded faults, and a refused token."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from designed_alliance.core.config import load_config
from designed_alliance.core.state import State
from designed_alliance.core.target import Options

from . import services
from .conftest import example
from .contract import EVENT_KEYS, TargetContract, alliance_from, run
from .services import GOOGLE, OUTLOOK, Mail, Service, both_services

service, emulator = both_services()


@pytest.fixture
def slept(service: Service, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff waits are recorded, not slept: the tests stay fast and can check them."""
    waits: list[float] = []
    monkeypatch.setattr(service.target, "sleep", staticmethod(waits.append))
    return waits


class ServiceContract(TargetContract):
    svc: Service

    @pytest.fixture
    def target(self, tmp_path: Path, request, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.setattr(self.svc.target, "sleep", staticmethod(lambda seconds: None))
        emulator = request.getfixturevalue(self.svc.emulator)
        config = load_config(self.svc.config(tmp_path, emulator), explicit=True)
        return self.svc.target(config, Options(out_dir=tmp_path))

    @pytest.fixture
    def remote(self, request):
        emulator = request.getfixturevalue(self.svc.emulator)
        return lambda: self.svc.view(emulator)


class TestGoogleContract(ServiceContract):
    svc = GOOGLE


class TestOutlookContract(ServiceContract):
    svc = OUTLOOK


def test_lost_state_creates_nothing_new(cli, tmp_path: Path, service: Service, emulator,
                                        slept, state_file: Path) -> None:
    config = service.config(tmp_path, emulator)
    args = ("--config", config, "setup", example("website-relaunch"), "--to", service.name,
            "--yes")
    assert cli(*args).exit_code == 0
    before = service.view(emulator)
    state_file.unlink()
    emulator.reset_log()
    result = cli(*args)
    assert result.exit_code == 0, result.output
    for method, path in service.creates:
        assert emulator.count(method, path) == 0, (method, path)
    assert service.view(emulator) == before
    assert len(service.drafts(emulator)) == 1


def test_retry_after_is_honoured(service: Service, emulator, slept, tmp_path: Path) -> None:
    emulator.faults.push(status=429, retry_after="7", path_contains=service.batch_fault)
    config = load_config(service.config(tmp_path, emulator), explicit=True)
    run(service.target(config, Options(out_dir=tmp_path)), alliance_from(),
        State(tmp_path / "s.sqlite"))
    assert slept and slept[0] >= 7
    assert set(service.view(emulator)) == EVENT_KEYS


@pytest.mark.parametrize("seed", range(100))
def test_seeded_faults_end_in_exactly_the_expected_state(seed: int, service: Service,
                                                         emulator, slept,
                                                         tmp_path: Path) -> None:
    config = load_config(service.config(tmp_path, emulator), explicit=True)
    emulator.faults.random(rate=0.2, seed=seed)
    state = State(tmp_path / "state.sqlite")
    alliance = alliance_from()
    rng = random.Random(seed)
    for attempt in range(10):  # the documented recovery: run the same command again
        try:
            run(service.target(config, Options(out_dir=tmp_path)), alliance, state)
            break
        except Exception:
            if rng.random() < 0.5:
                state.close()
                state = State(tmp_path / f"lost-{attempt}.sqlite")  # and sometimes lose state
    else:
        pytest.fail("did not converge in 10 runs")
    emulator.faults.clear()
    found = service.view(emulator)
    assert set(found) == EVENT_KEYS
    assert {v.status for v in found.values()} == {"active"}
    assert len(emulator.events()) == len(EVENT_KEYS)
    assert len(service.drafts(emulator)) == 1


def test_refused_token_says_run_auth(cli, tmp_path: Path, service: Service, emulator, slept,
                                     state_file: Path) -> None:
    config = service.config(tmp_path, emulator, command="echo not-the-token")
    if service is GOOGLE:
        emulator.revoked_tokens.add("not-the-token")
    result = cli("--config", config, "setup", example("household"), "--to", service.name,
                 "--yes")
    assert result.exit_code == 1
    assert f"alliance auth {service.name}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not-the-token" not in result.output + result.stderr
    assert emulator.events() == []


def _members(service: Service, emulator) -> dict[str, set[str]]:
    """Attendee addresses per event key, read from the emulator's own store."""
    from .services import google_events, graph_events

    if service is GOOGLE:
        return {k: {a["email"] for a in e.get("attendees", [])}
                for k, e in google_events(emulator).items()}
    return {k: {a["emailAddress"]["address"] for a in e["attendees"]}
            for k, e in graph_events(emulator).items()}


TEAM = {"lena@example.org", "tomas@example.org", "mei@example.org"}


def test_an_organizer_who_is_not_a_member_invites_every_member(
        cli, tmp_path: Path, service: Service, emulator, slept) -> None:
    emulator.account = "coach@elsewhere.example"
    config = service.config(tmp_path, emulator)
    offline = cli("--config", config, "plan", example("team-project"), "--to", service.name)
    assert offline.exit_code == 0, offline.output
    assert "organizer: the signed-in account (read at setup)" in offline.output
    assert emulator.http_calls == 0  # plan stays offline
    result = cli("--config", config, "setup", example("team-project"), "--to", service.name,
                 "--yes")
    assert result.exit_code == 0, result.output
    assert ("organizer: coach@elsewhere.example, the signed-in "
            f"{service.name} account — not a member") in result.output
    attendees = _members(service, emulator)
    assert attendees and all(found == TEAM for found in attendees.values()), attendees
    assert {a for a, what in service.notified(emulator) if what == "invite"} == TEAM


def test_a_member_signed_in_is_left_out_of_the_attendees_only(
        cli, tmp_path: Path, service: Service, emulator, slept) -> None:
    emulator.account = "Tomas@Example.org"  # not the first member; case differs
    config = service.config(tmp_path, emulator)
    result = cli("--config", config, "setup", example("team-project"), "--to", service.name,
                 "--yes")
    assert result.exit_code == 0, result.output
    assert "a member (Tomás Ferreira), not invited to its own events" in result.output
    attendees = _members(service, emulator)
    assert attendees and all(found == TEAM - {"tomas@example.org"}
                             for found in attendees.values()), attendees
    assert {a for a, _ in service.notified(emulator)} == TEAM - {"tomas@example.org"}


def test_notify_none_is_honoured_or_refused(cli, tmp_path: Path, service: Service, emulator,
                                            slept, state_file: Path) -> None:
    config = service.config(tmp_path, emulator)
    result = cli("--config", config, "setup", example("team-project"), "--to", service.name,
                 "--yes", "--notify", "none")
    if service is GOOGLE:
        assert result.exit_code == 0, result.output
        assert "invitations: none — Google is told to send nothing" in result.output
        assert len(emulator.events()) == 7 and emulator.notified == []
    else:  # Graph mails every attendee of what it writes: refused before anything is written
        assert result.exit_code == 2
        assert "--notify" in result.stderr and "--notify all" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert emulator.events() == [] and emulator.notified == []
        assert not state_file.exists()
        plan = cli("--config", config, "plan", example("team-project"), "--to", service.name)
        assert "invitations: Outlook (Microsoft Graph) sends them" in plan.output


def _checkin_start(mail) -> str:
    for calendar in mail.invites:
        for event in calendar.walk("VEVENT"):
            if str(event["UID"]).startswith("checkins."):
                return event.decoded("DTSTART").strftime("%H:%M")
    raise AssertionError("no check-in invite attached")


def test_an_edit_while_the_kickoff_is_unsent_rewrites_it_and_drafts_nothing_else(
        cli, tmp_path: Path, service: Service, emulator, slept) -> None:
    from .services import drafts_of, set_up_then_move_checkins

    set_up_then_move_checkins(cli, service, tmp_path, emulator, "website-relaunch")
    (kickoff,) = drafts_of(service, emulator)
    assert kickoff.subject == "Our designed alliance: Website relaunch"
    assert _checkin_start(kickoff) == "10:00"  # its invites say what changed


def _set_up_and_send_the_kickoff(cli, tmp_path: Path, service: Service, emulator
                                 ) -> tuple[Path, tuple, tuple[str, Mail]]:
    """A setup, then the user sends the kickoff draft: (alliance file, setup args, sent)."""
    from .services import drafts_of, send_the_draft, sent_of

    config = service.config(tmp_path, emulator)
    path = tmp_path / "a.toml"
    path.write_text(example("website-relaunch").read_text())
    args = ("--config", config, "setup", path, "--to", service.name, "--yes")
    assert cli(*args).exit_code == 0
    send_the_draft(service, emulator)
    assert drafts_of(service, emulator) == []
    ((anchor, sent),) = sent_of(service, emulator)
    return path, args, (anchor, sent)


def test_once_the_kickoff_was_sent_changes_are_drafted_as_replies_in_its_thread(
        cli, tmp_path: Path, service: Service, emulator, slept) -> None:
    from .services import drafts_of, sent_of

    path, args, (anchor, sent) = _set_up_and_send_the_kickoff(cli, tmp_path, service,
                                                              emulator)
    for n, moved in enumerate(('time = "10:00"', 'time = "10:30"'), start=1):
        path.write_text(path.read_text().replace('time = "09:30"', moved)
                        .replace('time = "10:00"', moved))
        result = cli(*args)
        assert result.exit_code == 0, result.output
        drafts = drafts_of(service, emulator)
        assert len(drafts) == n, [d.subject for d in drafts]
        # The kickoff's subject (a thread joins only on a matching subject), the topic first
        assert {d.subject for d in drafts} == {"Re: Our designed alliance: Website relaunch"}
        assert {d.topic for d in drafts} == {
            "Changes to our designed alliance: Website relaunch"}
        assert all(d.thread == sent.thread for d in drafts)  # in the kickoff's thread
        if service is OUTLOOK:
            assert all(d.replies_to == anchor for d in drafts)  # made with createReply
        assert _checkin_start(drafts[-1]) == moved.split('"')[1]
    assert [m.subject for _, m in sent_of(service, emulator)] == [sent.subject]  # untouched


def test_plan_offline_shows_the_unsent_kickoff_rewritten_not_a_second_draft(
        cli, tmp_path: Path, service: Service, emulator, slept) -> None:
    import json

    config = service.config(tmp_path, emulator)
    path = tmp_path / "a.toml"
    path.write_text(services.review_pinned(example("website-relaunch").read_text()))
    assert cli("--config", config, "setup", path, "--to", service.name, "--yes").exit_code == 0
    path.write_text(path.read_text().replace('time = "09:30"', 'time = "10:00"'))
    emulator.reset_log()
    result = cli("--config", config, "plan", path, "--to", service.name, "--json")
    assert result.exit_code == 0, result.output
    assert emulator.http_calls == 0
    (part,) = json.loads(result.output)["targets"]
    messages = {c["key"]: c["action"] for c in part["changes"] if c["kind"] == "message"}
    assert messages == {"kickoff": "update"}
    told = {c["key"] for c in part["changes"] if c.get("announced_by") == "kickoff"}
    assert told == {"checkins"}  # only what moved; the rest is kept


def test_a_lost_state_after_the_kickoff_was_sent_drafts_no_second_kickoff(
        cli, tmp_path: Path, service: Service, emulator, slept, state_file: Path) -> None:
    from .services import drafts_of

    path, args, (_, sent) = _set_up_and_send_the_kickoff(cli, tmp_path, service, emulator)
    state_file.unlink()
    result = cli(*args)
    assert result.exit_code == 0, result.output
    if service is GOOGLE:
        # gmail.compose may not read sent mail: a kickoff sent by the user cannot be told
        # from one never drafted, so it is drafted again (never sent: a draft the user can
        # delete), and the plan says so (tests/test_gmail_thread.py has the rest).
        assert "if you sent it already, delete the new draft" in result.output
        (again,) = drafts_of(service, emulator)
        assert again.subject == sent.subject and not again.topic.startswith("Changes")
        return
    assert drafts_of(service, emulator) == []  # the sent kickoff was adopted: no second one
    path.write_text(path.read_text().replace('time = "09:30"', 'time = "10:00"'))
    assert cli(*args).exit_code == 0
    (summary,) = drafts_of(service, emulator)
    assert summary.topic.startswith("Changes to")
    assert summary.thread == sent.thread
