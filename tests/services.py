"""The two calendar services tested through their real client code against our emulators.

One description per service, so the tests they share (the contract, lost state, Retry-After,
seeded faults, refused tokens) are written once and run against both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from designed_alliance.core.target import Target
from designed_alliance.integrations.google.target import GoogleTarget
from designed_alliance.integrations.outlook.target import (
    PROP_FINGERPRINT,
    PROP_KEY,
    PROP_SEQUENCE,
    OutlookTarget,
)

from .contract import RemoteView


def google_view(emulator: Any) -> dict[str, RemoteView]:
    found: dict[str, RemoteView] = {}
    for event in emulator.events("primary"):
        private = event.get("extendedProperties", {}).get("private", {})
        key = private["allianceKey"]
        assert key not in found, f"two events for {key}"
        found[key] = RemoteView("cancelled" if event["status"] == "cancelled" else "active",
                                private["allianceFingerprint"],
                                int(private["allianceSequence"]))
    return found


def graph_view(emulator: Any) -> dict[str, RemoteView]:
    found: dict[str, RemoteView] = {}
    for event in emulator.events():
        props = {p["id"]: p["value"] for p in event["singleValueExtendedProperties"]}
        key = props[PROP_KEY]
        assert key not in found, f"two events for {key}"
        found[key] = RemoteView("active", props[PROP_FINGERPRINT], int(props[PROP_SEQUENCE]))
    for event in emulator.cancelled:
        props = {p["id"]: p["value"] for p in event["singleValueExtendedProperties"]}
        found.setdefault(props[PROP_KEY], RemoteView("cancelled", props[PROP_FINGERPRINT],
                                                     int(props[PROP_SEQUENCE])))
    return found


@dataclass(frozen=True)
class Service:
    name: str
    target: type[Target]
    emulator: str  # the fixture that starts its emulator
    root_key: str
    extra_lines: tuple[str, ...]
    token: str
    view: Callable[[Any], dict[str, RemoteView]]
    drafts: Callable[[Any], list[Any]]
    creates: tuple[tuple[str, str], ...]  # (method, path) of requests that make something
    batch_fault: str  # a path that only event writes in a batch contain
    # A first setup: the account read, the lookup, one batch of events, one draft
    # (Outlook: and its categories, looked up once and made in one batch).
    fresh_requests: tuple[tuple[str, str], ...]
    notified: Callable[[Any], set[tuple[str, str]]] = lambda emulator: {
        (address, what) for address, _, what in emulator.notified}
    #: the token a `calendar = "dedicated"` config signs in with ("" : `token`): Google's
    #: emulator grants it exactly the narrow scopes `alliance auth google` asks for then
    dedicated_token: str = ""

    def config(self, tmp_path: Path, emulator: Any, *, command: str | None = "default",
               dedicated: bool = False) -> Path:
        """The service's config file; `dedicated`: `calendar = "dedicated"` (and no
        calendar_id beside it)."""
        path = tmp_path / f"{self.name}.toml"
        extra = [line for line in self.extra_lines
                 if not (dedicated and line.startswith("calendar_id"))]
        lines = [f"[{self.name}]", *extra, *(['calendar = "dedicated"'] if dedicated else []),
                 f'{self.root_key} = "{emulator.base_url}"']
        if command == "default":
            command = f"echo {(dedicated and self.dedicated_token) or self.token}"
        if command:
            lines.append(f"access_token_command = '{command}'")  # TOML literal string
        path.write_text("\n".join(lines) + "\n")
        return path


GOOGLE = Service("google", GoogleTarget, "google_emulator", "api_root",
                 ('calendar_id = "primary"',), "test-token", google_view,
                 lambda emulator: emulator.drafts(), (("POST", "/events"), ("POST", "/drafts")),
                 "/batch", (("GET", "/calendar/v3/calendars/primary"),
                            ("GET", "/calendar/v3/calendars/primary/events"),
                            ("POST", "/batch/calendar/v3"), ("POST", "/gmail/v1/users/me/drafts")),
                 dedicated_token="test-token-dedicated")
OUTLOOK = Service("outlook", OutlookTarget, "graph_emulator", "graph_root",
                  ('tenant = "common"',), "graph-token", graph_view,
                  lambda emulator: [m for m in emulator.messages() if m["isDraft"]],
                  (("POST", "/me/events"), ("POST", "/me/messages")), "/me/events",
                  (("GET", "/me"), ("GET", "/me/events"), ("GET", "/me/outlook/masterCategories"),
                   ("POST", "/$batch"), ("POST", "/$batch"), ("POST", "/me/messages")))
SERVICES = {"google": GOOGLE, "outlook": OUTLOOK}


def both_services() -> tuple[Any, Any]:
    """The `service` fixture (each test runs against Google and Outlook) and the
    `emulator` fixture of the service a test runs against, for modules shared by both."""
    import pytest

    @pytest.fixture(params=sorted(SERVICES), name="service")
    def service(request: Any) -> Service:
        return SERVICES[request.param]

    @pytest.fixture(name="emulator")
    def emulator(service: Service, request: Any) -> Any:
        return request.getfixturevalue(service.emulator)

    return service, emulator


def service_fixtures(service: Service) -> tuple[Any, Any]:
    """The `slept` and `config` fixtures of one service's own test module."""
    import pytest

    from designed_alliance.core.config import load_config

    @pytest.fixture(name="slept")
    def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
        """Backoff waits are recorded, not slept: the tests stay fast and can check them."""
        waits: list[float] = []
        monkeypatch.setattr(service.target, "sleep", staticmethod(waits.append))
        return waits

    @pytest.fixture(name="config")
    def config(tmp_path: Path, request: Any, slept: list[float]) -> Any:
        emulator = request.getfixturevalue(service.emulator)
        return load_config(service.config(tmp_path, emulator), explicit=True)

    return slept, config


