"""The `outlook` target: events and a kickoff draft in Microsoft 365 / Outlook via Graph REST.

Plain HTTP with requests (the msgraph SDK is too heavy for a CLI). Writes are grouped into
JSON `$batch` requests of at most 20; creates carry a `transactionId`, so a retried create
after a lost response returns the first event instead of making a second one.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, ClassVar
from urllib.parse import quote

from designed_alliance.core.config import Config
from designed_alliance.core.errors import AllianceError, MissingExtra
from designed_alliance.core.items import Event, Item, Message
from designed_alliance.core.items import message_id as item_message_id
from designed_alliance.core.plan import Action, Change, TargetPlan
from designed_alliance.core.target import Applied, ApplyContext, Options, Remote, Target

from .. import mail
from ..retry import RETRYABLE_STATUS, Backoff, Pending, wait_for_round
from .auth import TokenProvider

DEFAULT_ROOT = "https://graph.microsoft.com/v1.0/"
BATCH_LIMIT = 20  # Graph's JSON batching limit
# Our own property set: the GUID names the namespace, the names the tags.
_PSET = "{6d1b7a3e-2c4f-4e8a-9b5d-3f0a1c7e2d64}"
PROP_ALLIANCE = f"String {_PSET} Name designedAllianceId"
PROP_KEY = f"String {_PSET} Name designedAllianceKey"
PROP_FINGERPRINT = f"String {_PSET} Name designedAllianceFingerprint"
PROP_SEQUENCE = f"String {_PSET} Name designedAllianceSequence"
TX_NAMESPACE = uuid.UUID("2f0c6a54-8d3e-4b71-a9c2-5e8f1d0b3a67")


def transaction_id(alliance_id: str, key: str, sequence: int) -> str:
    """Same create, same id: Graph then returns the event it already made."""
    return str(uuid.uuid5(TX_NAMESPACE, f"{alliance_id}\0{key}\0{sequence}"))


class GraphError(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str]) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.headers = {k.lower(): v for k, v in headers.items()}

    @property
    def code(self) -> str:
        if isinstance(self.body, dict):
            return str(self.body.get("error", {}).get("code", ""))
        return ""

    @property
    def message(self) -> str:
        if isinstance(self.body, dict):
            return str(self.body.get("error", {}).get("message", ""))
        return ""


class OutlookTarget(Target):
    """Graph events (`/me/events`) and a draft message (`/me/messages`)."""

    name = "outlook"
    handles = frozenset({"event", "message"})
    is_remote = True
    sleep: ClassVar[Callable[[float], None]] = staticmethod(time.sleep)
    timeout: ClassVar[float] = 30.0
    token_provider: ClassVar[type[TokenProvider]] = TokenProvider
    batch_size: ClassVar[int] = BATCH_LIMIT

    def __init__(self, config: Config, options: Options) -> None:
        super().__init__(config, options)
        section = config.section("outlook")
        self.section = section
        self.graph_root = DEFAULT_ROOT
        self.calendar_id = ""
        self.max_retry_seconds = 120.0
        if section is not None:
            root = section.text("graph_root") or DEFAULT_ROOT
            self.graph_root = root if root.endswith("/") else root + "/"
            self.calendar_id = section.text("calendar_id")
            self.max_retry_seconds = float(section.get("max_retry_seconds", (int, float),
                                                       default=120))
        self.tokens = self.token_provider(config, section)
        if section is not None:
            section.done()
        self._session: Any = None
        self.requests_made = 0

    @property
    def instance(self) -> str:
        where = self.calendar_id or "default"
        return f"outlook:{self.graph_root}me/calendars/{where}"

    @property
    def events_path(self) -> str:
        if self.calendar_id:
            return f"/me/calendars/{quote(self.calendar_id)}/events"
        return "/me/events"

    # -- plan time ----------------------------------------------------------------------------
    def validate(self, items: Sequence[Item]) -> list[str]:
        """Refuse at plan time what Graph cannot express exactly (never approximate)."""
        from .recurrence import to_patterned_recurrence
        from .timezones import iana_to_windows

        for item in items:
            if isinstance(item, Event):
                iana_to_windows(item.timezone)
                if item.rrule:
                    to_patterned_recurrence(item.rrule, item.start, item.timezone,
                                            key=_rule_key(item.key))
        return []

    # -- HTTP ---------------------------------------------------------------------------------
    def check_ready(self) -> None:
        if self.section is None:
            where = self.config.path or "the config file"
            raise AllianceError(f"the outlook target needs an [outlook] section in {where} — "
                                "copy it from config.example.toml, then run: alliance auth "
                                "outlook")
        self._connect()

    def _connect(self) -> Any:
        if self._session is not None:
            return self._session
        try:
            import requests
        except ImportError:
            raise MissingExtra("outlook", "requests") from None
        token = self.tokens.token()
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        session.headers["Accept"] = "application/json"
        self._session = session
        return session

    def _url(self, path: str) -> str:
        return self.graph_root + path.lstrip("/")

    def _send(self, method: str, path: str, body: Any = None,
              params: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
        import requests

        session = self._connect()
        self.requests_made += 1
        try:
            response = session.request(method, self._url(path), json=body, params=params,
                                       timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ConnectionError(type(exc).__name__) from None
        try:
            payload = response.json() if response.content else None
        except ValueError:
            payload = None
        return response.status_code, payload, dict(response.headers)

    def _call(self, method: str, path: str, backoff: Backoff, what: str, body: Any = None,
              params: dict[str, str] | None = None,
              recover: Callable[[], Any] | None = None) -> Any:
        """One request with retries; `recover` as in the Google target: for a request that is
        not idempotent, it finds what a lost answer's request made instead of re-sending."""
        attempt = 0
        while True:
            attempt += 1
            try:
                status, payload, headers = self._send(method, path, body, params)
            except ConnectionError as exc:
                if not backoff.wait(attempt):
                    raise AllianceError(f"Outlook {what} failed ({exc}) — check the network "
                                        "and run the same command again") from None
                found = recover() if recover is not None else None
                if found is not None:
                    return found
                continue
            if status < 300:
                return payload
            error = GraphError(status, payload, headers)
            if status == 401:
                raise AllianceError("Microsoft Graph refused the sign-in (expired or revoked) "
                                    "— run: alliance auth outlook") from None
            if status in RETRYABLE_STATUS and backoff.wait(attempt, error.headers.get(
                    "retry-after")):
                continue
            raise error

    def _backoff(self) -> Backoff:
        return Backoff(max_total=self.max_retry_seconds, sleep=type(self).sleep)

    # -- lookup -------------------------------------------------------------------------------
    def lookup(self, alliance_id: str) -> dict[str, Remote]:
        backoff = self._backoff()
        found: dict[str, Remote] = {}
        expand = ("singleValueExtendedProperties($filter=id eq '" + PROP_KEY + "' or id eq '"
                  + PROP_FINGERPRINT + "' or id eq '" + PROP_SEQUENCE + "')")
        params: dict[str, str] | None = {
            "$filter": (f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP_ALLIANCE}' "
                        f"and ep/value eq '{_odata(alliance_id)}')"),
            "$expand": expand, "$top": "100", "$select": "id,subject,isCancelled"}
        path = self.events_path
        while True:
            try:
                payload = self._call("GET", path, backoff, "event lookup", params=params)
            except GraphError as exc:
                raise AllianceError(f"Outlook event lookup failed: HTTP {exc.status} "
                                    f"{exc.code} — run the same command again") from None
            for event in payload.get("value", []):
                props = {p["id"]: p.get("value", "")
                         for p in event.get("singleValueExtendedProperties", [])}
                key = _prop(props, PROP_KEY)
                if not key or event.get("isCancelled"):
                    continue
                found[key] = Remote(key, event["id"], _prop(props, PROP_FINGERPRINT),
                                    int(_prop(props, PROP_SEQUENCE) or 0),
                                    {"title": event.get("subject", "")})
            next_link = payload.get("@odata.nextLink")
            if not next_link:
                break
            path, params = next_link[len(self.graph_root):] if next_link.startswith(
                self.graph_root) else next_link, None
        if found:
            draft = self._find_draft(item_message_id(alliance_id, "kickoff"), backoff)
            if draft is not None:
                found["kickoff"] = Remote("kickoff", draft[0], draft[1])
        return found

    def _find_drafts(self, message_id: str, backoff: Backoff) -> list[str]:
        params = {"$filter": f"internetMessageId eq '{_odata(message_id)}'", "$select": "id"}
        try:
            payload = self._call("GET", "/me/messages", backoff, "draft lookup", params=params)
        except GraphError:
            return []
        return [m["id"] for m in payload.get("value", [])]

    def _find_draft(self, message_id: str, backoff: Backoff) -> tuple[str, str] | None:
        params = {"$filter": f"internetMessageId eq '{_odata(message_id)}'",
                  "$expand": f"singleValueExtendedProperties($filter=id eq '{PROP_FINGERPRINT}')",
                  "$select": "id"}
        try:
            payload = self._call("GET", "/me/messages", backoff, "draft lookup", params=params)
        except GraphError:
            return None
        for message in payload.get("value", []):
            props = {p["id"]: p.get("value", "")
                     for p in message.get("singleValueExtendedProperties", [])}
            return message["id"], _prop(props, PROP_FINGERPRINT)
        return None

    # -- apply --------------------------------------------------------------------------------
    def apply(self, plan: TargetPlan, context: ApplyContext
              ) -> Iterator[Applied | tuple[Applied, ...]]:
        """Events first, then the drafts that tell the members about them; all recorded as one
        unit, so a crash before the change summary exists leaves the events to be redone
        (idempotently) and the summary still to be written — never silently skipped."""
        backoff = self._backoff()
        event_changes = [c for c in plan.changes
                         if c.action is not Action.KEEP and c.key != "kickoff"]
        outcomes = list(self._apply_events(event_changes, context, backoff))
        done = {a.change.key for a in outcomes if a.ok}
        outcomes += self._apply_drafts(plan, context, backoff, done)
        yield tuple(outcomes)

    def _subrequest(self, change: Change, alliance_id: str, rid: str) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if change.action is Action.CANCEL:
            assert change.record is not None
            return {"id": rid, "method": "POST", "headers": headers,
                    "url": f"/me/events/{quote(change.record.remote_id)}/cancel",
                    "body": {"comment": "This item was removed from our designed alliance."}}
        item = change.item
        assert isinstance(item, Event)
        body = event_body(item, change.sequence)
        if change.action is Action.UPDATE and change.record is not None:
            return {"id": rid, "method": "PATCH", "headers": headers,
                    "url": f"/me/events/{quote(change.record.remote_id)}", "body": body}
        body["transactionId"] = transaction_id(alliance_id, item.key, change.sequence)
        return {"id": rid, "method": "POST", "headers": headers, "url": self.events_path,
                "body": body}

    def _apply_events(self, changes: Sequence[Change], context: ApplyContext,
                      backoff: Backoff) -> Iterator[Applied]:
        pending = [Pending(c) for c in changes]
        while pending:
            retry: list[Pending] = []
            for start in range(0, len(pending), self.batch_size):
                chunk = pending[start:start + self.batch_size]
                requests_ = [self._subrequest(e.change, context.alliance.id, str(i))
                             for i, e in enumerate(chunk)]
                try:
                    status, payload, headers = self._send("POST", "/$batch",
                                                          {"requests": requests_})
                except ConnectionError as exc:
                    for entry in chunk:
                        entry.last_error = str(exc)
                    retry.extend(chunk)
                    continue
                if status == 401:
                    raise AllianceError("Microsoft Graph refused the sign-in — run: alliance "
                                        "auth outlook")
                if status >= 300:
                    for entry in chunk:
                        entry.last_error = f"HTTP {status}"
                        entry.retry_after = {k.lower(): v for k, v in headers.items()}.get(
                            "retry-after")
                    if status in RETRYABLE_STATUS:
                        retry.extend(chunk)
                    else:
                        yield from (Applied(e.change, error=f"batch HTTP {status}")
                                    for e in chunk)
                    continue
                responses = {r.get("id"): r for r in (payload or {}).get("responses", [])}
                for i, entry in enumerate(chunk):
                    outcome = self._outcome(entry, responses.get(str(i)))
                    if outcome is None:
                        retry.append(entry)
                    else:
                        yield outcome
            if not retry:
                return
            if not wait_for_round(retry, backoff):
                yield from (Applied(e.change, error=f"gave up after retries ({e.last_error})")
                            for e in retry)
                return
            context.progress(self.options, f"outlook: retrying {len(retry)} change(s)")
            pending = retry

    def _outcome(self, entry: Pending, response: dict[str, Any] | None) -> Applied | None:
        change = entry.change
        if response is None:
            entry.last_error = "no response for this part"
            return None
        status = int(response.get("status", 500))
        body = response.get("body") or {}
        headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        if status < 300:
            remote_id = body.get("id") if isinstance(body, dict) else None
            return Applied(change, remote_id=remote_id or (
                change.record.remote_id if change.record else ""))
        if change.action is Action.CANCEL and status in (404, 410):
            return Applied(change, remote_id=change.record.remote_id if change.record else "")
        if change.action is Action.UPDATE and status == 404:
            # Deleted by hand in Outlook: make it again (a create with a transactionId).
            entry.change = Change(Action.CREATE, change.key, change.item, None, change.sequence)
            entry.last_error = "404 recreated"
            return None
        if status in RETRYABLE_STATUS:
            entry.last_error = f"HTTP {status}"
            entry.retry_after = headers.get("retry-after")
            return None
        message = body.get("error", {}).get("message", "") if isinstance(body, dict) else ""
        return Applied(change, error=f"HTTP {status} {message}".strip())

    def _apply_drafts(self, plan: TargetPlan, context: ApplyContext, backoff: Backoff,
                      done: set[str]) -> list[Applied]:
        from designed_alliance.core import compose
        from designed_alliance.core.schedule import organizer_for

        kickoff = next((c for c in plan.changes
                        if c.key == "kickoff" and c.action is not Action.KEEP), None)
        told = [c for c in plan.changes if c.key in done]  # only what really happened
        alliance = context.alliance
        out: list[Applied] = []
        if kickoff is not None:
            old = kickoff.record.remote_id if kickoff.record else None
            if kickoff.action is Action.CANCEL:
                if old:
                    self._delete_message(old, backoff)
                return [Applied(kickoff, remote_id=old or "")]
            message = next(m for m in context.messages if m.key == "kickoff")
            if old is None and not all(c.record is None for c in plan.changes):
                # An earlier run got this far and may have made the draft already.
                found = self._find_draft(message.message_id, backoff)
                old = found[0] if found else None
            draft_id = self._replace_draft(
                message, mail.invites_for_all(context.events, context.sequences),
                message.message_id, old, backoff)
            out.append(Applied(kickoff, remote_id=draft_id))
            if kickoff.action is Action.CREATE:
                return out  # the kickoff itself tells the members about every event
        if told and not context.teardown:
            sender = organizer_for(alliance, self.config.defaults.organizer)
            summary = compose.changes(alliance, told, sender)
            if summary is not None:
                # Derived from the changes: an interrupted run's summary is found again.
                found = self._find_draft(summary.message_id, backoff)
                self._replace_draft(summary, mail.invites_for_changes(alliance.id, told),
                                    summary.message_id, found[0] if found else None, backoff)
        return out

    def _replace_draft(self, message: Message, invites: list[mail.Invite], message_id: str,
                       old: str | None, backoff: Backoff) -> str:
        """Graph cannot patch attachments inline: a changed draft is made anew, then the old
        one is removed (in that order, so a crash leaves one draft too many, never none)."""
        body = message_body(message, invites, message_id)
        created = self._create_message(body, message_id, backoff, skip=old)
        if old:
            # Every other draft with this Message-ID goes: the old one, and any an interrupted
            # run made before it could record it.
            for other in {old, *self._find_drafts(message_id, backoff)} - {created}:
                self._delete_message(other, backoff)
        return created

    def _create_message(self, body: dict[str, Any], message_id: str, backoff: Backoff,
                        skip: str | None) -> str:
        """POST /me/messages is not idempotent: after a lost answer, look before re-sending."""

        def made_already() -> dict[str, str] | None:
            found = [d for d in self._find_drafts(message_id, backoff) if d != skip]
            return {"id": found[0]} if found else None

        try:
            return self._call("POST", "/me/messages", backoff, "draft create", body=body,
                              recover=made_already)["id"]
        except GraphError as exc:
            raise AllianceError(f"Outlook draft create failed: HTTP {exc.status} {exc.code} — "
                                "run the same command again") from None

    def _delete_message(self, message_id: str, backoff: Backoff) -> None:
        try:
            self._call("DELETE", f"/me/messages/{quote(message_id)}", backoff, "draft delete")
        except GraphError as exc:
            if exc.status not in (404, 410):
                raise AllianceError(f"Outlook draft delete failed: HTTP {exc.status} — run "
                                    "the same command again") from None


