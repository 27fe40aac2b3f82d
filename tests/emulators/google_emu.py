"""A stateful Google Calendar v3 + Gmail v1 emulator for the tests, on 127.0.0.1.

The real googleapiclient talks to it over HTTP. Request bodies and query parameters are
validated against the discovery documents googleapiclient ships, so an unknown field or a
wrong type is a 400 here as it is at Google. Faults are injected per (sub-)request:

    emu.faults.push(status=429, retry_after="1")   # next matching request: 429 + Retry-After
    emu.faults.push(status=503, method="POST")     # only for POSTs
    emu.faults.push(kind="drop")                   # close the connection, no response
    emu.faults.push(kind="drop_after_apply")       # apply the write, then drop (lost reply)
    emu.faults.push(kind="slow", delay=2.0)        # answer late (client timeouts)
    emu.faults.random(rate=0.2, seed=7)            # seeded random faults on every request

A 429/5xx/drop fault does not apply the write; only `drop_after_apply` does.

A test acts as the people in the calendar through `respond` (an attendee answers the event
or series), `respond_occurrence`, `move_occurrence` and `cancel_occurrence` (one occurrence
becomes an exception: its own item with `recurringEventId` and `originalStartTime`, as at
Google) and `edit` (the organizer changes the event in the calendar app). Every change bumps
the event's etag and is seen by `events.list?syncToken=…`, which returns only what changed
since the token; `expire_sync_tokens()` makes the next such read a 410 GONE, as Google does
when a token is too old. A PATCH that really changes a series' start or recurrence cancels its
exceptions; one that leaves them as they were keeps them.
"""

from __future__ import annotations

import base64
import email
import email.policy
import functools
import itertools
import json
import os
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import googleapiclient
import pytest

from designed_alliance.integrations.google.auth import DEDICATED_SCOPES, SCOPES

from .loopback import LoopbackServer, drop, serving

DOCS = os.path.join(os.path.dirname(googleapiclient.__file__), "discovery_cache", "documents")
STANDARD_PARAMS = {"alt", "fields", "key", "oauth_token", "prettyPrint", "quotaUser", "userIp",
                   "uploadType", "upload_protocol", "callback", "access_token", "$.xgafv"}
EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")
COLOR_IDS = {str(i) for i in range(1, 12)}  # colors.get: the event palette is "1"–"11"
CONFERENCE_TYPES = {"hangoutsMeet"}  # allowedConferenceSolutionTypes of a Workspace calendar


def short_scopes(scopes: list[str]) -> set[str]:
    """Scope URLs by the short names the emulator compares ("gmail.compose"); the one
    scope that is a bare URL ("https://mail.google.com/") keeps its URL."""
    return {s.rpartition("/")[2] or s for s in scopes}


#: What `alliance auth google` grants: a token the tests do not list in `token_scopes` has
#: exactly these (a shared-calendar config); the dedicated config's token has the narrow set.
GRANTED = short_scopes(SCOPES)
DEDICATED_TOKEN = "test-token-dedicated"
#: Gmail's read scopes (any one allows messages.list with `q` but gmail.metadata)
READ_SCOPES = {"gmail.readonly", "gmail.modify", "https://mail.google.com/"}


def _load(name: str) -> dict[str, Any]:
    with open(os.path.join(DOCS, name), encoding="utf-8") as handle:
        return json.load(handle)


CALENDAR = _load("calendar.v3.json")
GMAIL = _load("gmail.v1.json")


class ApiError(Exception):
    def __init__(self, status: int, message: str, reason: str = "invalid",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.status, "message": str(self),
                          "errors": [{"domain": "global", "reason": self.reason,
                                      "message": str(self)}]}}


def validate(value: Any, schema: dict[str, Any], schemas: dict[str, Any], path: str) -> None:
    """Check a JSON value against a discovery schema: unknown fields and wrong types fail."""
    if "$ref" in schema:
        schema = schemas[schema["$ref"]]
    kind = schema.get("type")
    wrong = ApiError(400, f"Invalid value at '{path}' ({kind}): {json.dumps(value)[:60]}")
    if kind == "object":
        if not isinstance(value, dict):
            raise wrong
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                validate(item, props[key], schemas, f"{path}.{key}" if path else key)
            elif extra is not None:
                validate(item, extra, schemas, f"{path}[{key!r}]")
            else:
                raise ApiError(400, f"Invalid JSON payload received. Unknown name \"{key}\" at "
                               f"'{path or 'resource'}': Cannot find field.")
    elif kind == "array":
        if not isinstance(value, list):
            raise wrong
        for i, item in enumerate(value):
            validate(item, schema.get("items", {}), schemas, f"{path}[{i}]")
    elif kind == "string":
        if not isinstance(value, str):
            raise wrong
        fmt = schema.get("format")
        if fmt in ("int64", "uint64") and not re.fullmatch(r"-?\d+", value):
            raise wrong
        if fmt == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise wrong
        if fmt == "date-time" and not re.fullmatch(
                r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?", value):
            raise wrong
        if "enum" in schema and value not in schema["enum"]:
            raise wrong
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise wrong
    elif kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise wrong


def _method(doc: dict[str, Any], *names: str) -> dict[str, Any]:
    node = doc
    for name in names[:-1]:
        node = node["resources"][name]
    return node["methods"][names[-1]]


@dataclass
class Fault:
    status: int | None = None
    kind: str | None = None  # drop | drop_after_apply | slow
    retry_after: str | None = None
    delay: float = 0.0
    method: str | None = None
    path_contains: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return ((self.method is None or self.method == method)
                and (self.path_contains is None or self.path_contains in path))


class Faults:
    def __init__(self) -> None:
        self._queue: list[Fault] = []
        self._lock = threading.Lock()
        self._rate = 0.0
        self._rng = random.Random(0)
        self._kinds: list[Fault] = []
        self.injected = 0

    def push(self, **kwargs: Any) -> None:
        with self._lock:
            self._queue.append(Fault(**kwargs))

    def random(self, rate: float, seed: int, kinds: list[Fault] | None = None) -> None:
        with self._lock:
            self._rate = rate
            self._rng = random.Random(seed)
            self._kinds = kinds or [Fault(status=429, retry_after="1"), Fault(status=500),
                                    Fault(status=503), Fault(kind="drop"),
                                    Fault(kind="drop_after_apply")]

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._rate = 0.0

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self._queue):
                if fault.matches(method, path):
                    self.injected += 1
                    return self._queue.pop(i)
            if self._rate and self._rng.random() < self._rate:
                self.injected += 1
                return self._rng.choice(self._kinds)
        return None


