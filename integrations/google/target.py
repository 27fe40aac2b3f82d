"""The `google` target: Calendar events and a Gmail kickoff draft, through googleapiclient.

Only the translation lives here (request bodies, tags, what Google's answers mean); the
workflow — batches, retries, reconciling, drafts — is `integrations.remote.RemoteTarget`'s.
Event ids are chosen by us, so a retry after a lost response meets a 409 and is reconciled,
never duplicated.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

from designed_alliance.core.config import Config
from designed_alliance.core.errors import (
    AuthExpired,
    BadInput,
    NotFound,
    Refused,
    RemoteError,
    Throttled,
    Unavailable,
)
from designed_alliance.core.items import Event, Item, Message, video_key
from designed_alliance.core.plan import Action, Change
from designed_alliance.core.state import Record
from designed_alliance.core.target import (
    Applied,
    ApplyContext,
    Check,
    Options,
    Remote,
    RemoteVersion,
)

from .. import mail
from ..remote import (
    DoctorSpec,
    Read,
    RemoteTarget,
    Seen,
    SentUnreadable,
    SyncExpired,
    calendar_mode,
    calendar_tag,
    error_for_status,
)
from . import events as resources

DEFAULT_ROOT = "https://www.googleapis.com/"
SEND_UPDATES = {"all": "all", "external": "externalOnly", "none": "none"}
HEADER_FINGERPRINT = "X-Designed-Alliance-Fingerprint"
AUTH_HINT = "run: alliance auth google, or check google.access_token_command"
REFUSED = f"Google refused the credentials (revoked or expired) — {AUTH_HINT}"
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}
SCOPE_REASONS = {"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}
#: the Gmail scopes that allow messages.list with a search (`find_sent`)
READ_SCOPES = {"https://www.googleapis.com/auth/gmail.readonly",
               "https://www.googleapis.com/auth/gmail.modify", "https://mail.google.com/"}
MEET_POLLS = 5  # follow-up gets of a Meet link still being made, 1 s, 2 s, … apart


class GoogleTarget(RemoteTarget):
    """Google Calendar (events.insert/patch/delete in batches) + Gmail drafts."""

    name = "google"
    service = "Google"
    doctor = DoctorSpec(sdk="googleapiclient", sign_in="client_secrets", root=("api_root",
                                                                               DEFAULT_ROOT))
    batch_size: ClassVar[int] = 50  # Calendar's documented batch limit

    def __init__(self, config: Config, options: Options) -> None:
        super().__init__(config, options)
        section = config.section("google")
        self.calendar_id = "primary"
        self.api_root = DEFAULT_ROOT
        if section is not None:
            self.dedicated = calendar_mode(section, "google")
            self.calendar_id = section.text("calendar_id") or "primary"
            root = section.text("api_root") or DEFAULT_ROOT
            self.api_root = root if root.endswith("/") else root + "/"
            section.text("client_secrets")
            section.text("access_token_command")
            self.max_retry_seconds = float(section.get("max_retry_seconds", (int, float),
                                                       default=120))
            section.done()
        self._calendar: Any = None
        self._gmail: Any = None
        #: whether the sign-in may read mail: None until known (a token command's scopes
        #: are learnt from Google's answer), False for the stored sign-in, which has none
        self._reads_mail: bool | None = None
        self._http: Any = None
        # Keys whose Meet Google is still making (the answer said "pending").
        self._pending_meet: set[str] = set()
        self.chosen_calendar = self.calendar_id  # what the config names (events may go elsewhere)

    @property
    def shared_instance(self) -> str:
        return f"google:{self.chosen_calendar}"

    @property
    def dedicated_instance(self) -> str:
        return "google:dedicated"  # plan shows "google → dedicated", never "primary…"

    # -- hooks for doctor, auth and the config schema ------------------------------------------
    @classmethod
    def config_schema(cls) -> dict[str, Any] | None:
        return {"type": "object", "additionalProperties": False, "required": [], "properties": {
            "client_secrets": {"type": "string",
                               "description": "Path of the OAuth client (Desktop app) JSON."},
            "calendar_id": {"type": "string", "default": "primary"},
            "calendar": {"enum": ["dedicated"],
                         "description": 'calendar = "dedicated": make a calendar "Alliance: '
                                        '<title>" once and write the events there; '
                                        "the sign-in then asks for calendar.app.created "
                                        "(+ calendar.calendarlist.readonly, gmail.compose) "
                                        "instead of calendar. Leave calendar_id out."},
            "api_root": {"type": "string", "default": DEFAULT_ROOT, "format": "uri"},
            "access_token_command": {"type": "string",
                                     "description": "A command printing an access token, "
                                                    "instead of `alliance auth google`."},
            "max_retry_seconds": {"type": "number", "default": 120},
        }}

    @classmethod
    def signed_in_check(cls, config: Config) -> Check | None:
        values = config.sections.get("google", {})
        if values.get("client_secrets") and not values.get("access_token_command"):
            from .auth import scope_problem, token_store

            stored = token_store(config).get()
            if not stored:
                return Check("fail", "google", "not signed in — run: alliance auth google")
            try:
                problem = scope_problem(config, json.loads(stored))
            except ValueError:
                problem = None  # a damaged token is said when it is used
            if problem:
                return Check("fail", "google", problem)
        return None

    @classmethod
    def sign_in(cls, config: Config, *, browser: bool | None, forget: bool,
                echo: Callable[[str], None]) -> str:
        from .auth import WHY, authorize, scopes_for, token_store

        if forget:
            token_store(config).delete()
            return "Forgot the stored Google sign-in."
        config.require("google", "google")
        for scope in scopes_for(config):
            echo(f"asks for {scope}: {WHY[scope]}")
        where = authorize(config, open_browser=browser is not False)
        return f"Signed in to Google; the token is kept in {where}."

    # -- plan time ----------------------------------------------------------------------------
    def validate(self, items: Sequence[Item]) -> list[str]:
        """Refuse a Teams meeting: only Microsoft makes those."""
        for item in items:
            if isinstance(item, Event) and item.video == "teams":
                raise BadInput("a Teams meeting cannot be made in Google Calendar",
                               key=video_key(item.key),
                               hint='use video = "google-meet" or a meeting URL, or set it up '
                               "with --to outlook")
        return super().validate(items)

    # -- connection ---------------------------------------------------------------------------
    def open(self) -> None:
        import google_auth_httplib2
        from googleapiclient.discovery import build

        from .auth import credentials

        section = self.config.section("google")
        assert section is not None
        creds = credentials(self.config, section)
        granted = getattr(creds, "granted_scopes", None) or getattr(creds, "scopes", None)
        if granted and not section.text("access_token_command"):
            self._reads_mail = bool(set(granted) & READ_SCOPES)
        self._http = google_auth_httplib2.AuthorizedHttp(creds, http=_strict_http(self.timeout))
        # api_endpoint replaces rootUrl + servicePath, so each API gets its own path here.
        self._calendar = build("calendar", "v3", http=self._http, static_discovery=True,
                               cache_discovery=False,
                               client_options={"api_endpoint": self.api_root + "calendar/v3/"})
        self._gmail = build("gmail", "v1", http=self._http, static_discovery=True,
                            cache_discovery=False,
                            client_options={"api_endpoint": self.api_root})

    # -- what Google's answers mean -------------------------------------------------------------
    def _error(self, exc: BaseException, what: str = "request") -> RemoteError:
        from google.auth.exceptions import RefreshError
        from googleapiclient.errors import HttpError

        if isinstance(exc, RefreshError):
            return AuthExpired(REFUSED)
        if isinstance(exc, HttpError):
            status = exc.resp.status
            reasons = _reasons(exc)
            if status == 403 and reasons & SCOPE_REASONS:
                from .auth import scope_hint

                return AuthExpired(f"Google refused the {what}: the sign-in does not allow it "
                                   f"(insufficient scopes) — {scope_hint(self.config)}",
                                   status=status)
            if status == 401:
                return AuthExpired(REFUSED, status=status)
            retry_after = exc.resp.get("retry-after")
            if status == 403 and reasons & RATE_REASONS:
                return Throttled(f"Google {what} failed: rate limit ({', '.join(reasons)}) — "
                                 "run the same command again later", status=status,
                                 retry_after=retry_after)
            return error_for_status(status, _reason(exc), retry_after=retry_after, what=what,
                                    service="Google", auth_hint=AUTH_HINT)
        return Unavailable(f"Google {what} failed: {type(exc).__name__} — check the network, "
                           "then run the same command again", answer_lost=True)

    def execute(self, request: Any) -> Any:
        from google.auth.exceptions import RefreshError
        from googleapiclient.errors import HttpError

        self.requests_made += 1
        try:
            return request.execute(http=self._http)
        except (RefreshError, HttpError, *_transport_errors()) as exc:
            raise self._error(exc) from None

    def execute_batch(self, requests: Sequence[Any]) -> list[Any]:
        from google.auth.exceptions import RefreshError
        from googleapiclient.errors import HttpError
        from googleapiclient.http import BatchHttpRequest

        answers: dict[str, Any] = {}

        def collect(request_id: str, response: Any, exception: Any) -> None:
            answers[request_id] = self._error(exception, "event write") if (
                exception is not None) else response

        batch = BatchHttpRequest(callback=collect, batch_uri=self.api_root + "batch/calendar/v3")
        for index, request in enumerate(requests):
            batch.add(request, request_id=str(index))
        self.requests_made += 1
        try:
            batch.execute(http=self._http)
        except (RefreshError, HttpError, *_transport_errors()) as exc:
            raise self._error(exc, "batch") from None
        lost = Unavailable("Google sent no answer for this part of the batch",
                           answer_lost=True)
        return [answers.get(str(i), lost) for i in range(len(requests))]

    # -- translation --------------------------------------------------------------------------
    def _pages(self, **params: Any) -> Iterator[dict[str, Any]]:
        """Every page of one events.list, in order (the last one holds nextSyncToken)."""
        backoff = self.backoff()
        page = None
        while True:
            response = self.call(functools.partial(
                self._calendar.events().list, calendarId=self.calendar_id, maxResults=2500,
                pageToken=page, **params), backoff)
            yield response
            page = response.get("nextPageToken")
            if not page:
                return

    def _tagged(self, alliance_id: str, **params: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        """(key, item) of each event tagged with this alliance; an exception (one
        occurrence) carries its series' tags too, and is not the series."""
        tag = f"{resources.TAG_ID}={alliance_id}"
        for response in self._pages(privateExtendedProperty=tag, **params):
            for item in response.get("items", []):
                key = item.get("extendedProperties", {}).get("private", {}).get(
                    resources.TAG_KEY)
                if key and not item.get("recurringEventId"):
                    yield key, item

    def tagged_events(self, alliance_id: str) -> dict[str, Remote]:
        found: dict[str, Remote] = {}
        for key, item in self._tagged(alliance_id):
            if item.get("status") == "cancelled":
                continue
            private = item["extendedProperties"]["private"]
            summary: dict[str, Any] = {"title": item.get("summary", "")}
            if item.get("conferenceData"):
                # Rebuilt state must know the meeting exists, or an update would ask for a
                # second one.
                summary["video"] = "google-meet"
                summary["video_url"] = resources.meet_link(item)
            found[key] = Remote(key, item["id"], private.get(resources.TAG_FINGERPRINT, ""),
                                int(private.get(resources.TAG_SEQUENCE, "0") or 0), summary)
        return found

    def read_changes(self, records: dict[str, Record], token: str | None) -> Read:
        """events.list of the whole calendar (a sync token cannot be combined with a tag
        filter), series not expanded: exceptions — moved, cancelled or declined
        occurrences — come as their own items. With `token`, only what changed."""
        seen: list[Seen] = []
        last: dict[str, Any] = {}
        try:
            for last in self._pages(showDeleted=True, **({"syncToken": token} if token else {})):
                seen.extend(_seen(item) for item in last.get("items", []))
        except NotFound as exc:
            if token and exc.status == 410:
                raise SyncExpired() from None
            raise
        return Read(seen, str(last.get("nextSyncToken", "")), full=token is None)

    def read_versions(self, alliance_id: str, records: dict[str, Record]
                      ) -> dict[str, RemoteVersion]:
        found: dict[str, RemoteVersion] = {}
        for key, item in self._tagged(alliance_id, showDeleted=True):
            recurrence = [r for r in item.get("recurrence", []) if r.startswith("RRULE:")]
            # Wall times in the zone we wrote in: the user may have moved the event into
            # another zone, and 09:00 London is 10:00 in a Berlin alliance.
            zone = str(records[key].summary.get("timezone", "")) if key in records else ""
            found[key] = RemoteVersion(
                key, str(item.get("etag", "")), deleted=item.get("status") == "cancelled",
                fields={"title": item.get("summary", ""),
                        "start": _wall(item.get("start", {}), zone),
                        "end": _wall(item.get("end", {}), zone),
                        "rrule": recurrence[0][len("RRULE:"):] if recurrence else "",
                        "location": str(item.get("location", ""))})
        return found

    def event_request(self, change: Change, mode: Action, alliance_id: str) -> Any:
        events = self._calendar.events()
        send_updates = SEND_UPDATES[self.options.notify]
        if mode is Action.CANCEL:
            assert change.record is not None
            return events.delete(calendarId=self.calendar_id, eventId=change.record.remote_id,
                                 sendUpdates=send_updates)
        item = change.item
        assert isinstance(item, Event)
        body = resources.body(item, change.sequence, organizer=self.account_address())
        # Only an update meets a meeting made before: a create (also one made again after
        # the event was deleted by hand) asks for its own.
        had_meet = mode is Action.UPDATE and change.record is not None and (
            change.record.summary.get("video") == "google-meet")
        body.update(resources.conference(item, change.sequence, exists=had_meet))
        event_id = resources.event_id(alliance_id, item.key)
        # conferenceDataVersion=1 on every write: without it Google drops conferenceData.
        if mode is Action.CREATE:
            return events.insert(calendarId=self.calendar_id, sendUpdates=send_updates,
                                 conferenceDataVersion=1, body={"id": event_id, **body})
        return events.patch(calendarId=self.calendar_id, eventId=event_id,
                            sendUpdates=send_updates, conferenceDataVersion=1, body=body)

    def remote_id(self, answer: Any, change: Change) -> str:
        if isinstance(answer, dict) and isinstance(change.item, Event):
            self._note_meeting(change.key, answer)
        return super().remote_id(answer, change)

    def _note_meeting(self, key: str, resource: dict[str, Any]) -> None:
        status = resources.conference_status(resource)
        self.note_link(key, resources.meet_link(resource))
        if status == "pending":
            self._pending_meet.add(key)
        else:
            self._pending_meet.discard(key)

    def write_events(self, changes: Sequence[Change], context: ApplyContext
                     ) -> Iterator[Applied]:
        """The shared workflow, then for each Meet still being made a few follow-up gets
        (Google answers "pending" first) until it has its link."""
        for applied in super().write_events(changes, context):
            key = applied.change.key
            if applied.ok and key in self._pending_meet:
                self._await_meeting(applied)
            if key in self.video_links:
                context.progress(self.options, f"google: {key} meets at {self.video_links[key]}")
            yield self.with_link(applied)

    def _await_meeting(self, applied: Applied) -> None:
        key = applied.change.key
        backoff = getattr(self, "_backoff", None) or self.backoff()
        for attempt in range(1, MEET_POLLS + 1):
            type(self).sleep(float(attempt))
            answer = self.call(functools.partial(
                self._calendar.events().get, calendarId=self.calendar_id,
                eventId=applied.remote_id), backoff)
            self._note_meeting(key, answer)
            if key not in self._pending_meet:
                return
        # Still pending: Google finishes it on its own and puts the link in the invitation.

    def account_request(self) -> Any:
        if self.dedicated:
            # The primary calendar is out of reach of calendar.app.created; the Gmail
            # profile (allowed by gmail.compose) names the signed-in account.
            return self._gmail.users().getProfile(userId="me")
        # The calendar resource's id is the address that organizes events created in it:
        # for "primary" the signed-in account's own address.
        return self._calendar.calendars().get(calendarId=self.calendar_id)

    def account_from(self, answer: Any) -> str:
        answer = answer or {}
        return str(answer.get("emailAddress") or answer.get("id", ""))

    # -- a calendar of the alliance's own -------------------------------------------------------
    def find_calendars(self, alliance_id: str) -> list[tuple[str, str]]:
        """calendarList.list (calendars have no extended properties: the tag is a line of
        the description). calendar.app.created does not allow this list, so the narrow
        sign-in also asks for calendar.calendarlist.readonly."""
        tag = calendar_tag(alliance_id)
        found: list[tuple[str, str]] = []
        page = None
        backoff = self.backoff()
        while True:
            answer = self.call(functools.partial(self._calendar.calendarList().list,
                                                 maxResults=250, pageToken=page), backoff)
            for entry in answer.get("items", []):
                if tag in str(entry.get("description", "")).splitlines():
                    found.append((str(entry["id"]), str(entry.get("summary", ""))))
            page = answer.get("nextPageToken")
            if not page:
                return found

    def calendar_request(self, alliance_id: str, name: str, calendar_id: str | None) -> Any:
        calendars = self._calendar.calendars()
        if calendar_id is not None:
            return calendars.patch(calendarId=calendar_id, body={"summary": name})
        # The alliance's zone: Google shows the calendar's events, and makes new ones in
        # the app, in the calendar's zone (the account's default otherwise).
        zone = {"timeZone": self.made_for[0]} if self.made_for else {}
        return calendars.insert(body={
            "summary": name,
            "description": "The designed alliance's check-ins, deadlines and reviews, kept "
                           f"by the alliance command.\n{calendar_tag(alliance_id)}",
            **zone})

    def make_calendar(self, alliance_id: str, name: str) -> str:
        try:
            return super().make_calendar(alliance_id, name)
        except Refused as exc:
            # A 400 here is the zone (the name and description are ours): this machine's
            # tzdata may know a zone newer than Google's list.
            if exc.status != 400 or not self.made_for:
                raise
            raise Refused(f"Google Calendar would not make the calendar {name!r} in the "
                          f"alliance's time zone {self.made_for[0]!r} (HTTP 400) — if Google "
                          "does not know that zone, set [alliance] timezone to one it does "
                          "(a nearby city's with the same clock)", status=400) from None

    def delete_calendar_request(self, calendar_id: str) -> Any:
        return self._calendar.calendars().delete(calendarId=calendar_id)

    def use_calendar(self, calendar_id: str) -> None:
        self.calendar_id = calendar_id

    def who_sends(self) -> str | None:
        return {"all": "invitations: Google sends them and every update, to all guests",
                "external": "invitations: Google sends them and every update to guests "
                            "outside your domain only (--notify external)",
                "none": "invitations: none — Google is told to send nothing "
                        "(--notify none)"}[self.options.notify]

    def find_drafts(self, message_id: str) -> list[tuple[str, str]]:
        backoff = self.backoff()
        drafts = self.call(lambda: self._gmail.users().drafts().list(
            userId="me", q=f"rfc822msgid:{message_id}"), backoff).get("drafts", [])
        found = []
        for draft in drafts:
            full = self.call(functools.partial(self._gmail.users().drafts().get, userId="me",
                                               id=draft["id"], format="metadata"), backoff)
            headers = full.get("message", {}).get("payload", {}).get("headers", [])
            fingerprint = next((h["value"] for h in headers
                                if h.get("name", "").lower() == HEADER_FINGERPRINT.lower()), "")
            found.append((draft["id"], fingerprint))
        return found

    def draft_request(self, message: Message, invites: list[mail.Invite],
                      draft_id: str | None, *, reply_to: str | None = None) -> Any:
        built = mail.build(message, invites, draft=False)
        built[HEADER_FINGERPRINT] = message.fingerprint
        body: dict[str, Any] = {"message": {
            "raw": base64.urlsafe_b64encode(bytes(built)).decode()}}
        if reply_to:
            body["message"]["threadId"] = reply_to  # a reply in the sent kickoff's thread
        drafts = self._gmail.users().drafts()
        if draft_id is None:
            return drafts.create(userId="me", body=body)
        return drafts.update(userId="me", id=draft_id, body=body)

    def delete_draft_request(self, draft_id: str) -> Any:
        return self._gmail.users().drafts().delete(userId="me", id=draft_id)

    def draft_unsent(self, draft_id: str) -> bool:
        try:
            self.call(functools.partial(self._gmail.users().drafts().get, userId="me",
                                        id=draft_id, format="minimal"), self.backoff())
            return True
        except NotFound:
            return False  # sent (a sent draft is no draft any more) or deleted by hand

    def draft_thread(self, answer: Any) -> str:
        """drafts.create/update answer the draft's message with its threadId; Gmail keeps a
        sent draft in that thread (the sent message is the draft's message, labelled SENT)."""
        message = answer.get("message", {}) if isinstance(answer, dict) else {}
        return str(message.get("threadId", "") or "")

    def find_sent(self, message_id: str) -> tuple[str, str] | None:
        """messages.list with q needs a read scope (gmail.readonly, gmail.modify or
        mail.google.com; gmail.metadata may not search). `alliance auth google` asks for
        gmail.compose only — "read all your email" is not ours to ask for this — so a
        token without one says `SentUnreadable` (known from the stored sign-in's scopes, or
        from Google's 403 for a token command's), and the caller decides what is safe."""
        if self._reads_mail is False:
            raise SentUnreadable()
        backoff = self.backoff()
        try:
            found = self.call(functools.partial(
                self._gmail.users().messages().list, userId="me",
                q=f"rfc822msgid:{message_id.strip('<>')} in:sent"), backoff
            ).get("messages", [])
        except AuthExpired as exc:
            if exc.status != 403:
                raise
            self._reads_mail = False  # insufficient scopes: the sign-in itself is fine
            raise SentUnreadable() from None
        if not found:
            return None
        full = self.call(functools.partial(
            self._gmail.users().messages().get, userId="me", id=found[0]["id"],
            format="metadata", metadataHeaders=[HEADER_FINGERPRINT]), backoff)
        headers = full.get("payload", {}).get("headers", [])
        fingerprint = next((h["value"] for h in headers
                            if h.get("name", "").lower() == HEADER_FINGERPRINT.lower()), "")
        return str(full["threadId"]), fingerprint


