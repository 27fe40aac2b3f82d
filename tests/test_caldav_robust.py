"""CalDAV against a real Radicale when things are not where we put them: objects at an href
an app chose, servers that say "deleted" and keep the object, answers of every status.

Ground truth is the server's own answer to REPORT/GET (parsed with ElementTree and
icalendar), never our log or our state.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import icalendar
import pytest

from designed_alliance.core import errors
from designed_alliance.core.config import load_config
from designed_alliance.core.items import item_uid
from designed_alliance.core.target import Options
from designed_alliance.integrations.caldav import CalDavTarget

from .test_caldav_smtp import caldav_config

ALLIANCE_ID = "home-reset-h7w1"
IMPORTED = "imported-by-app.ics"
TAG_PREFIX = "X-DESIGNED-ALLIANCE-"
HOUSEHOLD_EVENTS = 6  # check-ins, review, celebration, three commitments


@pytest.fixture
def dav(tmp_path: Path, radicale, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALLIANCE_TEST_DAV", radicale.password)
    return caldav_config(tmp_path, radicale)


def by_uid(radicale) -> dict[str, tuple[str, icalendar.Event]]:
    """UID → (href name, VEVENT), from the server's REPORT answer."""
    found: dict[str, tuple[str, icalendar.Event]] = {}
    for href, cal in radicale.report().items():
        for event in cal.walk("VEVENT"):
            uid = str(event["UID"])
            assert uid not in found, f"two objects hold {uid}"
            found[uid] = (href, event)
    return found


def imported_copy(cli, household: Path, tmp_path: Path, *, keep_tags: bool) -> bytes:
    """Our check-in invite as a calendar app stores it after importing it: no METHOD, our
    UID, and (depending on the app) our X- properties kept or dropped."""
    out = tmp_path / "ics-out"
    assert cli("setup", household, "--to", "ics", "--out", out).exit_code == 0
    cal = icalendar.Calendar.from_ical((out / "checkins.ics").read_bytes())
    del cal["METHOD"]
    if not keep_tags:
        for event in cal.walk("VEVENT"):
            for name in [k for k in event if k.startswith(TAG_PREFIX)]:
                del event[name]
    return cal.to_ical()


@pytest.mark.parametrize("keep_tags", [True, False], ids=["tagged", "tags-dropped"])
def test_event_at_an_href_an_app_chose_is_updated_and_cancelled_there(
        cli, dav: Path, radicale, household: Path, tmp_path: Path, keep_tags: bool) -> None:
    uid = item_uid(ALLIANCE_ID, "checkins")
    assert radicale.put(IMPORTED, imported_copy(cli, household, tmp_path,
                                                keep_tags=keep_tags)) == 201

    result = cli("--config", dav, "setup", household, "--to", "caldav", "--yes")
    assert result.exit_code == 0, result.output
    found = by_uid(radicale)
    assert found[uid][0] == IMPORTED  # adopted where it is, not duplicated beside it
    assert len(found) == HOUSEHOLD_EVENTS

    household.write_text(household.read_text().replace('time = "18:00"', 'time = "18:30"'))
    result = cli("--config", dav, "setup", household, "--to", "caldav", "--yes")
    assert result.exit_code == 0, result.output
    href, event = by_uid(radicale)[uid]
    assert href == IMPORTED
    assert event.decoded("DTSTART").strftime("%H:%M") == "18:30"
    assert int(event["SEQUENCE"]) >= 1

    result = cli("--config", dav, "teardown", household, "--to", "caldav", "--yes")
    assert result.exit_code == 0, result.output
    assert radicale.report() == {}
    assert radicale.get(IMPORTED)[0] == 404


def test_a_delete_the_server_does_not_do_is_not_reported_as_done(
        cli, dav: Path, radicale, household: Path, monkeypatch, state_file: Path) -> None:
    import caldav

    assert cli("--config", dav, "setup", household, "--to", "caldav", "--yes").exit_code == 0

    class Liar:
        status = 204
        headers: ClassVar[dict[str, str]] = {}

    # Fault: the server answers 204 to DELETE and keeps the object.
    monkeypatch.setattr(caldav.DAVClient, "delete", lambda self, url, headers=None: Liar())
    result = cli("--config", dav, "teardown", household, "--to", "caldav", "--yes")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "still has it" in lines[0]
    assert len(by_uid(radicale)) == HOUSEHOLD_EVENTS
    monkeypatch.undo()
    # Nothing was recorded as cancelled, so the next teardown really removes them.
    monkeypatch.setenv("ALLIANCE_TEST_DAV", radicale.password)
    result = cli("--config", dav, "teardown", household, "--to", "caldav", "--yes")
    assert result.exit_code == 0, result.output
    assert radicale.report() == {}


