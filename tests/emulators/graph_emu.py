"""A stateful Microsoft Graph v1.0 emulator for the tests (events, messages, $batch).

Reached over real HTTP by the outlook target. Bodies are checked against the fields Graph
knows (unknown ones are a 400 `RequestBodyRead`, as at Microsoft); `transactionId` dedups
creates; `$filter` on a single-value extended property finds tagged events. Faults as in
the Google emulator: `emu.faults.push(status=429, retry_after="1")`, `kind="drop"`,
`kind="drop_after_apply"`, `emu.faults.random(rate=0.2, seed=…)`; they apply to each
top-level request and to each `$batch` sub-request.

A test acts as the people in the calendar: `respond` (an attendee answers the event or the
whole series), `respond_occurrence`, `move_occurrence`, `cancel_occurrence` (one occurrence
becomes an exception), `move_series` and `delete` (the organizer edits in Outlook; the
changeKey changes). `GET /me/calendarView/delta` expands series into occurrences within the
window (weekly and daily patterns) and answers with a deltaLink; following it returns only
what changed since, and `expire_sync_tokens()` makes such a link a 410, as at Graph.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from .google_emu import Dropped, Emulator, Logged
from .loopback import LoopbackServer, drop, serving

EVENT_FIELDS = {
    "subject": str, "body": dict, "start": dict, "end": dict, "isAllDay": bool,
    "location": dict, "attendees": list, "recurrence": dict, "isReminderOn": bool,
    "reminderMinutesBeforeStart": int, "transactionId": str,
    "singleValueExtendedProperties": list, "showAs": str, "categories": list,
    "allowNewTimeProposals": bool, "responseRequested": bool, "importance": str,
    "sensitivity": str, "isOnlineMeeting": bool, "onlineMeetingProvider": str,
}
CATEGORY_COLORS = {"none", *(f"preset{i}" for i in range(25))}
PROVIDERS = {"unknown", "skypeForBusiness", "skypeForConsumer", "teamsForBusiness"}
MESSAGE_FIELDS = {"subject": str, "body": dict, "toRecipients": list, "ccRecipients": list,
                  "internetMessageId": str, "attachments": list,
                  "singleValueExtendedProperties": list, "importance": str}
PATTERN_TYPES = {"daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly",
                 "relativeYearly"}
RANGE_TYPES = {"endDate", "noEnd", "numbered"}
FILTER_PROP = re.compile(r"singleValueExtendedProperties/Any\(ep: ep/id eq '((?:[^']|'')*)' "
                         r"and ep/value eq '((?:[^']|'')*)'\)$")
FILTER_MSGID = re.compile(r"internetMessageId eq '((?:[^']|'')*)'$")
EXPAND = re.compile(r"singleValueExtendedProperties\(\$filter=(.*)\)$")
DEFAULT_CALENDAR = "cal1"
CALENDAR_FIELDS = {"name": str, "color": str, "singleValueExtendedProperties": list}


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": str(self)}}


def _check(body: Any, fields: dict[str, type], what: str) -> None:
    if not isinstance(body, dict):
        raise GraphError(400, "RequestBodyRead", f"{what} body must be a JSON object")
    for key, value in body.items():
        if key.startswith("@odata"):
            continue
        if key not in fields:
            raise GraphError(400, "RequestBodyRead",
                             f"The property '{key}' does not exist on type "
                             f"'microsoft.graph.{what}'.")
        kind = fields[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise GraphError(400, "RequestBodyRead", f"Invalid value for '{key}'")
    if what == "event":
        for side in ("start", "end"):
            if side in body and set(body[side]) - {"dateTime", "timeZone"}:
                raise GraphError(400, "RequestBodyRead", f"bad {side}")
        recurrence = body.get("recurrence")
        if recurrence is not None:
            pattern, rng = recurrence.get("pattern", {}), recurrence.get("range", {})
            if pattern.get("type") not in PATTERN_TYPES or rng.get("type") not in RANGE_TYPES:
                raise GraphError(400, "RequestBodyRead", "bad recurrence")
            if rng.get("startDate") != body.get("start", {}).get("dateTime", "")[:10]:
                raise GraphError(400, "ErrorPropertyValidationFailure",
                                 "recurrence range startDate must equal the start date")
        for attendee in body.get("attendees", []):
            if set(attendee) - {"emailAddress", "type"}:
                raise GraphError(400, "RequestBodyRead", "bad attendee")
    for prop in body.get("singleValueExtendedProperties", []):
        if set(prop) != {"id", "value"}:
            raise GraphError(400, "RequestBodyRead", "bad extended property")


@dataclass
class GraphEmulator(Emulator):
    token: str = "graph-token"
    store: dict[str, dict[str, Any]] = field(default_factory=dict)
    cancelled: list[dict[str, Any]] = field(default_factory=list)
    message_store: dict[str, dict[str, Any]] = field(default_factory=dict)
    # What the calendar offers: a work account has Teams; a personal one skypeForConsumer.
    allowed_providers: list[str] = field(default_factory=lambda: ["teamsForBusiness"])
    master_categories: list[dict[str, Any]] = field(default_factory=list)
    account: str = "organizer@example.net"  # the signed-in user (`/me`)
    #: (address, event id, "invite" | "update" | "cancel") for every mail Graph would send:
    #: Graph mails every attendee of what it writes; there is no way to tell it not to
    notified: list[tuple[str, str, str]] = field(default_factory=list)
    #: calendars made with POST /me/calendars (id → calendar); "cal1" is the default one
    calendars: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted_calendars: set[str] = field(default_factory=set)
    #: event id → the calendar it is in (absent: the default calendar)
    event_calendar: dict[str, str] = field(default_factory=dict)

    def events_in(self, calendar_id: str = DEFAULT_CALENDAR) -> list[dict[str, Any]]:
        return [e for e in self.store.values()
                if self.event_calendar.get(e["id"], DEFAULT_CALENDAR) == calendar_id]

    def _notify(self, event: dict[str, Any], what: str) -> None:
        for attendee in event.get("attendees", []):
            address = attendee.get("emailAddress", {}).get("address", "")
            if address.lower() != self.account.lower():
                self.notified.append((address, event["id"], what))

    def __post_init__(self) -> None:
        super().__post_init__()
        self.changed: dict[str, int] = {}  # event id, or "<id>_<stamp>" of an occurrence
        self.overrides: dict[str, dict[str, dict[str, Any]]] = {}  # id → stamp → changes
        self.deltas: dict[str, tuple[int, str, str, str]] = {}  # token → (tick, path, window)
        self.prefer_zone = ""  # the Windows zone the request being answered asked for

    # -- acting as the people in the calendar -------------------------------------------------
    def find(self, key: str) -> dict[str, Any]:
        (event,) = [e for e in self.store.values()
                    if any(p["value"] == key and p["id"].endswith("designedAllianceKey")
                           for p in e.get("singleValueExtendedProperties", []))]
        return event

    def _touch(self, event: dict[str, Any]) -> None:
        event["changeKey"] = f"ck{next(self._ids)}"
        self.changed[event["id"]] = next(self._clock)

    def respond(self, key: str, email: str, status: str) -> None:
        with self._lock:
            event = self.find(key)
            _answer(event["attendees"], email, status)
            self._touch(event)

    def occurrences(self, key: str) -> list[str]:
        return [wall for wall, _ in _expand(self.find(key))]

    def _override(self, key: str, wall: str) -> dict[str, Any]:
        event = self.find(key)
        assert wall in self.occurrences(key), (wall, self.occurrences(key))
        stamp = wall.replace("-", "").replace(":", "")
        self.changed[f"{event['id']}_{stamp}"] = next(self._clock)
        return self.overrides.setdefault(event["id"], {}).setdefault(wall, {})

    def respond_occurrence(self, key: str, wall: str, email: str, status: str) -> None:
        with self._lock:
            self._override(key, wall).setdefault("answers", {})[email.lower()] = status

    def move_occurrence(self, key: str, wall: str, start: str) -> None:
        with self._lock:
            self._override(key, wall)["start"] = start

    def cancel_occurrence(self, key: str, wall: str) -> None:
        with self._lock:
            self._override(key, wall)["cancelled"] = True

    def edit(self, key: str, **fields: Any) -> None:
        """The organizer edits the event in Outlook (e.g. its location)."""
        with self._lock:
            event = self.find(key)
            event.update(fields)
            self._touch(event)

    def move_series(self, key: str, start: str) -> None:
        """The organizer moves the event (or series) to local wall time `start`."""
        from datetime import datetime

        with self._lock:
            event = self.find(key)
            old = datetime.fromisoformat(event["start"]["dateTime"])
            new = datetime.fromisoformat(start)
            end = datetime.fromisoformat(event["end"]["dateTime"]) + (new - old)
            event["start"] = {**event["start"], "dateTime": new.isoformat(timespec="seconds")}
            event["end"] = {**event["end"], "dateTime": end.isoformat(timespec="seconds")}
            if event.get("recurrence"):
                event["recurrence"]["range"]["startDate"] = new.date().isoformat()
            self._touch(event)

    def delete(self, key: str) -> None:
        with self._lock:
            event = self.find(key)
            self.cancelled.append(self.store.pop(event["id"]))
            self.changed[event["id"]] = next(self._clock)

    def events(self) -> list[dict[str, Any]]:
        return list(self.store.values())

    def messages(self) -> list[dict[str, Any]]:
        return list(self.message_store.values())

    def handle(self, method: str, target: str, headers: dict[str, str], body: Any,
               batch_part: bool) -> tuple[int, dict[str, str], Any]:
        split = urlsplit(target)
        path = unquote(split.path)
        if path.startswith("/v1.0"):
            path = path[len("/v1.0"):]
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        entry = Logged(method, path, {k: [v] for k, v in query.items()}, body, batch_part)
        self.requests.append(entry)
        if headers.get("authorization") != f"Bearer {self.token}":
            entry.status = 401
            return 401, {}, GraphError(401, "InvalidAuthenticationToken",
                                       "Access token is empty or invalid.").body()
        if path == "/$batch" and method == "POST":
            return self._batch(headers, body, entry)
        fault = self.faults.take(method, path)
        if fault is not None and fault.status:
            entry.status = fault.status
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return fault.status, extra, GraphError(fault.status, "TooManyRequests",
                                                   "Injected fault").body()
        if fault is not None and fault.kind == "drop":
            raise Dropped()
        try:
            with self._lock:
                # Graph answers times in the zone `Prefer: outlook.timezone` names.
                prefer = re.search(r'outlook\.timezone="([^"]+)"', headers.get("prefer", ""))
                self.prefer_zone = prefer.group(1) if prefer else ""
                status, payload = self._route(method, path, query, body)
        except GraphError as exc:
            entry.status = exc.status
            return exc.status, exc.headers, exc.body()
        entry.status = status
        if fault is not None and fault.kind == "drop_after_apply":
            raise Dropped()
        return status, {}, payload

    # -- routing ------------------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict[str, str], body: Any
               ) -> tuple[int, Any]:
        if path == "/me" and method == "GET":
            return 200, {"id": "user-1", "mail": self.account,
                         "userPrincipalName": self.account}
        if path == "/me/calendars":
            return self._calendars(method, query, body)
        match = re.fullmatch(r"/me/calendars/([^/]+)", path)
        if match and (method in ("PATCH", "DELETE") or match.group(1) in self.calendars
                      or match.group(1) in self.deleted_calendars):
            return self._one_calendar(method, match.group(1), body)
        if re.fullmatch(r"/me/calendar|/me/calendars/[^/]+", path) and method == "GET":
            return 200, {"id": "cal1", "name": "Calendar", "canEdit": True,
                         "allowedOnlineMeetingProviders": list(self.allowed_providers),
                         "defaultOnlineMeetingProvider": (self.allowed_providers or
                                                          ["unknown"])[0]}
        if path == "/me/outlook/masterCategories":
            return self._categories(method, body)
        if re.fullmatch(r"/me(/calendars/[^/]+)?/calendarView/delta", path) and method == "GET":
            return 200, self._delta(path, query)
        match = re.fullmatch(r"/me(?:/calendars/([^/]+))?/events", path)
        if match:
            calendar_id = match.group(1) or DEFAULT_CALENDAR
            if calendar_id != DEFAULT_CALENDAR and calendar_id not in self.calendars:
                raise GraphError(404, "ErrorItemNotFound",
                                 "The specified object was not found in the store.")
            if method == "POST":
                return self._create(body, calendar_id)
            if method == "GET":
                return 200, self._list(query, calendar_id)
        match = re.fullmatch(r"/me/events/([^/]+)(/cancel)?", path)
        if match:
            event = self.store.get(match.group(1))
            if event is None:
                raise GraphError(404, "ErrorItemNotFound", "The specified object was not found "
                                 "in the store.")
            if match.group(2) and method == "POST":
                if not event.get("attendees"):
                    raise GraphError(400, "ErrorInvalidRequest",
                                     "Your request can't be completed. You can't cancel a "
                                     "meeting that has no attendees.")
                self.cancelled.append(self.store.pop(event["id"]))
                self._notify(event, "cancel")
                self.changed[event["id"]] = next(self._clock)
                return 202, None
            if method == "GET":
                return 200, self._shape(event, query)
            if method == "PATCH":
                _check(body, EVENT_FIELDS, "event")
                if "transactionId" in body:
                    raise GraphError(400, "ErrorInvalidRequest", "transactionId is read-only")
                self._online_meeting(body, event)
                props = {p["id"]: p for p in event.get("singleValueExtendedProperties", [])}
                for prop in body.pop("singleValueExtendedProperties", []):
                    props[prop["id"]] = prop
                moved = any(k in body and body[k] != event.get(k)
                            for k in ("start", "recurrence"))
                if moved:  # a series whose own time changes loses its exceptions
                    self.overrides.pop(event["id"], None)
                event.update(body)
                event["singleValueExtendedProperties"] = list(props.values())
                self._touch(event)
                self._notify(event, "update")
                return 200, self._shape(event, {})
            if method == "DELETE":
                self.cancelled.append(self.store.pop(event["id"]))
                self.changed[event["id"]] = next(self._clock)
                return 204, None
        if path == "/me/messages":
            if method == "POST":
                _check(body, MESSAGE_FIELDS, "message")
                message_id = f"msg{next(self._ids)}"
                stored = {**body, "id": message_id, "isDraft": True,
                          "conversationId": f"conv-{message_id}"}
                stored.setdefault("internetMessageId", f"<{message_id}@emulator>")
                self.message_store[message_id] = stored
                return 201, {k: v for k, v in stored.items() if k != "attachments"}
            if method == "GET":
                wanted = FILTER_MSGID.match(query.get("$filter", ""))
                if "$filter" in query and not wanted:
                    raise GraphError(400, "BadRequest", "Unsupported filter")
                found = [m for m in self.message_store.values()
                         if not wanted or m["internetMessageId"] == wanted.group(1).replace(
                             "''", "'")]
                return 200, {"value": [self._shape(m, query) for m in found]}
        match = re.fullmatch(r"/me/messages/([^/]+)(?:/(send|createReply))?", path)
        if match:
            message = self.message_store.get(match.group(1))
            if message is None:
                raise GraphError(404, "ErrorItemNotFound", "not found")
            action = match.group(2)
            if action is None and method == "DELETE":
                del self.message_store[match.group(1)]
                return 204, None
            if action is None and method == "GET":
                return 200, self._shape(message, query)
            if action == "send" and method == "POST":
                if not message["isDraft"]:
                    raise GraphError(400, "ErrorInvalidRequest", "already sent")
                # Sending moves it to Sent Items, where it gets another id.
                del self.message_store[message["id"]]
                sent_id = f"msg{next(self._ids)}"
                self.message_store[sent_id] = {**message, "id": sent_id, "isDraft": False}
                return 202, None
            if action == "createReply" and method == "POST":
                reply = (body or {}).get("message") or {}
                _check(reply, MESSAGE_FIELDS, "message")
                if message["isDraft"]:
                    raise GraphError(400, "ErrorInvalidRequest", "cannot reply to a draft")
                reply_id = f"msg{next(self._ids)}"
                stored = {"subject": "RE: " + message.get("subject", ""), **reply,
                          "id": reply_id, "isDraft": True, "inReplyTo": message["id"],
                          "conversationId": message["conversationId"]}
                stored.setdefault("internetMessageId", f"<{reply_id}@emulator>")
                self.message_store[reply_id] = stored
                return 201, {k: v for k, v in stored.items() if k != "attachments"}
        raise GraphError(400, "BadRequest", f"Unsupported request {method} {path}")

    def _delta(self, path: str, query: dict[str, str]) -> dict[str, Any]:
        token = query.get("$deltatoken")
        if token is not None:
            if token not in self.deltas or self.deltas[token][0] < self.sync_floor:
                raise GraphError(410, "SyncStateNotFound",
                                 "The sync state generation is not found. Resync is required.")
            since, path, begin, end = self.deltas[token]
        else:
            since = 0
            begin, end = query.get("startDateTime", ""), query.get("endDateTime", "")
            if not begin or not end:
                raise GraphError(400, "ErrorInvalidParameter",
                                 "startDateTime and endDateTime are required")
        items: list[dict[str, Any]] = []
        inside = re.fullmatch(r"/me/calendars/([^/]+)/calendarView/delta", path)
        for event in self.events_in(inside.group(1) if inside else DEFAULT_CALENDAR):
            master_changed = self.changed.get(event["id"], 0) > since
            for _, item in self._view(event, begin, end):
                if master_changed or self.changed.get(item["id"], 0) > since:
                    items.append(item)
        for event in self.cancelled:
            if since and self.changed.get(event["id"], 0) > since:
                items.extend({"@removed": {"reason": "deleted"}, "id": item["id"]}
                             for _, item in self._view(event, begin, end))
        tick = next(self._clock)
        new = f"d{tick}"
        self.deltas[new] = (tick, path, begin, end)
        return {"value": items,
                "@odata.deltaLink": f"{self.base_url}{path.lstrip('/')}?$deltatoken={new}"}

    def _view(self, event: dict[str, Any], begin: str, end: str
              ) -> list[tuple[str, dict[str, Any]]]:
        """The event as calendarView shows it: occurrences of a series (with overrides),
        or the event itself."""
        from datetime import datetime

        first, last = begin[:16], end[:16]
        plain = {k: v for k, v in self._shape(event, {}).items() if k != "recurrence"}
        if not event.get("recurrence"):
            wall = event["start"]["dateTime"][:16]
            return [(wall, {**plain, "type": "singleInstance"})] if first <= wall < last else []
        out = []
        length = (datetime.fromisoformat(event["end"]["dateTime"])
                  - datetime.fromisoformat(event["start"]["dateTime"]))
        for wall, stamp in _expand(event):
            if not first <= wall < last:
                continue
            changes = self.overrides.get(event["id"], {}).get(wall, {})
            if changes.get("cancelled"):
                continue  # a cancelled occurrence is no longer in the view
            start = datetime.fromisoformat(changes.get("start", wall))
            attendees = json.loads(json.dumps(event.get("attendees", [])))
            for email, status in changes.get("answers", {}).items():
                _answer(attendees, email, status)
            item = {**plain, "id": f"{event['id']}_{stamp}", "seriesMasterId": event["id"],
                    "type": "exception" if changes else "occurrence",
                    "originalStart": _utc(wall, event["start"]["timeZone"]),
                    "start": {"dateTime": start.isoformat(timespec="seconds") + ".0000000",
                              "timeZone": event["start"]["timeZone"]},
                    "end": {"dateTime": (start + length).isoformat(timespec="seconds")
                            + ".0000000", "timeZone": event["end"]["timeZone"]},
                    "attendees": attendees}
            out.append((wall, item))
        return out

    def _calendars(self, method: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        """POST makes a calendar (a name is required; one name once per mailbox: 409
        ErrorFolderExists, as at Graph); GET lists them, $filter on an extended property."""
        if method == "POST":
            _check(body, CALENDAR_FIELDS, "calendar")
            name = body.get("name")
            if not name:
                raise GraphError(400, "ErrorInvalidParameter", "The calendar name is required.")
            if name.lower() == "calendar" or any(
                    c["name"].lower() == name.lower() for c in self.calendars.values()):
                raise GraphError(409, "ErrorFolderExists",
                                 "A folder with the specified name already exists.")
            calendar_id = f"AAMkCal{next(self._ids):04d}"
            made = {**body, "id": calendar_id, "canEdit": True, "isDefaultCalendar": False,
                    "changeKey": f"ck{next(self._ids)}",
                    "allowedOnlineMeetingProviders": list(self.allowed_providers)}
            self.calendars[calendar_id] = made
            return 201, self._shape(made, {})
        if method != "GET":
            raise GraphError(405, "MethodNotAllowed", "not allowed")
        found = [{"id": DEFAULT_CALENDAR, "name": "Calendar", "isDefaultCalendar": True},
                 *self.calendars.values()]
        return 200, {"value": [self._shape(c, query) for c in _tagged(found, query)]}

    def _one_calendar(self, method: str, calendar_id: str, body: Any) -> tuple[int, Any]:
        if calendar_id == DEFAULT_CALENDAR and method == "DELETE":
            raise GraphError(400, "ErrorInvalidRequest", "The default calendar cannot be "
                             "deleted.")
        calendar = self.calendars.get(calendar_id)
        if calendar is None:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found "
                             "in the store.")
        if method == "GET":
            return 200, self._shape(calendar, {})
        if method == "DELETE":
            del self.calendars[calendar_id]
            self.deleted_calendars.add(calendar_id)
            for event_id in [i for i, c in self.event_calendar.items() if c == calendar_id]:
                self.store.pop(event_id, None)  # its events go with it, without a word
                del self.event_calendar[event_id]
            return 204, None
        _check(body, CALENDAR_FIELDS, "calendar")
        calendar.update(body)
        calendar["changeKey"] = f"ck{next(self._ids)}"
        return 200, self._shape(calendar, {})

    def _create(self, body: Any, calendar_id: str = DEFAULT_CALENDAR) -> tuple[int, Any]:
        _check(body, EVENT_FIELDS, "event")
        tx = body.get("transactionId")
        if tx:
            for event in self.store.values():
                if event.get("transactionId") == tx:
                    return 201, self._shape(event, {})
        event_id = f"AAMk{next(self._ids):06d}"
        event = {**body, "id": event_id, "changeKey": f"ck{next(self._ids)}",
                 "isCancelled": False, "iCalUId": f"040000008200E{event_id}",
                 "organizer": {"emailAddress": {"address": self.account}}}
        for attendee in event.get("attendees", []):
            attendee["status"] = {"response": "none", "time": "0001-01-01T00:00:00Z"}
        self._online_meeting(body, event)
        self.store[event_id] = event
        if calendar_id != DEFAULT_CALENDAR:
            self.event_calendar[event_id] = calendar_id
        self.changed[event_id] = next(self._clock)
        self._notify(event, "invite")
        return 201, self._shape(event, {})

    def _online_meeting(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """isOnlineMeeting makes a meeting with the calendar's provider (or the one named,
        which the calendar must allow); an update keeps the meeting it has."""
        provider = body.get("onlineMeetingProvider")
        if provider is not None and (provider not in PROVIDERS
                                     or provider not in self.allowed_providers):
            raise GraphError(400, "ErrorInvalidArgument",
                             f"The online meeting provider '{provider}' is not allowed for "
                             "this calendar.")
        if body.get("isOnlineMeeting") is True:
            if not event.get("onlineMeeting"):
                made = provider or (self.allowed_providers or ["unknown"])[0]
                event["onlineMeetingProvider"] = made
                event["onlineMeeting"] = {
                    "joinUrl": f"https://teams.microsoft.com/l/meetup-join/{event['id']}"}
        elif body.get("isOnlineMeeting") is False:
            event.pop("onlineMeeting", None)
            event["onlineMeetingProvider"] = "unknown"

    def _categories(self, method: str, body: Any) -> tuple[int, Any]:
        if method == "GET":
            return 200, {"value": [dict(c) for c in self.master_categories]}
        if method != "POST":
            raise GraphError(405, "MethodNotAllowed", "not allowed")
        if not isinstance(body, dict) or set(body) - {"displayName", "color"}:
            raise GraphError(400, "RequestBodyRead", "bad outlookCategory")
        name = body.get("displayName")
        if not isinstance(name, str) or not name:
            raise GraphError(400, "ErrorInvalidArgument", "displayName is required")
        if body.get("color", "none") not in CATEGORY_COLORS:
            raise GraphError(400, "ErrorInvalidArgument", "Invalid category color")
        if any(c["displayName"].lower() == name.lower() for c in self.master_categories):
            raise GraphError(409, "ErrorDuplicateCategory",
                             "A category with that display name already exists.")
        made = {"id": f"cat{next(self._ids)}", "displayName": name,
                "color": body.get("color", "none")}
        self.master_categories.append(made)
        return 201, dict(made)

    def _list(self, query: dict[str, str], calendar_id: str = DEFAULT_CALENDAR
              ) -> dict[str, Any]:
        events = self.events_in(calendar_id)
        events = _tagged(events, query)
        top = int(query.get("$top", "10"))
        skip = int(query.get("$skip", "0"))
        page = events[skip:skip + top]
        result: dict[str, Any] = {"value": [_in_zone(self._shape(e, query), self.prefer_zone)
                                            for e in page]}
        if skip + top < len(events):
            rest = {**query, "$skip": str(skip + top)}
            from urllib.parse import urlencode

            where = "me/events" if calendar_id == DEFAULT_CALENDAR else (
                f"me/calendars/{calendar_id}/events")
            result["@odata.nextLink"] = f"{self.base_url}{where}?{urlencode(rest)}"
        return result

    def _shape(self, item: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        """Extended properties come back only when $expand asks for them, as at Graph."""
        shaped = {k: v for k, v in item.items()
                  if k not in ("singleValueExtendedProperties", "attachments", "transactionId")}
        expand = EXPAND.match(query.get("$expand", ""))
        if expand:
            wanted = {w.lower() for w in re.findall(r"id eq '((?:[^']|'')*)'", expand.group(1))}
            shaped["singleValueExtendedProperties"] = [
                p for p in item.get("singleValueExtendedProperties", [])
                if p["id"].lower() in wanted]
        return shaped

    # -- $batch -------------------------------------------------------------------------------
    def _batch(self, headers: dict[str, str], body: Any, entry: Logged
               ) -> tuple[int, dict[str, str], Any]:
        fault = self.faults.take("POST", "/$batch")
        if fault is not None and fault.status:
            entry.status = fault.status
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return fault.status, extra, GraphError(fault.status, "TooManyRequests",
                                                   "Injected").body()
        if fault is not None and fault.kind == "drop":
            raise Dropped()
        requests = (body or {}).get("requests", [])
        if len(requests) > 20:
            entry.status = 400
            return 400, {}, GraphError(400, "BadRequest",
                                       "Number of batch request steps exceeds the maximum "
                                       "value of 20.").body()
        responses = []
        for sub in requests:
            status, sub_headers, payload = self.handle(
                sub["method"], sub["url"], {"authorization": headers.get("authorization", "")},
                sub.get("body"), batch_part=True)
            responses.append({"id": sub["id"], "status": status, "headers": sub_headers,
                              "body": payload})
        entry.status = 200
        if fault is not None and fault.kind == "drop_after_apply":
            raise Dropped()
        return 200, {}, {"responses": responses}


GRAPH_ANSWERS = {"accepted": "accepted", "declined": "declined",
                 "tentative": "tentativelyAccepted", "none": "none"}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _tagged(items: list[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
    """The items a `$filter` on one single-value extended property keeps (all without one);
    any other filter is a 400, as Graph refuses what it cannot evaluate."""
    if "$filter" not in query:
        return items
    match = FILTER_PROP.match(query["$filter"])
    if not match:
        raise GraphError(400, "BadRequest", "Unsupported $filter")
    prop_id, value = (g.replace("''", "'") for g in match.groups())
    return [i for i in items
            if any(p["id"].lower() == prop_id.lower() and p["value"] == value
                   for p in i.get("singleValueExtendedProperties", []))]


def _answer(attendees: list[dict[str, Any]], email: str, status: str) -> None:
    for attendee in attendees:
        if attendee["emailAddress"]["address"].lower() == email.lower():
            attendee["status"] = {"response": GRAPH_ANSWERS[status],
                                  "time": "2027-01-01T00:00:00Z"}
            return
    raise AssertionError(f"{email} is not invited")


def _expand(event: dict[str, Any]) -> list[tuple[str, str]]:
    """(local wall time, id stamp) of each occurrence of a daily or weekly series."""
    from datetime import date, datetime, timedelta

    recurrence = event["recurrence"]
    pattern, rng = recurrence["pattern"], recurrence["range"]
    start = datetime.fromisoformat(event["start"]["dateTime"])
    last = date.fromisoformat(rng["endDate"]) if rng["type"] == "endDate" else (
        start.date() + timedelta(days=366))
    interval = int(pattern.get("interval", 1))
    if pattern["type"] == "daily":
        days = [start.date() + timedelta(days=i * interval)
                for i in range((last - start.date()).days // interval + 1)]
    elif pattern["type"] == "weekly":
        wanted = {WEEKDAYS.index(d) for d in pattern["daysOfWeek"]}
        monday = start.date() - timedelta(days=start.weekday())
        days = []
        week = 0
        while monday + timedelta(weeks=week) <= last:
            for offset in range(7):
                day = monday + timedelta(weeks=week, days=offset)
                if offset in wanted and start.date() <= day <= last:
                    days.append(day)
            week += interval
    else:
        raise NotImplementedError(f"the emulator expands no {pattern['type']} series")
    out = []
    for day in days:
        moment = datetime.combine(day, start.time())
        out.append((moment.strftime("%Y-%m-%dT%H:%M"), moment.strftime("%Y%m%dT%H%M")))
    return out


def _in_zone(event: dict[str, Any], windows_zone: str) -> dict[str, Any]:
    """The event with its start and end in `windows_zone` (as Graph answers a Prefer)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from designed_alliance.integrations.outlook.timezones import table

    if not windows_zone or event.get("isAllDay"):
        return event
    iana = {w: i for i, w in reversed(list(table().items()))}
    out = dict(event)
    for name in ("start", "end"):
        moment = event.get(name) or {}
        own = moment.get("timeZone")
        if own in (None, windows_zone) or own not in iana or windows_zone not in iana:
            continue
        wall = datetime.fromisoformat(moment["dateTime"]).replace(tzinfo=ZoneInfo(iana[own]))
        there = wall.astimezone(ZoneInfo(iana[windows_zone])).replace(tzinfo=None)
        out[name] = {"dateTime": there.isoformat(timespec="seconds"),
                     "timeZone": windows_zone}
    return out


def _utc(wall: str, windows_zone: str) -> str:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from designed_alliance.integrations.outlook.timezones import table

    iana = next(i for i, w in table().items() if w == windows_zone)
    moment = datetime.fromisoformat(wall).replace(tzinfo=ZoneInfo(iana))
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        emulator: GraphEmulator = self.server.emulator  # type: ignore[attr-defined]
        emulator.http_calls += 1
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, extra, payload = emulator.handle(self.command, self.path, headers, body,
                                                     batch_part=False)
        except Dropped:
            drop(self)
            return
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for key, value in extra.items():
            self.send_header(key, value)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = _serve


class GraphServer(LoopbackServer):
    def __init__(self, emulator: GraphEmulator) -> None:
        super().__init__(emulator, _Handler, "/v1.0/")


@pytest.fixture
def graph_emulator():
    with serving(GraphServer(GraphEmulator())) as emulator:
        yield emulator
