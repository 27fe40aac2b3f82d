"""The `outlook` target: events and a kickoff draft in Microsoft 365 / Outlook via Graph REST.

Plain HTTP with requests (the msgraph SDK is too heavy for a CLI). Only the translation lives
here (request bodies, tags, what Graph's answers mean); the workflow — `$batch` requests of at
most 20, retries, reconciling, drafts — is `integrations.remote.RemoteTarget`'s. Creates carry
a `transactionId`, so a retried create after a lost response returns the first event instead
of making a second one.
"""

from __future__ import annotations

import base64
import functools
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, ClassVar
from urllib.parse import quote

from designed_alliance.core import colors
from designed_alliance.core.config import Config
from designed_alliance.core.errors import (
    AllianceError,
    BadInput,
    Conflict,
    NotFound,
    RemoteError,
    Throttled,
    Unavailable,
)
from designed_alliance.core.items import Event, Item, Message, video_key
from designed_alliance.core.plan import Action, Change
from designed_alliance.core.state import Record
from designed_alliance.core.target import Applied, ApplyContext, Options, Remote, RemoteVersion

from .. import mail, remote
from ..remote import DoctorSpec, Read, RemoteTarget, Seen, SyncExpired, error_for_status
from .auth import TokenProvider

DEFAULT_ROOT = "https://graph.microsoft.com/v1.0/"
BATCH_LIMIT = 20  # Graph's JSON batching limit
AUTH_HINT = "run: alliance auth outlook"
# Our own property set: the GUID names the namespace, the names the tags.
_PSET = "{6d1b7a3e-2c4f-4e8a-9b5d-3f0a1c7e2d64}"
PROP_ALLIANCE = f"String {_PSET} Name designedAllianceId"
PROP_KEY = f"String {_PSET} Name designedAllianceKey"
PROP_FINGERPRINT = f"String {_PSET} Name designedAllianceFingerprint"
PROP_SEQUENCE = f"String {_PSET} Name designedAllianceSequence"
PROP_CALENDAR = f"String {_PSET} Name designedAllianceCalendar"  # on a dedicated calendar
TX_NAMESPACE = uuid.UUID("2f0c6a54-8d3e-4b71-a9c2-5e8f1d0b3a67")
JSON = {"Content-Type": "application/json"}
TEAMS = "teamsForBusiness"
CATEGORIES_PATH = "/me/outlook/masterCategories"
# Outlook's 25 category colours (preset0 Red … preset24 DarkCranberry), approximately as
# Outlook draws them; a CSS3 colour becomes the nearest one.
PRESETS = {
    "preset0": 0xE7343F, "preset1": 0xF7630C, "preset2": 0xAB6F40, "preset3": 0xFFC800,
    "preset4": 0x49B349, "preset5": 0x00B294, "preset6": 0x8EA03C, "preset7": 0x0078D7,
    "preset8": 0x8764B8, "preset9": 0xC50F50, "preset10": 0xA0AEB2, "preset11": 0x50636B,
    "preset12": 0xA0A0A0, "preset13": 0x696969, "preset14": 0x000000, "preset15": 0x8B0000,
    "preset16": 0xCA5010, "preset17": 0x5C3A20, "preset18": 0xC19C00, "preset19": 0x106010,
    "preset20": 0x006354, "preset21": 0x556B2F, "preset22": 0x002D78, "preset23": 0x4B006E,
    "preset24": 0x780028,
}
_KIND_WORDS = {colors.CHECKINS: "check-ins", colors.REVIEW: "reviews",
               colors.DEADLINE: "deadlines", colors.CELEBRATION: "celebration"}


def category_name(event: Event) -> str:
    """The Outlook category that colours this kind of event. A colour other than the
    default is part of the name: categories are shared by every alliance in the mailbox,
    and one alliance's choice must not repaint another's."""
    name = f"Designed alliance: {_KIND_WORDS.get(colors.kind_of(event.key), 'events')}"
    return name if event.color == colors.default_for(event.key) else f"{name} ({event.color})"