def module_helpers(service: Service) -> tuple[Any, Any, Any, Any]:
    """For one service's own test module: its config writer, the `slept` and `config`
    fixtures, and `setup_cli(cli, config, alliance, *extra)`."""
    def setup_cli(cli: Any, config: Path, alliance: Path, *extra: str) -> Any:
        return cli("--config", config, "setup", alliance, "--to", service.name, "--yes", *extra)

    return (service.config, *service_fixtures(service), setup_cli)


def fresh_setup(cli: Any, service: Service, tmp_path: Path, emulator: Any, name: str) -> Path:
    """A first setup of an example: the account read, one lookup, one batch and one draft;
    an unchanged re-run then sends one request only, the account read that names the
    organizer in the plan (the state says everything else is in place)."""
    from .conftest import example

    config = service.config(tmp_path, emulator)
    args = ("--config", config, "setup", example(name), "--to", service.name, "--yes")
    result = cli(*args)
    assert result.exit_code == 0, result.output
    top = [(r.method, r.path) for r in emulator.requests if not r.batch_part]
    assert tuple(top) == service.fresh_requests
    log = list(emulator.requests)
    emulator.reset_log()
    assert cli(*args).exit_code == 0
    assert [(r.method, r.path) for r in emulator.requests] == [service.fresh_requests[0]]
    emulator.requests.extend(log)  # the caller inspects the first run's requests
    return config


def google_events(emulator: Any) -> dict[str, Any]:
    return {e["extendedProperties"]["private"]["allianceKey"]: e for e in emulator.events()}


def graph_events(emulator: Any) -> dict[str, Any]:
    return {next(p["value"] for p in e["singleValueExtendedProperties"]
                 if p["id"] == PROP_KEY): e for e in emulator.events()}


def set_up_then_move_checkins(cli: Any, service: Service, tmp_path: Path, emulator: Any,
                              name: str, *extra: str) -> None:
    """Set an example up, then move its check-ins half an hour later and set up again; the
    emulator's log then holds the second run only.

    The review's time is pinned where it was: by default it may follow the check-in (it
    is then right after it), and this edit is meant to move the check-in only."""
    import re
    from datetime import datetime, timedelta

    from .conftest import example

    config = service.config(tmp_path, emulator)
    path = tmp_path / "a.toml"
    path.write_text(review_pinned(example(name).read_text()))
    args = ("--config", config, "setup", path, "--to", service.name, "--yes")
    assert cli(*args).exit_code == 0
    emulator.reset_log()

    def later(match: re.Match[str]) -> str:
        moved = datetime.strptime(match.group(2), "%H:%M") + timedelta(minutes=30)
        return f'{match.group(1)}"{moved:%H:%M}"'

    checkin_time = r'(\[checkins\](?:\n(?!\[)[^\n]*)*?\ntime = )"(\d\d:\d\d)"'
    text = path.read_text()
    moved_text = re.sub(checkin_time, later, text, count=1)
    assert moved_text != text
    path.write_text(moved_text)
    result = cli(*args, *extra)
    assert result.exit_code == 0, result.output


def own_calendars(service: Service, emulator: Any) -> dict[str, str]:
    """id → name of every calendar made through the service's API, as it stores them."""
    if service is GOOGLE:
        return {i: c["summary"] for i, c in emulator.own_calendars.items()}
    return {i: c["name"] for i, c in emulator.calendars.items()}