@dataclass
class Logged:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    batch_part: bool
    status: int = 0


class Dropped(Exception):
    """Close the connection without answering."""


@dataclass
class Emulator:
    """What both emulators keep: the request log, faults, ids, and a clock that counts
    changes (what sync tokens and delta links are made of)."""

    requests: list[Logged] = field(default_factory=list)
    http_calls: int = 0
    faults: Faults = field(default_factory=Faults)
    base_url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._clock = itertools.count(1)  # one tick per change
        self.sync_floor = 0  # tokens older than this are GONE

    def expire_sync_tokens(self) -> None:
        self.sync_floor = next(self._clock)

    def count(self, method: str | None = None, path_contains: str | None = None,
              batch_parts: bool | None = None) -> int:
        return sum(1 for r in self.requests
                   if (method is None or r.method == method)
                   and (path_contains is None or path_contains in r.path)
                   and (batch_parts is None or r.batch_part == batch_parts))

    def reset_log(self) -> None:
        self.requests.clear()
        self.http_calls = 0


@dataclass
class GoogleEmulator(Emulator):
    token: str = "test-token"
    revoked_tokens: set[str] = field(default_factory=set)
    calendars: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    draft_store: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent_store: dict[str, dict[str, Any]] = field(default_factory=dict)  # label SENT
    # Gets of an event whose Meet is being made that still answer "pending" (Google answers
    # a createRequest with "pending" and finishes it a moment later).
    pending_gets: int = 0
    meetings_made: int = 0
    account: str = "organizer@example.net"  # the signed-in user: owns the primary calendar
    #: token → the scopes it was granted (short names, e.g. "calendar.app.created"); a token
    #: not listed here (the default one) has `GRANTED`, what `alliance auth google` asks for
    #: a shared calendar, and `DEDICATED_TOKEN` what it asks for calendar = "dedicated". A
    #: call its scopes do not allow — per the discovery document, and for
    #: calendar.app.created only on calendars this app made — is a 403
    #: insufficientPermissions, as at Google.
    token_scopes: dict[str, set[str]] = field(default_factory=lambda: {
        DEDICATED_TOKEN: short_scopes(DEDICATED_SCOPES)})
    #: calendars made with calendars.insert (id → Calendar resource): the app's own
    own_calendars: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted_calendars: set[str] = field(default_factory=set)
    #: (address, event id, "invite" | "update" | "cancel") for every mail Google would send
    notified: list[tuple[str, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.changed: dict[tuple[str, str], int] = {}
        self._meeting_gets: dict[str, int] = {}  # event id → gets while its Meet is pending

    def calendar_address(self, calendar_id: str) -> str:
        return self.account if calendar_id == "primary" else calendar_id

    def _notify(self, event: dict[str, Any], query: dict[str, list[str]], what: str) -> None:
        """Whom Google mails for this write: sendUpdates all / externalOnly / none (the
        default, as at Google). Never the organizer; externalOnly: other domains only."""
        mode = query.get("sendUpdates", ["none"])[0]
        if mode == "none":
            return
        organizer = event.get("organizer", {}).get("email", "")
        domain = organizer.rpartition("@")[2].lower()
        for attendee in event.get("attendees", []):
            address = attendee.get("email", "")
            if address.lower() == organizer.lower():
                continue
            if mode == "externalOnly" and address.rpartition("@")[2].lower() == domain:
                continue
            self.notified.append((address, event["id"], what))

    def sent(self) -> list[tuple[str, EmailMessage]]:
        """(threadId, message) of every sent message."""
        return [(m["threadId"], email.message_from_bytes(m["raw_bytes"],
                                                         policy=email.policy.default))
                for m in self.sent_store.values()]

    def draft_threads(self) -> dict[str, str]:
        """Subject → threadId of every draft."""
        return {str(email.message_from_bytes(d["raw_bytes"], policy=email.policy.default)[
            "Subject"]): d["message"]["threadId"] for d in self.draft_store.values()}

    # -- observability ------------------------------------------------------------------------
    def events(self, calendar_id: str = "primary") -> list[dict[str, Any]]:
        """The events themselves (series masters and single events), not exceptions."""
        return [e for e in self.calendars.get(calendar_id, {}).values()
                if not e.get("recurringEventId")]

    def exceptions(self, event_id: str, calendar_id: str = "primary") -> list[dict[str, Any]]:
        return [e for e in self.calendars.get(calendar_id, {}).values()
                if e.get("recurringEventId") == event_id]

    # -- acting as the people in the calendar -------------------------------------------------
    def _touch(self, calendar_id: str, event: dict[str, Any]) -> None:
        event["etag"] = f'"{next(self._ids)}"'
        event["updated"] = _now()
        self.changed[(calendar_id, event["id"])] = next(self._clock)

    def find(self, key: str, calendar_id: str = "primary") -> dict[str, Any]:
        (event,) = [e for e in self.events(calendar_id) if e.get("extendedProperties", {})
                    .get("private", {}).get("allianceKey") == key]
        return event

    def respond(self, key: str, email: str, status: str, calendar_id: str = "primary") -> None:
        with self._lock:
            event = self.find(key, calendar_id)
            _answer(event, email, status)
            self._touch(calendar_id, event)

    def occurrences(self, key: str, calendar_id: str = "primary") -> list[str]:
        """The series' occurrences as local wall times (YYYY-MM-DDTHH:MM)."""
        from dateutil.rrule import rrulestr

        master = self.find(key, calendar_id)
        start = _aware(master["start"]["dateTime"][:16], master["start"]["timeZone"])
        rule = next(r for r in master["recurrence"] if r.startswith("RRULE:"))
        return [o.strftime("%Y-%m-%dT%H:%M") for o in rrulestr(rule[6:], dtstart=start)]

    def _exception(self, key: str, original: str, calendar_id: str) -> dict[str, Any]:
        """The exception item for the occurrence at local wall time `original`
        (YYYY-MM-DDTHH:MM), made on first use."""
        master = self.find(key, calendar_id)
        store = self.calendars[calendar_id]
        zone = master["start"]["timeZone"]
        begins = _aware(original, zone)
        stamp = begins.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ").lower()
        event_id = f"{master['id']}_{stamp}"
        if event_id not in store:
            length = _seconds(master["end"]["dateTime"]) - _seconds(master["start"]["dateTime"])
            store[event_id] = {
                **json.loads(json.dumps({k: v for k, v in master.items()
                                         if k not in ("recurrence", "id")})),
                "id": event_id, "recurringEventId": master["id"],
                "originalStartTime": {"dateTime": begins.isoformat(), "timeZone": zone},
                "start": {"dateTime": begins.isoformat(), "timeZone": zone},
                "end": {"dateTime": _plus(begins.isoformat(), length), "timeZone": zone}}
        return store[event_id]

    def respond_occurrence(self, key: str, original: str, email: str, status: str,
                           calendar_id: str = "primary") -> None:
        with self._lock:
            event = self._exception(key, original, calendar_id)
            _answer(event, email, status)
            self._touch(calendar_id, event)

    def move_occurrence(self, key: str, original: str, start: str,
                        calendar_id: str = "primary") -> None:
        """Move one occurrence to local wall time `start`, keeping its length."""
        with self._lock:
            event = self._exception(key, original, calendar_id)
            length = _seconds(event["end"]["dateTime"]) - _seconds(event["start"]["dateTime"])
            begins = _aware(start, event["start"]["timeZone"]).isoformat()
            event["start"] = {**event["start"], "dateTime": begins}
            event["end"] = {**event["end"], "dateTime": _plus(begins, length)}
            self._touch(calendar_id, event)

    def cancel_occurrence(self, key: str, original: str, calendar_id: str = "primary") -> None:
        with self._lock:
            event = self._exception(key, original, calendar_id)
            event["status"] = "cancelled"
            self._touch(calendar_id, event)

    def edit(self, key: str, calendar_id: str = "primary", **fields: Any) -> None:
        """The organizer edits the event in the calendar app."""
        with self._lock:
            event = self.find(key, calendar_id)
            event.update(fields)
            self._touch(calendar_id, event)

    def move_series(self, key: str, start: str, calendar_id: str = "primary") -> None:
        """The organizer drags the event (or series) to local wall time `start`."""
        with self._lock:
            event = self.find(key, calendar_id)
            length = _seconds(event["end"]["dateTime"]) - _seconds(event["start"]["dateTime"])
            begins = _aware(start, event["start"]["timeZone"]).isoformat()
            event["start"] = {**event["start"], "dateTime": begins}
            event["end"] = {**event["end"], "dateTime": _plus(begins, length)}
            self._touch(calendar_id, event)

    def delete(self, key: str, calendar_id: str = "primary") -> None:
        with self._lock:
            event = self.find(key, calendar_id)
            event["status"] = "cancelled"
            self._touch(calendar_id, event)

    def user_sends_draft(self, draft_id: str | None = None) -> str:
        """The user sends a draft from Gmail (the one there is when `draft_id` is None): it
        leaves the drafts, keeps its message id and its threadId (a sent draft stays in its
        conversation) and is labelled SENT. Returns the threadId."""
        with self._lock:
            if draft_id is None:
                (draft_id,) = self.draft_store
            return self._send_draft(draft_id)["threadId"]

    def user_deletes_draft(self, draft_id: str | None = None) -> None:
        """The user discards a draft in Gmail (the one there is when `draft_id` is None)."""
        with self._lock:
            if draft_id is None:
                (draft_id,) = self.draft_store
            del self.draft_store[draft_id]

    def _send_draft(self, draft_id: str) -> dict[str, Any]:
        draft = self.draft_store.pop(draft_id, None)
        if draft is None:
            raise ApiError(404, "Requested entity was not found.", "notFound")
        message = {**draft["message"], "raw_bytes": draft["raw_bytes"], "labelIds": ["SENT"]}
        self.sent_store[message["id"]] = message
        return message

    def drafts(self) -> list[tuple[str, EmailMessage]]:
        return [(d["id"], email.message_from_bytes(d["raw_bytes"], policy=email.policy.default))
                for d in self.draft_store.values()]

    def writes(self) -> int:
        return sum(1 for r in self.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")
                   and not r.path.startswith("/batch"))

    # -- routing ------------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes,
               batch_part: bool) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(target)
        path = unquote(split.path)
        query = parse_qs(split.query, keep_blank_values=True)
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            body = raw
        entry = Logged(method, path, query, body, batch_part)
        self.requests.append(entry)
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ")
        if (token != self.token and token not in self.token_scopes) or (
                token in self.revoked_tokens):
            entry.status = 401
            return _json(401, ApiError(401, "Request had invalid authentication credentials.",
                                       "authError").body())
        if path.startswith("/batch"):
            return self._batch(headers, raw, entry)
        fault = self.faults.take(method, path)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
            fault = None
        if fault is not None and fault.status:
            entry.status = fault.status
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return _json(fault.status, ApiError(fault.status, "Injected fault",
                                                "rateLimitExceeded").body(), extra)
        if fault is not None and fault.kind == "drop":
            raise Dropped()
        try:
            with self._lock:
                self._granted = self.token_scopes.get(token, GRANTED)
                self._scoped_calendar: str | None = None
                status, payload = self._route(method, path, query, body)
        except ApiError as exc:
            entry.status = exc.status
            return _json(exc.status, exc.body(), exc.headers)
        entry.status = status
        if fault is not None and fault.kind == "drop_after_apply":
            raise Dropped()
        if status == 204:
            return 204, {}, b""
        return _json(status, payload)

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any
               ) -> tuple[int, Any]:
        match = re.fullmatch(r"/calendar/v3/calendars/([^/]+)/events(?:/([^/]+))?", path)
        if match:
            calendar_id, event_id = match.groups()
            # Checked once `_params` knows which scope allowed the method itself.
            self._scoped_calendar = calendar_id
            if calendar_id in self.deleted_calendars:
                raise ApiError(404, "Not Found", "notFound")
            store = self.calendars.setdefault(calendar_id, {})
            if event_id is None and method == "POST":
                self._params(CALENDAR, ("events", "insert"), query)
                made = self._insert(store, body, calendar_id, query)
                self._notify(made, query, "invite")
                return 200, made
            if event_id is None and method == "GET":
                self._params(CALENDAR, ("events", "list"), query)
                return 200, self._list(store, query, calendar_id)
            if event_id is not None:
                names = {"GET": "get", "PATCH": "patch", "PUT": "update",
                         "DELETE": "delete"}.get(method)
                if names is None:
                    raise ApiError(405, "Method not allowed")
                self._params(CALENDAR, ("events", names), query)
                status, answer = self._one(store, event_id, method, body, query)
                if method != "GET":
                    self._notify(store[event_id], query,
                                 "cancel" if method == "DELETE" else "update")
                    self.changed[(calendar_id, event_id)] = next(self._clock)
                return status, answer
        if path == "/calendar/v3/users/me/calendarList" and method == "GET":
            self._params(CALENDAR, ("calendarList", "list"), query)
            return 200, self._calendar_list(query)
        if path == "/calendar/v3/calendars" and method == "POST":
            self._params(CALENDAR, ("calendars", "insert"), query)
            return 200, self._insert_calendar(body)
        match = re.fullmatch(r"/calendar/v3/calendars/([^/]+)", path)
        if match and method in ("PATCH", "DELETE"):
            calendar_id = match.group(1)
            self._params(CALENDAR, ("calendars", method.lower()),
                         query)
            self._calendar_scope(calendar_id)
            if calendar_id == "primary" or calendar_id == self.account:
                if method == "DELETE":
                    raise ApiError(400, "Cannot remove primary calendar.",
                                   "cannotDeletePrimaryCalendar")
                raise ApiError(403, "The primary calendar cannot be changed here.",
                               "forbidden")
            own = self.own_calendars.get(calendar_id)
            if own is None:
                raise ApiError(404, "Not Found", "notFound")
            if method == "DELETE":
                del self.own_calendars[calendar_id]
                self.calendars.pop(calendar_id, None)  # its events go with it
                self.deleted_calendars.add(calendar_id)
                return 204, None
            validate(body, {"$ref": "Calendar"}, CALENDAR["schemas"], "")
            own.update(body)
            own["etag"] = f'"{next(self._ids)}"'
            return 200, dict(own)
        if match and method == "GET":
            self._params(CALENDAR, ("calendars", "get"), query)
            calendar_id = match.group(1)
            self._calendar_scope(calendar_id)
            if calendar_id in self.own_calendars:
                return 200, dict(self.own_calendars[calendar_id])
            if calendar_id in self.deleted_calendars:
                raise ApiError(404, "Not Found", "notFound")
            return 200, {"kind": "calendar#calendar", "etag": '"c1"',
                         "id": self.calendar_address(calendar_id), "summary": "Calendar",
                         "timeZone": "UTC"}
        if re.fullmatch(r"/gmail/v1/users/([^/]+)/profile", path) and method == "GET":
            self._params(GMAIL, ("users", "getProfile"), query)
            return 200, {"emailAddress": self.account, "messagesTotal": 0,
                         "threadsTotal": 0, "historyId": "1"}
        if re.fullmatch(r"/gmail/v1/users/([^/]+)/drafts/send", path) and method == "POST":
            self._params(GMAIL, ("users", "drafts", "send"), query)
            validate(body, {"$ref": "Draft"}, GMAIL["schemas"], "")
            message = self._send_draft(str((body or {}).get("id", "")))
            return 200, {k: v for k, v in message.items() if k != "raw_bytes"}
        if re.fullmatch(r"/gmail/v1/users/([^/]+)/messages", path) and method == "GET":
            self._params(GMAIL, ("users", "messages", "list"), query)
            return 200, self._messages(query.get("q", [""])[0])
        match = re.fullmatch(r"/gmail/v1/users/([^/]+)/messages/([^/]+)", path)
        if match and method == "GET":
            self._params(GMAIL, ("users", "messages", "get"), query)
            sent = self.sent_store.get(match.group(2))
            if sent is None:
                raise ApiError(404, "Requested entity was not found.", "notFound")
            parsed = email.message_from_bytes(sent["raw_bytes"], policy=email.policy.default)
            return 200, {"id": sent["id"], "threadId": sent["threadId"],
                         "labelIds": sent["labelIds"], "payload": {"headers": [
                             {"name": k, "value": str(v)} for k, v in parsed.items()]}}
        match = re.fullmatch(r"/gmail/v1/users/([^/]+)/drafts(?:/([^/]+))?", path)
        if match:
            return self._drafts(method, match.group(2), query, body)
        raise ApiError(404, f"Not Found: {path}", "notFound")

    def _params(self, doc: dict[str, Any], names: tuple[str, ...], query: dict[str, list[str]]
                ) -> None:
        """The query parameters the method declares, and the scopes it needs (per the
        discovery document) among those the request's token was granted."""
        method = _method(doc, *names)
        granted = getattr(self, "_granted", None)
        if granted is not None:
            allowed = {s.rpartition("/")[2] or s for s in method.get("scopes", [])}
            # "https://mail.google.com/" shortens to "" above: keep it by name
            allowed |= {s for s in method.get("scopes", []) if s.endswith(".com/")}
            self._via = allowed & granted
            if not self._via:
                raise ApiError(403, "Request had insufficient authentication scopes.",
                               "insufficientPermissions")
            if self._via == {"gmail.metadata"} and "q" in query:
                # As at Google: the metadata scope lists messages but may not search them.
                raise ApiError(403, "Metadata scope does not support 'q' parameter",
                               "insufficientPermissions")
        scoped = getattr(self, "_scoped_calendar", None)
        if scoped is not None:
            self._calendar_scope(scoped)
        declared = method.get("parameters", {})
        for name in query:
            if name not in declared and name not in STANDARD_PARAMS:
                raise ApiError(400, f"Invalid parameter: {name}")

    # -- calendars ----------------------------------------------------------------------------
    def _calendar_scope(self, calendar_id: str) -> None:
        """calendar.app.created reaches only the calendars this app made (called after
        `_params` has checked the method itself)."""
        granted = getattr(self, "_granted", None)
        if granted is None or getattr(self, "_via", set()) - {"calendar.app.created"}:
            return
        if calendar_id not in self.own_calendars:
            raise ApiError(403, "Request had insufficient authentication scopes.",
                           "insufficientPermissions")

    def _insert_calendar(self, body: Any) -> dict[str, Any]:
        validate(body, {"$ref": "Calendar"}, CALENDAR["schemas"], "")
        if not isinstance(body, dict) or not body.get("summary"):
            raise ApiError(400, "Missing title.", "required")
        if "timeZone" in body and body["timeZone"] not in _zones():
            raise ApiError(400, "Invalid time zone definition for calendar.", "invalid")
        calendar_id = f"c{uuid.uuid4().hex[:16]}@group.calendar.google.com"
        made = {**body, "kind": "calendar#calendar", "id": calendar_id,
                "etag": f'"{next(self._ids)}"', "timeZone": body.get("timeZone", "UTC")}
        self.own_calendars[calendar_id] = made
        self.calendars[calendar_id] = {}
        return dict(made)

    def _calendar_list(self, query: dict[str, list[str]]) -> dict[str, Any]:
        entries = [{"kind": "calendar#calendarListEntry", "id": self.account,
                    "summary": self.account, "primary": True, "accessRole": "owner"}]
        entries += [{"kind": "calendar#calendarListEntry", "accessRole": "owner",
                     **{k: v for k, v in c.items() if k != "kind"}}
                    for c in self.own_calendars.values()]
        size = int(query.get("maxResults", ["100"])[0])
        start = int(query.get("pageToken", ["0"])[0] or 0)
        result: dict[str, Any] = {"kind": "calendar#calendarList",
                                  "items": entries[start:start + size]}
        if start + size < len(entries):
            result["nextPageToken"] = str(start + size)
        return result

    # -- calendar -----------------------------------------------------------------------------
    def _insert(self, store: dict[str, dict[str, Any]], body: Any, calendar_id: str,
                query: dict[str, list[str]]) -> dict[str, Any]:
        validate(body, {"$ref": "Event"}, CALENDAR["schemas"], "")
        _check_color(body)
        body = dict(body)
        conference = self._conference(None, body.pop("conferenceData", None), query)
        if conference:
            body["conferenceData"] = conference
        event_id = body.get("id") or uuid.uuid4().hex
        if not EVENT_ID.match(event_id):
            raise ApiError(400, "Invalid resource id value.", "invalid")
        if event_id in store:
            raise ApiError(409, "The requested identifier already exists.", "duplicate")
        now = _now()
        event = {**body, "id": event_id, "kind": "calendar#event", "status": "confirmed",
                 "etag": f'"{next(self._ids)}"', "created": now, "updated": now,
                 "sequence": 0, "iCalUID": body.get("iCalUID") or f"{event_id}@google.com",
                 "htmlLink": f"https://calendar.example/event?eid={event_id}",
                 "organizer": {"email": self.calendar_address(calendar_id), "self": True}}
        store[event_id] = event
        self.changed[(calendar_id, event_id)] = next(self._clock)
        return event

    def _one(self, store: dict[str, dict[str, Any]], event_id: str, method: str, body: Any,
             query: dict[str, list[str]]) -> tuple[int, Any]:
        event = store.get(event_id)
        if event is None:
            raise ApiError(404, "Not Found", "notFound")
        if method == "GET":
            self._progress_meeting(event)
            return 200, event
        if method == "DELETE":
            if event["status"] == "cancelled":
                raise ApiError(410, "Resource has been deleted", "deleted")
            event["status"] = "cancelled"
            event["updated"] = _now()
            return 204, None
        body = dict(body)
        cleared = [k for k, v in body.items() if v is None] if method == "PATCH" else []
        for key in cleared:  # PATCH semantics: a null clears the field
            del body[key]
        validate(body, {"$ref": "Event"}, CALENDAR["schemas"], "")
        _check_color(body)
        had = event.get("conferenceData")
        wanted = body.pop("conferenceData", None)
        if "conferenceData" in cleared:
            cleared.remove("conferenceData")
            if _version(query) == 1:
                event.pop("conferenceData", None)
                event.pop("hangoutLink", None)
        elif wanted is not None:
            conference = self._conference(had, wanted, query)
            if conference is not None:
                if conference is not had:
                    self._meeting_gets.pop(event_id, None)  # a new meeting, pending again
                event["conferenceData"] = conference
        for key in cleared:
            event.pop(key, None)
        if method == "PUT":
            kept = {k: event[k] for k in ("id", "kind", "created", "iCalUID", "htmlLink",
                                          "organizer")}
            event.clear()
            event.update({"status": "confirmed", **body, **kept})
        else:
            moved = any(key in body and body[key] != event.get(key)
                        for key in ("start", "recurrence"))
            if moved:  # a series whose own time changes loses its exceptions, as at Google
                for other in store.values():
                    if other.get("recurringEventId") == event_id:
                        other["status"] = "cancelled"
            for key, value in body.items():
                if key == "extendedProperties":
                    props = event.setdefault("extendedProperties", {})
                    for scope, values in value.items():
                        props.setdefault(scope, {}).update(values)
                else:
                    event[key] = value
        event["sequence"] = int(event.get("sequence", 0)) + 1
        event["etag"] = f'"{next(self._ids)}"'
        event["updated"] = _now()
        return 200, event

    def _conference(self, had: dict[str, Any] | None, wanted: Any,
                    query: dict[str, list[str]]) -> dict[str, Any] | None:
        """What Google makes of a write's conferenceData: dropped without
        conferenceDataVersion=1; a createRequest repeating the last requestId is ignored;
        another one makes a new meeting, "pending" at first."""
        if wanted is None or _version(query) != 1:
            return had
        request = wanted.get("createRequest")
        if request is None:
            return had
        kind = (request.get("conferenceSolutionKey") or {}).get("type")
        if kind not in CONFERENCE_TYPES:
            raise ApiError(400, "Invalid conference type value.", "invalid")
        if not request.get("requestId"):
            raise ApiError(400, "Missing conference request id.", "invalid")
        if had and (had.get("createRequest") or {}).get("requestId") == request["requestId"]:
            return had
        self.meetings_made += 1
        return {"createRequest": {**request, "status": {"statusCode": "pending"}}}

    def _progress_meeting(self, event: dict[str, Any]) -> None:
        data = event.get("conferenceData")
        if not data or data.get("createRequest", {}).get("status", {}).get(
                "statusCode") != "pending":
            return
        seen = self._meeting_gets.get(event["id"], 0)
        self._meeting_gets[event["id"]] = seen + 1
        if seen < self.pending_gets:
            return
        code = f"abc-{next(self._ids):04d}-xyz"
        data["createRequest"]["status"] = {"statusCode": "success"}
        data.update({"conferenceId": code,
                     "conferenceSolution": {"key": {"type": "hangoutsMeet"},
                                            "name": "Google Meet"},
                     "entryPoints": [{"entryPointType": "video",
                                      "uri": f"https://meet.google.com/{code}",
                                      "label": f"meet.google.com/{code}"}]})
        event["hangoutLink"] = f"https://meet.google.com/{code}"

    def _list(self, store: dict[str, dict[str, Any]], query: dict[str, list[str]],
              calendar_id: str) -> dict[str, Any]:
        wanted = [p.split("=", 1) for p in query.get("privateExtendedProperty", [])]
        show_deleted = query.get("showDeleted", ["false"])[0] == "true"
        uid = query.get("iCalUID", [None])[0]
        sync = query.get("syncToken", [None])[0]
        filtered = bool(wanted or uid or "timeMin" in query or "q" in query)
        since = 0
        if sync is not None:
            if filtered:
                raise ApiError(400, "syncToken cannot be combined with these parameters",
                               "invalid")
            match = re.fullmatch(r"sync-(\d+)", sync)
            if match is None or int(match.group(1)) < self.sync_floor:
                raise ApiError(410, "Sync token is no longer valid, a full sync is required.",
                               "fullSyncRequired")
            since = int(match.group(1))
        items = []
        for event in store.values():
            if sync is not None:
                if self.changed.get((calendar_id, event["id"]), 0) > since:
                    items.append(event)  # deleted ones too: that is how a sync learns of them
                continue
            private = event.get("extendedProperties", {}).get("private", {})
            if any(private.get(k) != v for k, v in wanted):
                continue
            if event["status"] == "cancelled" and not show_deleted:
                continue
            if uid and event.get("iCalUID") != uid:
                continue
            items.append(event)
        size = int(query.get("maxResults", ["250"])[0])
        start = int(query.get("pageToken", ["0"])[0] or 0)
        page = items[start:start + size]
        result: dict[str, Any] = {"kind": "calendar#events", "items": page}
        if start + size < len(items):
            result["nextPageToken"] = str(start + size)
        elif not filtered:
            result["nextSyncToken"] = f"sync-{next(self._clock)}"
        return result

    # -- gmail --------------------------------------------------------------------------------
    def _drafts(self, method: str, draft_id: str | None, query: dict[str, list[str]],
                body: Any) -> tuple[int, Any]:
        names = {("POST", False): "create", ("GET", False): "list", ("GET", True): "get",
                 ("PUT", True): "update", ("DELETE", True): "delete"}.get(
            (method, draft_id is not None))
        if names is None:
            raise ApiError(405, "Method not allowed")
        self._params(GMAIL, ("users", "drafts", names), query)
        if names in ("create", "update"):
            validate(body, {"$ref": "Draft"}, GMAIL["schemas"], "")
            raw = (body.get("message") or {}).get("raw")
            if not raw:
                raise ApiError(400, "Missing draft message", "invalidArgument")
            raw_bytes = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            if names == "create":
                draft_id = f"r{next(self._ids)}"
            elif draft_id not in self.draft_store:
                raise ApiError(404, "Requested entity was not found.", "notFound")
            assert draft_id is not None
            message_id = f"m{next(self._ids)}"
            wanted = (body.get("message") or {}).get("threadId")
            thread = self._thread_for(wanted, raw_bytes, draft_id) if wanted else message_id
            thread = thread or message_id  # the thread refused it: a conversation of its own
            self.draft_store[draft_id] = {"id": draft_id, "raw_bytes": raw_bytes,
                                          "message": {"id": message_id, "threadId": thread}}
            return 200, {"id": draft_id, "message": {"id": message_id, "threadId": thread,
                                                     "labelIds": ["DRAFT"]}}
        if names == "list":
            wanted = None
            for term in query.get("q", [""])[0].split():
                if term.startswith("rfc822msgid:"):
                    wanted = term.split(":", 1)[1].strip("<>")
            found = []
            for draft in self.draft_store.values():
                parsed = email.message_from_bytes(draft["raw_bytes"],
                                                  policy=email.policy.default)
                if wanted is None or str(parsed["Message-ID"]).strip("<>") == wanted:
                    found.append({"id": draft["id"], "message": draft["message"]})
            return 200, ({"drafts": found, "resultSizeEstimate": len(found)} if found
                         else {"resultSizeEstimate": 0})
        draft = self.draft_store.get(draft_id or "")
        if draft is None:
            raise ApiError(404, "Requested entity was not found.", "notFound")
        if names == "delete":
            del self.draft_store[draft["id"]]
            return 204, None
        parsed = email.message_from_bytes(draft["raw_bytes"], policy=email.policy.default)
        message = {**draft["message"], "payload": {
            "headers": [{"name": k, "value": str(v)} for k, v in parsed.items()]}}
        if query.get("format", ["full"])[0] == "raw":
            message["raw"] = base64.urlsafe_b64encode(draft["raw_bytes"]).decode()
        return 200, {"id": draft["id"], "message": message}

    def _thread_for(self, thread_id: str, raw_bytes: bytes, draft_id: str | None
                    ) -> str | None:
        """The thread a draft written with `threadId` joins, as Gmail decides it
        (developers.google.com/gmail/api/guides/threads): only when its References or
        In-Reply-To name a message of that thread and its Subject matches the thread's
        (Re:/Fwd:/AW: prefixes aside); None — a thread of its own — otherwise. A thread
        that does not exist is a 404."""
        members = [m for m in [*self.sent_store.values(),
                               *(d for d in self.draft_store.values() if d["id"] != draft_id)]
                   if (m.get("threadId") or m.get("message", {}).get("threadId")) == thread_id]
        if not members:
            raise ApiError(404, "Requested entity was not found.", "notFound")
        parsed = email.message_from_bytes(raw_bytes, policy=email.policy.default)
        heads = [email.message_from_bytes(m["raw_bytes"], policy=email.policy.default)
                 for m in members]
        ids = {str(h["Message-ID"]).strip() for h in heads}
        refs = set(str(parsed.get("References", "")).split()) | set(
            str(parsed.get("In-Reply-To", "")).split())
        if not refs & ids or thread_subject(str(parsed["Subject"])) != thread_subject(
                str(heads[0]["Subject"])):
            return None
        return thread_id

    def _messages(self, q: str) -> dict[str, Any]:
        """users.messages.list for the terms we use: rfc822msgid:<id> and in:sent."""
        wanted = None
        for term in q.split():
            if term.startswith("rfc822msgid:"):
                wanted = term.split(":", 1)[1].strip("<>")
            elif term != "in:sent":
                raise ApiError(400, f"emulator: unsupported search term {term!r}")
        found = []
        for message in self.sent_store.values():  # drafts are no search hits for in:sent
            parsed = email.message_from_bytes(message["raw_bytes"], policy=email.policy.default)
            if wanted is None or str(parsed["Message-ID"]).strip("<>") == wanted:
                found.append({"id": message["id"], "threadId": message["threadId"]})
        return ({"messages": found, "resultSizeEstimate": len(found)} if found
                else {"resultSizeEstimate": 0})

    # -- batch --------------------------------------------------------------------------------
    def _batch(self, headers: dict[str, str], raw: bytes, entry: Logged
               ) -> tuple[int, dict[str, str], bytes]:
        fault = self.faults.take("POST", "/batch")
        if fault is not None and fault.status:
            entry.status = fault.status
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return _json(fault.status, ApiError(fault.status, "Injected fault").body(), extra)
        if fault is not None and fault.kind == "drop":
            raise Dropped()
        parsed = email.message_from_bytes(
            f"Content-Type: {headers['content-type']}\r\n\r\n".encode() + raw,
            policy=email.policy.compat32)
        boundary = f"batch_{uuid.uuid4().hex}"
        out: list[str] = []
        for part in parsed.get_payload():
            content_id = part["Content-ID"]
            inner = part.get_payload(decode=False)
            request_line, rest = inner.split("\n", 1)
            method, target, _ = request_line.strip().split(" ", 2)
            head, _, body = rest.replace("\r\n", "\n").partition("\n\n")
            inner_headers = {k.strip().lower(): v.strip() for k, v in
                             (line.split(":", 1) for line in head.splitlines() if ":" in line)}
            inner_headers.setdefault("authorization", headers.get("authorization", ""))
            status, response_headers, payload = self.handle(
                method, target, inner_headers, body.encode(), batch_part=True)
            response_headers = {**response_headers, "Content-Length": str(len(payload))}
            header_lines = "".join(f"{k}: {v}\r\n" for k, v in response_headers.items())
            out.append(f"--{boundary}\r\nContent-Type: application/http\r\n"
                       f"Content-ID: <response-{content_id.strip('<>')}>\r\n\r\n"
                       f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}\r\n{header_lines}"
                       f"\r\n{payload.decode()}\r\n")
        entry.status = 200
        if fault is not None and fault.kind == "drop_after_apply":
            raise Dropped()
        body_text = "".join(out) + f"--{boundary}--\r\n"
        return 200, {"Content-Type": f"multipart/mixed; boundary={boundary}"}, body_text.encode()