def transaction_id(alliance_id: str, key: str, sequence: int) -> str:
    """Same create, same id: Graph then returns the event it already made."""
    return str(uuid.uuid5(TX_NAMESPACE, f"{alliance_id}\0{key}\0{sequence}"))


def graph_error(status: int, body: Any, headers: dict[str, str], what: str) -> RemoteError:
    """What a Graph error answer means, typed; the code and message say which it was."""
    error = body.get("error", {}) if isinstance(body, dict) else {}
    detail = " ".join(str(error.get(k, "")) for k in ("code", "message")).strip()
    retry_after = {k.lower(): v for k, v in headers.items()}.get("retry-after")
    return error_for_status(status, detail, retry_after=retry_after, what=what,
                            service="Microsoft Graph", auth_hint=AUTH_HINT)


class OutlookTarget(RemoteTarget):
    """Graph events (`/me/events`) and a draft message (`/me/messages`)."""

    name = "outlook"
    service = "Microsoft Graph"
    doctor = DoctorSpec(sdk="msal", sign_in="client_id", root=("graph_root", DEFAULT_ROOT))
    token_provider: ClassVar[type[TokenProvider]] = TokenProvider
    batch_size: ClassVar[int] = BATCH_LIMIT
    replaces_drafts = True  # Graph cannot patch a draft's attachments inline

    def __init__(self, config: Config, options: Options) -> None:
        super().__init__(config, options)
        section = config.section("outlook")
        self.section = section
        self.graph_root = DEFAULT_ROOT
        self.calendar_id = ""
        if section is not None:
            root = section.text("graph_root") or DEFAULT_ROOT
            self.graph_root = root if root.endswith("/") else root + "/"
            self.dedicated = remote.calendar_mode(section, "outlook")
            self.calendar_id = section.text("calendar_id")
            self.max_retry_seconds = float(section.get("max_retry_seconds", (int, float),
                                                       default=120))
        self.tokens = self.token_provider(config, section)
        if section is not None:
            section.done()
        self._session: Any = None
        self.requests_made = 0
        self._providers: list[str] | None = None  # the calendar's allowedOnlineMeetingProviders
        self._categories: set[str] = set()  # master categories known to exist (lower case)
        self.chosen_calendar = self.calendar_id  # what the config names

    @property
    def shared_instance(self) -> str:
        return f"outlook:{self.graph_root}me/calendars/{self.chosen_calendar or 'default'}"

    @property
    def events_path(self) -> str:
        if self.calendar_id:
            return f"/me/calendars/{quote(self.calendar_id)}/events"
        return "/me/events"

    # -- hooks for doctor, auth and the config schema ------------------------------------------
    @classmethod
    def config_schema(cls) -> dict[str, Any] | None:
        return {"type": "object", "additionalProperties": False, "required": [], "properties": {
            "client_id": {"type": "string", "description": "The app registration's client id."},
            "tenant": {"type": "string", "default": "common",
                       "description": "organizations, consumers, common or a tenant id."},
            "graph_root": {"type": "string", "default": DEFAULT_ROOT, "format": "uri"},
            "authority_host": {"type": "string",
                               "default": "https://login.microsoftonline.com", "format": "uri"},
            "calendar_id": {"type": "string",
                            "description": "A calendar other than the default one."},
            "calendar": {"enum": ["dedicated"],
                         "description": 'calendar = "dedicated": make a calendar "Alliance: '
                                        '<title>" once (tagged with an extended property) '
                                        "and write the events there; leave calendar_id out."},
            "access_token_command": {"type": "string"},
            "max_retry_seconds": {"type": "number", "default": 120},
        }}

    @classmethod
    def sign_in(cls, config: Config, *, browser: bool | None, forget: bool,
                echo: Callable[[str], None]) -> str:
        section = config.section("outlook")
        if section is None:
            raise AllianceError(str(config.missing_section(
                "outlook", "outlook", then="set client_id and tenant")))
        provider = cls.token_provider(config, section)
        if forget:
            provider.cache_path().unlink(missing_ok=True)
            return "Forgot the stored Outlook sign-in."
        if not provider.client_id:
            raise AllianceError("outlook.client_id is missing — register an app in Microsoft "
                                "Entra ID (see README) and put its client id in the config")
        where = provider.sign_in(browser=bool(browser), echo=echo)
        return f"Signed in to Microsoft; the token cache is {where}."

    # -- plan time ----------------------------------------------------------------------------
    def validate(self, items: Sequence[Item]) -> list[str]:
        """Refuse at plan time what Graph cannot express exactly (never approximate)."""
        from .recurrence import to_patterned_recurrence
        from .timezones import iana_to_windows

        teams: list[Event] = []
        for item in items:
            if isinstance(item, Event):
                iana_to_windows(item.timezone)
                if item.rrule:
                    to_patterned_recurrence(item.rrule, item.start, item.timezone,
                                            key=_rule_key(item.key))
                if item.video == "google-meet":
                    raise BadInput("a Google Meet cannot be made in Outlook",
                                   key=video_key(item.key),
                                   hint='use video = "teams" or a meeting URL, or set it up '
                                   "with --to google")
                if item.video == "teams":
                    teams.append(item)
        if self.options.notify != "all":
            # Graph has no sendUpdates: an event written with attendees is mailed to each of
            # them, and `responseRequested: false` only stops asking for replies. Leaving the
            # attendees out would keep them out of the event itself. So it is refused.
            raise BadInput(f"Outlook sends every invitation and update itself; --notify "
                           f"{self.options.notify} cannot be honoured", key="--notify",
                           hint="use --notify all with --to outlook, or write the invites "
                                "with --to ics and send them yourself")
        notes = super().validate(items)
        if teams and getattr(self, "_opened", False):
            # setup (signed in by check_ready): one GET of the calendar now, before anything
            # is written. `plan` stays offline; its first apply would ask instead.
            self._require_teams(teams[0])
        elif teams:
            notes.append("Teams meetings: setup first checks that this calendar offers them")
        return notes

    def who_sends(self) -> str | None:
        return "invitations: Outlook (Microsoft Graph) sends them and every update, to all"

    def _calendar_path(self) -> str:
        return f"/me/calendars/{quote(self.calendar_id)}" if self.calendar_id else "/me/calendar"

    def _require_teams(self, event: Event) -> None:
        if self._providers is None:
            params = {"$select": "allowedOnlineMeetingProviders,defaultOnlineMeetingProvider"}
            answer = self.call(lambda: ("GET", self._calendar_path(), None, params),
                               self.backoff())
            self._providers = [str(p) for p in (answer or {}).get(
                "allowedOnlineMeetingProviders", [])]
        if TEAMS not in self._providers:
            offered = ", ".join(p for p in self._providers if p != "unknown") or "none"
            raise BadInput(f"this Outlook calendar cannot hold Teams meetings (it offers: "
                           f"{offered})", key=video_key(event.key),
                           hint="use the meeting's URL as video (a personal Microsoft "
                           'account has no Teams for business), or "google-meet" with '
                           "--to google")

    def write_events(self, changes: Sequence[Change], context: ApplyContext
                     ) -> Iterator[Applied]:
        """Before the shared workflow: Teams allowed (unless validate asked already), and the
        category of each colour there, each made once and found again by its name."""
        written = [c.item for c in changes
                   if c.action is not Action.CANCEL and isinstance(c.item, Event)]
        teams = [e for e in written if e.video == "teams"]
        if teams:
            self._require_teams(teams[0])
        self._ensure_categories([e for e in written if e.color])
        for applied in super().write_events(changes, context):
            yield self.with_link(applied)

    def remote_id(self, answer: Any, change: Change) -> str:
        if isinstance(answer, dict) and isinstance(change.item, Event):
            # Graph answers the write with the Teams meeting it made (or kept).
            self.note_link(change.key, str((answer.get("onlineMeeting") or {}).get(
                "joinUrl") or ""))
        return super().remote_id(answer, change)

    def _ensure_categories(self, events: Sequence[Event]) -> None:
        wanted = {category_name(e): e.color for e in events}
        missing = {n: c for n, c in wanted.items() if n.lower() not in self._categories}
        if not missing:
            return
        backoff = getattr(self, "_backoff", None) or self.backoff()
        answer = self.call(lambda: ("GET", CATEGORIES_PATH, None, None), backoff)
        self._categories |= {str(c.get("displayName", "")).lower()
                             for c in (answer or {}).get("value", [])}
        todo = {n: c for n, c in missing.items() if n.lower() not in self._categories}
        if not todo:
            return  # made before (by us, or by hand): never a second one
        attempt = 0
        while todo:
            attempt += 1
            requests = [{"method": "POST", "url": CATEGORIES_PATH, "headers": JSON,
                         "body": {"displayName": name,
                                  "color": colors.nearest(colour, PRESETS)}}
                        for name, colour in todo.items()]
            try:
                answers: list[Any] = self.execute_batch(requests)
            except Throttled as exc:  # the whole batch (Unavailable is a Throttled too)
                answers = [exc] * len(requests)
            again: dict[str, str] = {}
            retry_after: str | None = None
            for (name, colour), answer in zip(todo.items(), answers, strict=True):
                # A 409: made meanwhile, or by a request whose answer was lost: it exists.
                if isinstance(answer, RemoteError) and not isinstance(answer, Conflict):
                    if not answer.retryable:
                        raise answer
                    again[name] = colour
                    if isinstance(answer, Throttled):
                        retry_after = answer.retry_after or retry_after
                    continue
                self._categories.add(name.lower())
            if again and not backoff.wait(attempt, retry_after):
                raise Unavailable(f"{self.service}: could not make the calendar categories "
                                  "— run the same command again later")
            todo = again

    # -- HTTP ---------------------------------------------------------------------------------
    def open(self) -> None:
        import requests

        token = self.tokens.token()
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        session.headers["Accept"] = "application/json"
        self._session = session

    def _url(self, path: str) -> str:
        return self.graph_root + path.lstrip("/")

    def execute(self, request: Any) -> Any:
        """`request` is (method, path, body, params); the answer is the decoded JSON."""
        import requests

        method, path, body, params, *more = request
        headers = more[0] if more else None  # e.g. Prefer: outlook.timezone for read-back
        self.requests_made += 1
        try:
            response = self._session.request(method, self._url(path), json=body,
                                             params=params, headers=headers,
                                             timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Unavailable(f"Microsoft Graph could not be reached ({type(exc).__name__}) — "
                              "check the network and run the same command again",
                              answer_lost=True) from None
        try:
            payload = response.json() if response.content else None
        except ValueError:
            payload = None
        if response.status_code >= 300:
            raise graph_error(response.status_code, payload, dict(response.headers),
                              f"{method} {path.split('?')[0]}")
        return payload

    def execute_batch(self, requests: Sequence[Any]) -> list[Any]:
        subrequests = [{"id": str(i), **r} for i, r in enumerate(requests)]
        payload = self.execute(("POST", "/$batch", {"requests": subrequests}, None))
        answers = {r.get("id"): r for r in (payload or {}).get("responses", [])}
        out: list[Any] = []
        for index, request in enumerate(requests):
            answer = answers.get(str(index))
            if answer is None:
                out.append(Unavailable("Graph sent no answer for this part of the batch",
                                       answer_lost=True))
                continue
            status = int(answer.get("status", 500))
            body = answer.get("body") or {}
            if status < 300:
                out.append(body)
            else:
                out.append(graph_error(status, body, answer.get("headers") or {},
                                       f"{request['method']} event"))
        return out

    # -- translation --------------------------------------------------------------------------
    def tagged_events(self, alliance_id: str) -> dict[str, Remote]:
        backoff = self.backoff()
        found: dict[str, Remote] = {}
        expand = ("singleValueExtendedProperties($filter=id eq '" + PROP_KEY + "' or id eq '"
                  + PROP_FINGERPRINT + "' or id eq '" + PROP_SEQUENCE + "')")
        params: dict[str, str] | None = {
            "$filter": (f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP_ALLIANCE}' "
                        f"and ep/value eq '{_odata(alliance_id)}')"),
            "$expand": expand, "$top": "100",
            "$select": "id,subject,isCancelled,isOnlineMeeting,onlineMeeting"}
        path = self.events_path
        while True:
            payload = self.call(functools.partial(tuple, ("GET", path, None, params)), backoff)
            for event in payload.get("value", []):
                props = {p["id"]: p.get("value", "")
                         for p in event.get("singleValueExtendedProperties", [])}
                key = _prop(props, PROP_KEY)
                if not key or event.get("isCancelled"):
                    continue
                summary: dict[str, Any] = {"title": event.get("subject", "")}
                if event.get("isOnlineMeeting"):
                    summary["video"] = "teams"  # so dropping it later turns it off
                    summary["video_url"] = str((event.get("onlineMeeting") or {}).get(
                        "joinUrl") or "")
                found[key] = Remote(key, event["id"], _prop(props, PROP_FINGERPRINT),
                                    int(_prop(props, PROP_SEQUENCE) or 0), summary)
            next_link = payload.get("@odata.nextLink")
            if not next_link:
                return found
            path, params = next_link[len(self.graph_root):] if next_link.startswith(
                self.graph_root) else next_link, None

    version_field = "changeKey"

    def _relative(self, link: str) -> str:
        return link[len(self.graph_root):] if link.startswith(self.graph_root) else link

    def read_changes(self, records: dict[str, Record], token: str | None) -> Read:
        """calendarView/delta over the alliance's span: occurrences come expanded, each
        with its attendees' answers; the delta link is the token of the next read."""
        headers = _prefer_zone(records)
        if token:
            request: tuple[Any, ...] = ("GET", token, None, None, headers)
        else:
            begin, end = _window(records)
            request = ("GET", self.events_path.replace("/events", "/calendarView/delta"),
                       None, {"startDateTime": begin, "endDateTime": end}, headers)
        backoff = self.backoff()
        seen: list[Seen] = []
        zone = _zone_of(records)
        while True:
            try:
                payload = self.call(functools.partial(tuple, request), backoff)
            except NotFound as exc:
                if token and exc.status == 410:
                    raise SyncExpired() from None
                raise
            seen.extend(_seen(item, zone) for item in (payload or {}).get("value", []))
            next_link = (payload or {}).get("@odata.nextLink")
            if next_link:
                request = ("GET", self._relative(next_link), None, None, headers)
                continue
            delta = str((payload or {}).get("@odata.deltaLink", ""))
            return Read(seen, self._relative(delta), full=token is None)

    def read_versions(self, alliance_id: str, records: dict[str, Record]
                      ) -> dict[str, RemoteVersion]:
        found: dict[str, RemoteVersion] = {}
        params: dict[str, str] | None = {
            "$filter": (f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP_ALLIANCE}' "
                        f"and ep/value eq '{_odata(alliance_id)}')"),
            "$expand": f"singleValueExtendedProperties($filter=id eq '{PROP_KEY}')",
            "$top": "100",
            "$select": "id,subject,start,end,isAllDay,isCancelled,changeKey,location,"
                       "recurrence"}
        path, headers, backoff = self.events_path, _prefer_zone(records), self.backoff()
        while True:
            payload = self.call(functools.partial(tuple, ("GET", path, None, params, headers)),
                                backoff)
            for event in payload.get("value", []):
                props = {p["id"]: p.get("value", "")
                         for p in event.get("singleValueExtendedProperties", [])}
                key = _prop(props, PROP_KEY)
                if not key:
                    continue
                cut = 10 if event.get("isAllDay") else 16
                found[key] = RemoteVersion(
                    key, str(event.get("changeKey", "")), deleted=bool(event.get("isCancelled")),
                    fields={"title": event.get("subject", ""),
                            "start": str(event.get("start", {}).get("dateTime", ""))[:cut],
                            "end": str(event.get("end", {}).get("dateTime", ""))[:cut],
                            "location": str((event.get("location") or {}).get(
                                "displayName", "")),
                            **_rule_field(event.get("recurrence"), records.get(key))})
            next_link = payload.get("@odata.nextLink")
            if not next_link:
                return found
            path, params = self._relative(next_link), None

    def event_request(self, change: Change, mode: Action, alliance_id: str) -> Any:
        if mode is Action.CANCEL:
            assert change.record is not None
            return {"method": "POST", "headers": JSON,
                    "url": f"/me/events/{quote(change.record.remote_id)}/cancel",
                    "body": {"comment": "This item was removed from our designed alliance."}}
        item = change.item
        assert isinstance(item, Event)
        body = event_body(item, change.sequence, organizer=self.account_address())
        if (change.record is not None and change.record.summary.get("video") == "teams"
                and item.video != "teams"):
            body["isOnlineMeeting"] = False  # the Teams meeting is no longer wanted
        if mode is Action.UPDATE and change.record is not None and change.record.remote_id:
            return {"method": "PATCH", "headers": JSON,
                    "url": f"/me/events/{quote(change.record.remote_id)}", "body": body}
        # A create, or an update with no id to patch: the transactionId makes it idempotent.
        body["transactionId"] = transaction_id(alliance_id, item.key, change.sequence)
        return {"method": "POST", "headers": JSON, "url": self.events_path, "body": body}

    def account_request(self) -> Any:
        return ("GET", "/me", None, {"$select": "mail,userPrincipalName"})

    # -- a calendar of the alliance's own -------------------------------------------------------
    def find_calendars(self, alliance_id: str) -> list[tuple[str, str]]:
        """The calendars tagged with our extended property for this alliance (found by the
        tag, not by the name: a renamed alliance keeps its calendar)."""
        params: dict[str, str] | None = {
            "$filter": (f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP_CALENDAR}' "
                        f"and ep/value eq '{_odata(alliance_id)}')"),
            "$select": "id,name"}
        path, backoff, found = "/me/calendars", self.backoff(), []
        while True:
            payload = self.call(functools.partial(tuple, ("GET", path, None, params)), backoff)
            found += [(str(c["id"]), str(c.get("name", ""))) for c in payload.get("value", [])]
            next_link = payload.get("@odata.nextLink")
            if not next_link:
                return found
            path, params = self._relative(next_link), None

    def calendar_request(self, alliance_id: str, name: str, calendar_id: str | None) -> Any:
        if calendar_id is not None:
            return ("PATCH", f"/me/calendars/{quote(calendar_id)}", {"name": name}, None)
        # No zone goes with it: a Graph calendar has no time zone property (its events
        # carry their own start/end timeZone, written in the alliance's zone; the mailbox's
        # zone is the user's setting), so `made_for` is not used here.
        return ("POST", "/me/calendars", {"name": name, "singleValueExtendedProperties": [
            {"id": PROP_CALENDAR, "value": alliance_id}]}, None)

    def delete_calendar_request(self, calendar_id: str) -> Any:
        return ("DELETE", f"/me/calendars/{quote(calendar_id)}", None, None)

    def use_calendar(self, calendar_id: str) -> None:
        self.calendar_id = calendar_id

    def account_from(self, answer: Any) -> str:
        # `mail` is empty for accounts without a mailbox licence; the UPN is the sign-in name.
        answer = answer or {}
        return str(answer.get("mail") or answer.get("userPrincipalName") or "")

    def find_drafts(self, message_id: str) -> list[tuple[str, str]]:
        params = {"$filter": f"internetMessageId eq '{_odata(message_id)}'",
                  "$expand": f"singleValueExtendedProperties($filter=id eq '{PROP_FINGERPRINT}')",
                  "$select": "id,isDraft"}
        payload = self.call(lambda: ("GET", "/me/messages", None, params), self.backoff())
        found = []
        for message in payload.get("value", []):
            if message.get("isDraft") is False:
                continue  # the sent kickoff has the same Message-ID: never a draft to replace
            props = {p["id"]: p.get("value", "")
                     for p in message.get("singleValueExtendedProperties", [])}
            found.append((message["id"], _prop(props, PROP_FINGERPRINT)))
        return found

    def draft_request(self, message: Message, invites: list[mail.Invite],
                      draft_id: str | None, *, reply_to: str | None = None) -> Any:
        body = message_body(message, invites, message.message_id)
        if draft_id is None and reply_to:
            # A reply draft in the sent kickoff's conversation, made with all its content
            # in one request (createReply takes the message's writable properties).
            return ("POST", f"/me/messages/{quote(reply_to)}/createReply", {"message": body},
                    None)
        if draft_id is None:
            return ("POST", "/me/messages", body, None)
        return ("PATCH", f"/me/messages/{quote(draft_id)}", body, None)

    def delete_draft_request(self, draft_id: str) -> Any:
        return ("DELETE", f"/me/messages/{quote(draft_id)}", None, None)

    def draft_unsent(self, draft_id: str) -> bool:
        try:
            found = self.call(lambda: ("GET", f"/me/messages/{quote(draft_id)}", None,
                                       {"$select": "id,isDraft"}), self.backoff())
        except NotFound:
            return False  # sending moves it to Sent Items, where it has another id
        return bool(found.get("isDraft", True))

    def find_sent(self, message_id: str) -> tuple[str, str] | None:
        params = {"$filter": f"internetMessageId eq '{_odata(message_id)}'",
                  "$expand": f"singleValueExtendedProperties($filter=id eq '{PROP_FINGERPRINT}')",
                  "$select": "id,isDraft"}
        payload = self.call(lambda: ("GET", "/me/messages", None, params), self.backoff())
        for message in payload.get("value", []):
            if message.get("isDraft") is False:
                props = {p["id"]: p.get("value", "")
                         for p in message.get("singleValueExtendedProperties", [])}
                return str(message["id"]), _prop(props, PROP_FINGERPRINT)
        return None