def keys_in(service: Service, emulator: Any, calendar_id: str | None) -> list[str]:
    """The item keys of the live events in one calendar (None: the primary / default one),
    read from the emulator's store; a key twice is listed twice."""
    if service is GOOGLE:
        events = [e for e in emulator.events(calendar_id or "primary")
                  if e["status"] != "cancelled"]
        return sorted(e["extendedProperties"]["private"]["allianceKey"] for e in events)
    events = emulator.events_in(calendar_id or "cal1")
    return sorted(next(p["value"] for p in e["singleValueExtendedProperties"]
                       if p["id"] == PROP_KEY) for e in events)


def calendar_creates(service: Service, emulator: Any) -> int:
    """Requests that asked the service to make a calendar."""
    path = "/calendar/v3/calendars" if service is GOOGLE else "/me/calendars"
    return sum(1 for r in emulator.requests if r.method == "POST" and r.path == path)


@dataclass(frozen=True)
class Mail:
    """A draft or sent message as the service stores it, read through the emulator."""

    subject: str
    thread: str  # Gmail threadId; Graph conversationId
    replies_to: str  # the message a Graph reply was created from ("" if none, or Gmail)
    invites: tuple[Any, ...]  # the attached text/calendar parts, parsed with icalendar
    topic: str = ""  # the body's first line: what a reply in the kickoff's thread is about


def _first_paragraph(page: str) -> str:
    """The text of an HTML body's first paragraph, read with html.parser."""
    from html.parser import HTMLParser

    class First(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.depth, self.done, self.text = 0, False, ""

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            if tag == "p" and not self.done:
                self.depth += 1

        def handle_endtag(self, tag: str) -> None:
            if tag == "p" and self.depth:
                self.depth, self.done = 0, True

        def handle_data(self, data: str) -> None:
            if self.depth and not self.done:
                self.text += data

    parser = First()
    parser.feed(page)
    return " ".join(parser.text.split())


def _gmail_mail(thread: str, message: Any) -> Mail:
    import icalendar

    # Every text/calendar part: one invite alone goes inline (RFC 6047), not attached.
    invites = tuple(icalendar.Calendar.from_ical(part.get_content())
                    for part in message.walk() if part.get_content_type() == "text/calendar")
    plain = message.get_body(("plain",))
    first = plain.get_content().splitlines()[0] if plain is not None else ""
    return Mail(str(message["Subject"]), thread, "", invites, first)


def _graph_mail(message: dict[str, Any]) -> Mail:
    import base64

    import icalendar

    invites = tuple(icalendar.Calendar.from_ical(base64.b64decode(a["contentBytes"]))
                    for a in message.get("attachments", []))
    return Mail(message["subject"], message["conversationId"], message.get("inReplyTo", ""),
                invites, _first_paragraph(message.get("body", {}).get("content", "")))


def drafts_of(service: Service, emulator: Any) -> list[Mail]:
    if service is GOOGLE:
        threads = {d["id"]: d["message"]["threadId"] for d in emulator.draft_store.values()}
        return [_gmail_mail(threads[i], m) for i, m in emulator.drafts()]
    return [_graph_mail(m) for m in emulator.messages() if m["isDraft"]]


def sent_of(service: Service, emulator: Any) -> list[tuple[str, Mail]]:
    """(id a reply refers to, message) of every sent message."""
    if service is GOOGLE:
        return [(thread, _gmail_mail(thread, m)) for thread, m in emulator.sent()]
    return [(m["id"], _graph_mail(m)) for m in emulator.messages() if not m["isDraft"]]


def send_the_draft(service: Service, emulator: Any) -> None:
    """Send the one draft there is, as the user would: in Gmail (the emulator's user
    action), through Graph's own API for Outlook."""
    import json
    import urllib.request

    if service is GOOGLE:
        emulator.user_sends_draft()  # from Gmail itself: no API scope of ours is involved
        return
    else:
        (draft_id,) = [m["id"] for m in emulator.messages() if m["isDraft"]]
        url, body = emulator.base_url + f"me/messages/{draft_id}/send", {}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {service.token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as answer:  # only ever 127.0.0.1
        assert answer.status in (200, 202)


def review_pinned(text: str) -> str:
    """The alliance text with its review's time written out: by default the review may
    follow the check-in, and tests that move only the check-in must not move it too."""
    from designed_alliance.core.load import loads
    from designed_alliance.core.schedule import review_time

    review = review_time(loads(text, "pinned.toml"))
    if "[review]" not in text:
        text += f'\n[review]\ntime = "{review:%H:%M}"\n'
    return text