GOOGLE_RESPONSES = {"accepted": "accepted", "declined": "declined", "tentative": "tentative",
                    "needsAction": "needs-action"}


def _wall(moment: dict[str, Any], zone: str = "") -> str:
    """A Google start/end as local wall time: in `zone` when given, else in the event's own
    zone (the dateTime Google answers carries that zone's offset, so its first 16
    characters are that time)."""
    if "date" in moment:
        return str(moment["date"])
    text = str(moment.get("dateTime", ""))
    if zone:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        try:
            moment_at = datetime.fromisoformat(text)
            if moment_at.tzinfo is not None:
                return moment_at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")
        except (ValueError, KeyError):
            pass  # not a time we can place: compared as written
    return text[:16]


def _seen(item: dict[str, Any]) -> Seen:
    """A Google event (or exception) as read-back sees it."""
    series = str(item.get("recurringEventId", ""))
    cancelled = item.get("status") == "cancelled"
    attendees = {str(a.get("email", "")).lower(): GOOGLE_RESPONSES.get(
        a.get("responseStatus", ""), "needs-action") for a in item.get("attendees", [])
        if not a.get("organizer")}
    return Seen(str(item.get("id", "")), series=series,
                start=_wall(item.get("originalStartTime", {})) if series else "",
                exception=bool(series), cancelled=cancelled and bool(series),
                removed=cancelled and not series, attendees=attendees)