GRAPH_RESPONSES = {"accepted": "accepted", "declined": "declined",
                   "tentativelyAccepted": "tentative", "none": "needs-action",
                   "notResponded": "needs-action"}


def _rule_field(recurrence: Any, record: Record | None) -> dict[str, str]:
    """The series' rule and end for drift: the recorded rule while Graph's pattern is still
    the one it makes (Graph has no RRULE to give back), else the pattern read as a rule;
    the end as range.endDate (core compares it by the series' last occurrence)."""
    from .recurrence import from_patterned_recurrence, range_end, to_patterned_recurrence

    if not recurrence:
        return {"rrule": ""}
    end = range_end(recurrence)
    ends = {"until": end} if end is not None else {}
    if record is None:
        return {"rrule": from_patterned_recurrence(recurrence), **ends}
    wrote = str(record.summary.get("rrule") or "")
    start = str(record.summary.get("start") or "")
    if wrote and start:
        try:
            ours = to_patterned_recurrence(wrote, datetime.fromisoformat(start),
                                           str(record.summary.get("timezone") or "UTC"))
        except (BadInput, ValueError):
            ours = {}
        if ours.get("pattern") == recurrence.get("pattern"):
            return {"rrule": wrote, **ends}
    return {"rrule": from_patterned_recurrence(recurrence), **ends}