def test_one_refused_object_does_not_stop_the_others(cli, dav: Path, radicale,
                                                     household: Path, monkeypatch) -> None:
    import caldav

    real_put = caldav.DAVClient.put

    def put(self, url, body, headers=None):  # type: ignore[no-untyped-def]
        # Fault: this one body is not iCalendar, so the real server answers 400.
        if "celebration" in url:
            body = "not a calendar object"
        return real_put(self, url, body, headers)

    monkeypatch.setattr(caldav.DAVClient, "put", put)
    result = cli("--config", dav, "setup", household, "--to", "caldav", "--yes")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "celebration" in lines[0] and "HTTP 400" in lines[0]
    keys = {str(e["X-DESIGNED-ALLIANCE-KEY"]) for _, e in by_uid(radicale).values()}
    assert "celebration" not in keys and len(keys) == HOUSEHOLD_EVENTS - 1


@pytest.fixture
def target(dav: Path, tmp_path: Path) -> CalDavTarget:
    return CalDavTarget(load_config(dav, explicit=True), Options(out_dir=tmp_path))


@pytest.mark.parametrize(("status", "kind"), [
    (401, errors.AuthExpired), (403, errors.Refused), (404, errors.NotFound),
    (410, errors.NotFound), (409, errors.Conflict), (412, errors.Conflict),
    (429, errors.Throttled), (500, errors.Unavailable), (503, errors.Unavailable),
    (400, errors.Refused), (415, errors.Refused),
])
def test_statuses_become_typed_errors(target: CalDavTarget, status: int, kind: type) -> None:
    error = target.classify("save an event", status=status)
    assert type(error) is kind
    assert len(str(error).splitlines()) == 1
    assert error.retryable == (status in (429, 500, 503))


def test_library_and_transport_exceptions_become_typed_errors(target: CalDavTarget) -> None:
    from caldav.lib import error as dav
    from caldav.lib.http_sync import requests as http

    cases = [
        (dav.AuthorizationError(status=401), errors.AuthExpired),
        (dav.UidConflictError(status=409), errors.Conflict),
        (dav.NotFoundError(), errors.NotFound),
        (dav.RateLimitError(retry_after="7", status=429), errors.Throttled),
        (dav.PutError(status=507), errors.Unavailable),
        (http.exceptions.SSLError("bad cert"), errors.Refused),
        (http.exceptions.ReadTimeout("slow"), errors.Unavailable),
        (http.exceptions.ConnectionError("refused"), errors.Unavailable),
        (ValueError("odd XML"), errors.RemoteError),
    ]
    for exc, kind in cases:
        error = target.classify("save an event", exc=exc)
        assert type(error) is kind, (exc, error)
        assert len(str(error).splitlines()) == 1
    throttled = target.classify("x", exc=dav.RateLimitError(retry_after="7", status=429))
    assert isinstance(throttled, errors.Throttled) and throttled.retry_after == "7"


def test_verify_logs_in_and_checks_it_is_a_calendar(tmp_path: Path, radicale,
                                                    monkeypatch) -> None:
    def target_for(url: str, password: str) -> CalDavTarget:
        monkeypatch.setenv("ALLIANCE_TEST_DAV", password)
        path = tmp_path / "v.toml"
        path.write_text(f'[caldav]\nurl = "{url}"\nusername = "{radicale.username}"\n'
                        'password_env = "ALLIANCE_TEST_DAV"\n')
        return CalDavTarget(load_config(path, explicit=True), Options(out_dir=tmp_path))

    target_for(radicale.calendar_url, radicale.password).verify()
    with pytest.raises(errors.AuthExpired) as wrong:
        target_for(radicale.calendar_url, "wrong-password-sentinel").verify()
    assert "password" in str(wrong.value) and "wrong-password-sentinel" not in str(wrong.value)
    with pytest.raises(errors.NotFound, match="no calendar at"):
        target_for(radicale.url + "alice/nope/", radicale.password).verify()
    with pytest.raises(errors.Refused, match="not a calendar collection"):
        target_for(radicale.url + "alice/", radicale.password).verify()
    radicale.stop()
    with pytest.raises(errors.Unavailable, match="cannot reach"):
        target_for(radicale.calendar_url, radicale.password).verify()
    assert radicale.report is not None


class Busy:
    """What the server answers while it is overloaded."""

    def __init__(self, status: int, retry_after: str | None) -> None:
        self.status = status
        self.headers = {"Retry-After": retry_after} if retry_after else {}