_PREFIX = re.compile(r"^\s*(re|fwd?|aw|wg|sv|antw|tr)\s*(\[\d+\])?\s*:\s*", re.IGNORECASE)


def thread_subject(subject: str) -> str:
    """A subject as Gmail compares it for threading: reply and forward prefixes (Re:, Fwd:,
    AW:, …) stripped, case and runs of white space ignored."""
    text = subject
    while (stripped := _PREFIX.sub("", text, count=1)) != text:
        text = stripped
    return " ".join(text.split()).casefold()


def _version(query: dict[str, list[str]]) -> int:
    try:
        return int(query.get("conferenceDataVersion", ["0"])[0])
    except ValueError:
        raise ApiError(400, "Invalid conferenceDataVersion", "invalid") from None


def _check_color(body: dict[str, Any]) -> None:
    if "colorId" in body and body["colorId"] not in COLOR_IDS:
        raise ApiError(400, "Invalid color id value.", "invalid")


def _answer(event: dict[str, Any], email: str, status: str) -> None:
    for attendee in event.get("attendees", []):
        if attendee["email"].lower() == email.lower():
            attendee["responseStatus"] = status
            return
    raise AssertionError(f"{email} is not invited to {event['id']}")


@functools.lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    """The IANA names Calendar takes as a timeZone (anything else is a 400 there)."""
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


def _aware(wall: str, zone: str) -> Any:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(wall).replace(tzinfo=ZoneInfo(zone))


def _seconds(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()


def _plus(text: str, seconds: float) -> str:
    from datetime import datetime, timedelta

    return (datetime.fromisoformat(text) + timedelta(seconds=seconds)).isoformat()


_REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
            404: "Not Found", 409: "Conflict", 410: "Gone", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def _json(status: int, payload: Any, extra: dict[str, str] | None = None
          ) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json; charset=UTF-8", **(extra or {})}, (
        json.dumps(payload).encode())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    emulator: GoogleEmulator

    def log_message(self, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        emulator = self.server.emulator  # type: ignore[attr-defined]
        emulator.http_calls += 1
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, response_headers, body = emulator.handle(self.command, self.path, headers,
                                                             raw, batch_part=False)
        except Dropped:
            drop(self)
            return
        self.send_response(status)
        for key, value in response_headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class GoogleServer(LoopbackServer):
    def __init__(self, emulator: GoogleEmulator) -> None:
        super().__init__(emulator, _Handler, "/")


@pytest.fixture
def google_emulator():
    with serving(GoogleServer(GoogleEmulator())) as emulator:
        yield emulator