def _zone_of(records: dict[str, Record]) -> str:
    zones = [str(r.summary.get("timezone")) for r in records.values() if r.summary.get("timezone")]
    return zones[0] if zones else "UTC"


def _prefer_zone(records: dict[str, Record]) -> dict[str, str]:
    """Graph answers times in UTC unless asked: ask for the alliance's zone, so the wall
    times compare with what we wrote."""
    from .timezones import iana_to_windows

    return {"Prefer": f'outlook.timezone="{iana_to_windows(_zone_of(records))}"'}


def _window(records: dict[str, Record]) -> tuple[str, str]:
    """From the first start to the last end (a series' UNTIL included), a day either side."""
    import re
    from datetime import timedelta

    days: list[date] = []
    for record in records.values():
        for name in ("start", "end"):
            value = str(record.summary.get(name) or "")[:10]
            if value:
                days.append(date.fromisoformat(value))
        until = re.search(r"UNTIL=(\d{8})", str(record.summary.get("rrule") or ""))
        if until:
            days.append(datetime.strptime(until.group(1), "%Y%m%d").date())
    if not days:  # records adopted from a lookup carry no dates: a wide window then
        today = date.today()
        days = [today - timedelta(days=366), today + timedelta(days=2 * 366)]
    first = min(days) - timedelta(days=1)
    last = max(days) + timedelta(days=2)
    return f"{first.isoformat()}T00:00:00Z", f"{last.isoformat()}T00:00:00Z"