def test_busy_answers_are_retried_within_a_budget_honouring_retry_after(
        cli, dav: Path, radicale, household: Path, monkeypatch) -> None:
    import caldav

    slept: list[float] = []
    monkeypatch.setattr(CalDavTarget, "sleep", staticmethod(slept.append))
    real_put = caldav.DAVClient.put
    answers = {"checkins": [Busy(503, "2"), Busy(429, None)]}

    def put(self, url, body, headers=None):  # type: ignore[no-untyped-def]
        # Fault: the first two PUTs of the check-ins are answered 503 then 429.
        for key, queue in answers.items():
            if url.rsplit("/", 1)[-1].startswith(key + ".") and queue:
                return queue.pop(0)
        return real_put(self, url, body, headers)

    monkeypatch.setattr(caldav.DAVClient, "put", put)
    result = cli("--config", dav, "setup", household, "--to", "caldav", "--yes")
    assert result.exit_code == 0, result.output
    assert len(by_uid(radicale)) == HOUSEHOLD_EVENTS
    assert len(slept) == 2 and 2 <= slept[0] < 3  # Retry-After: 2 was honoured

    # Busy for good: the budget runs out, one line, and what was done stays recorded.
    slept.clear()
    answers["celebration"] = [Busy(503, "20")] * 10
    household.write_text(household.read_text().replace('how = "', 'how = "Then: '))
    result = cli("--config", dav, "setup", household, "--to", "caldav", "--yes")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "HTTP 503" in lines[0] and "celebration" in lines[0]
    assert sum(slept) <= CalDavTarget.max_retry_seconds


@pytest.mark.parametrize(("recorded", "inside"), [
    ("{cal}imported-by-app.ics", True),
    ("imported-by-app.ics", True),
    ("/alice/alliance/x.ics", True),
    ("http://evil.example/alice/alliance/x.ics", False),
    ("{root}alice/other-calendar/x.ics", False),
    ("{cal}../other-calendar/x.ics", False),
    ("{cal}", False),
    ("", False),
], ids=["absolute", "relative", "path", "other-host", "other-calendar", "dot-dot",
        "the-collection", "empty"])
def test_a_recorded_href_outside_the_calendar_is_never_used(target: CalDavTarget, radicale,
                                                            recorded: str,
                                                            inside: bool) -> None:
    """State or a server's REPORT may name any URL: we only ever write to or delete objects
    inside our own calendar collection, else we fall back to the href we would choose."""
    from designed_alliance.core.plan import Action, Change
    from designed_alliance.core.state import Record

    href = recorded.format(cal=radicale.calendar_url, root=radicale.url)
    change = Change(Action.CANCEL, "checkins", None, Record("checkins", href, "f"), 1)
    uid = item_uid(ALLIANCE_ID, "checkins")
    used = target._known_href(change, uid)
    if inside:
        assert used.startswith(radicale.calendar_url) and used != radicale.calendar_url
        assert used.rsplit("/", 1)[-1] == href.rsplit("/", 1)[-1]
    else:
        assert used == target.href(uid)


def test_a_url_that_is_not_one_calendar_writes_nothing(cli, tmp_path: Path, radicale,
                                                       monkeypatch, household: Path,
                                                       state_file: Path) -> None:
    monkeypatch.setenv("ALLIANCE_TEST_DAV", radicale.password)
    config = tmp_path / "account.toml"
    config.write_text(f'[caldav]\nurl = "{radicale.url}alice/"\nusername = "alice"\n'
                      'password_env = "ALLIANCE_TEST_DAV"\n')
    result = cli("--config", config, "setup", household, "--to", "caldav", "--yes")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a calendar collection" in lines[0]
    stored = [p for p in radicale.storage_dir.rglob("*.ics")]
    assert stored == [] and not state_file.exists()


@pytest.mark.parametrize(("url", "unasked"), [
    ("https://dav.example.com/cal/", True),
    ("http://127.0.0.1:5232/user/cal/", True),
    ("http://localhost:5232/user/cal/", True),
    ("http://dav.example.com/cal/", False),  # the server may want Digest: ask it first
])
def test_basic_credentials_go_unasked_only_over_tls_or_to_this_machine(
        tmp_path: Path, url: str, unasked: bool) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[caldav]\nurl = "{url}"\nusername = "me"\npassword_env = "NOPE"\n')
    target = CalDavTarget(load_config(path, explicit=True), Options(out_dir=tmp_path))
    assert target._basic_is_safe() is unasked