def _rule_key(key: str) -> str:
    return {"checkins": "checkins.rrule", "review": "alliance.review_every"}.get(key, key)


def _prop(props: dict[str, str], name: str) -> str:
    for prop_id, value in props.items():
        if prop_id.lower() == name.lower():
            return value
    return ""


def _odata(text: str) -> str:
    return text.replace("'", "''")


def _local(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="seconds")
    return datetime.combine(value, datetime.min.time()).isoformat(timespec="seconds")


def event_body(event: Event, sequence: int) -> dict[str, Any]:
    from .recurrence import to_patterned_recurrence
    from .timezones import iana_to_windows

    zone = iana_to_windows(event.timezone)
    body: dict[str, Any] = {
        "subject": event.title,
        "body": {"contentType": "text", "content": event.description},
        "start": {"dateTime": _local(event.start), "timeZone": zone},
        "end": {"dateTime": _local(event.end), "timeZone": zone},
        "isAllDay": event.all_day,
        "location": {"displayName": event.location},
        "attendees": [{"emailAddress": {"address": p.email, "name": p.name},
                       "type": "optional" if p.role == "OPT-PARTICIPANT" else "required"}
                      for p in event.attendees
                      if p.email.lower() != event.organizer.email.lower()],
        "isReminderOn": bool(event.alarms_minutes),
        "reminderMinutesBeforeStart": event.alarms_minutes[0] if event.alarms_minutes else 0,
        "showAs": "free" if event.all_day else "busy",
        "allowNewTimeProposals": False,
        "responseRequested": True,
        "singleValueExtendedProperties": [
            {"id": PROP_ALLIANCE, "value": event.alliance_id},
            {"id": PROP_KEY, "value": event.key},
            {"id": PROP_FINGERPRINT, "value": event.fingerprint},
            {"id": PROP_SEQUENCE, "value": str(sequence)},
        ],
    }
    if event.rrule:
        body["recurrence"] = to_patterned_recurrence(event.rrule, event.start, event.timezone,
                                                     key=_rule_key(event.key))
    return body


def message_body(message: Message, invites: list[mail.Invite], message_id: str
                 ) -> dict[str, Any]:
    return {
        "subject": message.subject,
        "body": {"contentType": "HTML", "content": message.html},
        "toRecipients": [{"emailAddress": {"address": p.email, "name": p.name}}
                         for p in message.to],
        "internetMessageId": message_id,
        "singleValueExtendedProperties": [{"id": PROP_FINGERPRINT,
                                           "value": message.fingerprint}],
        "attachments": [{
            "@odata.type": "#microsoft.graph.fileAttachment", "name": invite.filename,
            "contentType": f"text/calendar; method={invite.method}",
            "contentBytes": base64.b64encode(invite.data).decode(),
        } for invite in invites],
    }