def _strict_http(timeout: float) -> Any:
    """An httplib2.Http that never re-sends a request on its own.

    httplib2 silently sends a request again, POSTs included, when the connection drops before
    the answer. A re-sent drafts.create makes a second draft; retries must be ours alone,
    where we look before we create again.
    """
    import http.client

    import httplib2

    class NoResend:
        def getresponse(self):
            try:
                return super().getresponse()  # type: ignore[misc]
            except (http.client.BadStatusLine, http.client.ResponseNotReady) as exc:
                raise ConnectionResetError(f"connection dropped: {exc!r}") from None

    class StrictHTTP(NoResend, httplib2.HTTPConnectionWithTimeout):
        pass

    class StrictHTTPS(NoResend, httplib2.HTTPSConnectionWithTimeout):
        pass

    class StrictHttp(httplib2.Http):
        def request(self, uri, method="GET", body=None, headers=None,
                    redirections=httplib2.DEFAULT_MAX_REDIRECTS, connection_type=None):
            if connection_type is None:
                connection_type = StrictHTTPS if uri.startswith("https:") else StrictHTTP
            return super().request(uri, method, body, headers, redirections, connection_type)

    return StrictHttp(timeout=timeout)


def _transport_errors() -> tuple[type[BaseException], ...]:
    import http.client
    import socket

    import httplib2

    return (OSError, socket.timeout, http.client.HTTPException, httplib2.HttpLib2Error)


def _reason(exc: Any) -> str:
    try:
        return exc._get_reason() or ""
    except Exception:
        return ""


def _reasons(exc: Any) -> set[str]:
    """The machine-readable reasons of a Google error body (errors[].reason, details)."""
    try:
        error = json.loads((getattr(exc, "content", b"") or b"").decode()).get("error", {})
    except (ValueError, AttributeError):
        return set()
    reasons = {str(e.get("reason", "")) for e in error.get("errors", []) if isinstance(e, dict)}
    reasons |= {str(d.get("reason", "")) for d in error.get("details", []) if isinstance(d, dict)}
    return reasons - {""}