def _seen(item: dict[str, Any], zone: str) -> Seen:
    """A Graph calendarView item (occurrence, exception, single event) as read-back sees it."""
    if "@removed" in item:
        return Seen(str(item.get("id", "")), removed=True)
    kind = item.get("type", "singleInstance")
    attendees = {str(a.get("emailAddress", {}).get("address", "")).lower(): GRAPH_RESPONSES.get(
        str(a.get("status", {}).get("response", "none")), "needs-action")
        for a in item.get("attendees", [])
        if a.get("status", {}).get("response") != "organizer"}
    if kind in ("occurrence", "exception"):
        start = str(item.get("start", {}).get("dateTime", ""))[:16]
        original = item.get("originalStart")
        if original:  # a DateTimeOffset (UTC): the occurrence's place in the series
            from zoneinfo import ZoneInfo

            moment = datetime.fromisoformat(str(original).replace("Z", "+00:00"))
            start = moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")
        return Seen(str(item.get("id", "")), series=str(item.get("seriesMasterId", "")),
                    start=start, exception=kind == "exception",
                    cancelled=bool(item.get("isCancelled")), attendees=attendees)
    return Seen(str(item.get("id", "")), cancelled=bool(item.get("isCancelled")),
                removed=bool(item.get("isCancelled")), attendees=attendees)


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


def event_body(event: Event, sequence: int, *, organizer: str) -> dict[str, Any]:
    """The Graph event; `organizer` (the signed-in account) is the one address left out
    of the attendees: Graph makes it the organizer and never invites it."""
    from .recurrence import to_patterned_recurrence
    from .timezones import iana_to_windows

    zone = iana_to_windows(event.timezone)
    body: dict[str, Any] = {
        "subject": event.title,
        "body": {"contentType": "text", "content": event.description},
        "start": {"dateTime": _local(event.start), "timeZone": zone},
        "end": {"dateTime": _local(event.end), "timeZone": zone},
        "isAllDay": event.all_day,
        # A room when the file names one, else the meeting URL.
        "location": {"displayName": event.location or event.video_url},
        "attendees": [{"emailAddress": {"address": p.email, "name": p.name},
                       "type": "optional" if p.role == "OPT-PARTICIPANT" else "required"}
                      for p in event.attendees if p.email.lower() != organizer.lower()],
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
    if event.video == "teams":
        # Graph makes the meeting (and its join link) when the event is created; sent again
        # on an update it keeps the same one.
        body["isOnlineMeeting"] = True
        body["onlineMeetingProvider"] = TEAMS
    if event.color:
        body["categories"] = [category_name(event)]
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
