"""The `google` target: Calendar events and a Gmail kickoff draft, through googleapiclient.

Every write of one setup goes into batch requests; event ids are chosen by us, so a retry after
a lost response meets a 409 and is reconciled, never duplicated.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

from designed_alliance.core.config import Config
from designed_alliance.core.errors import AllianceError, MissingExtra
from designed_alliance.core.items import Event, Message
from designed_alliance.core.items import message_id as item_message_id
from designed_alliance.core.plan import Action, Change, TargetPlan
from designed_alliance.core.target import Applied, ApplyContext, Options, Remote, Target

from .. import mail
from ..retry import RETRYABLE_STATUS, Backoff, Pending, wait_for_round
from . import events as resources

DEFAULT_ROOT = "https://www.googleapis.com/"
SEND_UPDATES = {"all": "all", "external": "externalOnly", "none": "none"}
HEADER_FINGERPRINT = "X-Designed-Alliance-Fingerprint"
REFUSED = ("Google refused the credentials (revoked or expired) — run: alliance auth google, "
           "or check google.access_token_command")


class GoogleTarget(Target):
    """Google Calendar (events.insert/patch/delete in batches) + Gmail drafts."""

    name = "google"
    handles = frozenset({"event", "message"})
    is_remote = True
    batch_size: ClassVar[int] = 50  # Calendar's documented batch limit
    sleep: ClassVar[Callable[[float], None]] = staticmethod(time.sleep)
    timeout: ClassVar[float] = 30.0

    def __init__(self, config: Config, options: Options) -> None:
        super().__init__(config, options)
        section = config.section("google")
        self.calendar_id = "primary"
        self.api_root = DEFAULT_ROOT
        self.max_retry_seconds: float = 120.0
        if section is not None:
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
        self._http: Any = None

    @property
    def instance(self) -> str:
        return f"google:{self.calendar_id}"

    # -- connection ---------------------------------------------------------------------------
    def check_ready(self) -> None:
        if self.config.section("google") is None:
            where = self.config.path or "the config file"
            raise AllianceError(f"the google target needs a [google] section in {where} — copy "
                                "it from config.example.toml, then run: alliance auth google")
        self._connect()

    def _connect(self) -> None:
        if self._calendar is not None:
            return
        try:
            import google_auth_httplib2
            from googleapiclient.discovery import build
        except ImportError:
            raise MissingExtra("google", "google-api-python-client") from None
        from .auth import credentials

        section = self.config.section("google")
        assert section is not None
        creds = credentials(self.config, section)
        self._http = google_auth_httplib2.AuthorizedHttp(creds, http=_strict_http(self.timeout))
        # api_endpoint replaces rootUrl + servicePath, so each API gets its own path here.
        self._calendar = build("calendar", "v3", http=self._http, static_discovery=True,
                               cache_discovery=False,
                               client_options={"api_endpoint": self.api_root + "calendar/v3/"})
        self._gmail = build("gmail", "v1", http=self._http, static_discovery=True,
                            cache_discovery=False,
                            client_options={"api_endpoint": self.api_root})

    def _backoff(self) -> Backoff:
        return Backoff(max_total=self.max_retry_seconds, sleep=type(self).sleep)

    def _call(self, request: Any, backoff: Backoff, what: str,
              recover: Callable[[], Any] | None = None) -> Any:
        """Execute one request, retrying 429/5xx/timeouts/dropped connections.

        A request that is not idempotent passes `recover`: after a lost answer it is asked
        first, and what it finds (the object the lost request made) is returned instead of
        sending the request again.
        """
        from google.auth.exceptions import RefreshError
        from googleapiclient.errors import HttpError

        attempt = 0
        while True:
            attempt += 1
            try:
                return request.execute(http=self._http)
            except RefreshError:
                raise AllianceError(REFUSED) from None
            except HttpError as exc:
                status = exc.resp.status
                if status in (401, 403) and _auth_problem(exc):
                    raise AllianceError(REFUSED) from None
                if status not in RETRYABLE_STATUS or not backoff.wait(
                        attempt, exc.resp.get("retry-after")):
                    raise AllianceError(f"Google {what} failed: HTTP {status} "
                                        f"{_reason(exc)} — run the same command again later"
                                        ) from None
            except _transport_errors() as exc:
                if not backoff.wait(attempt):
                    raise AllianceError(f"Google {what} failed: {type(exc).__name__} — check "
                                        "the network, then run the same command again"
                                        ) from None
                found = recover() if recover is not None else None
                if found is not None:
                    return found

    # -- lookup -------------------------------------------------------------------------------
    def lookup(self, alliance_id: str) -> dict[str, Remote]:
        self._connect()
        backoff = self._backoff()
        found: dict[str, Remote] = {}
        page = None
        while True:
            request = self._calendar.events().list(
                calendarId=self.calendar_id, maxResults=2500, pageToken=page,
                privateExtendedProperty=f"{resources.TAG_ID}={alliance_id}")
            response = self._call(request, backoff, "event lookup")
            for item in response.get("items", []):
                private = item.get("extendedProperties", {}).get("private", {})
                key = private.get(resources.TAG_KEY)
                if not key or item.get("status") == "cancelled":
                    continue
                found[key] = Remote(key, item["id"], private.get(resources.TAG_FINGERPRINT, ""),
                                    int(private.get(resources.TAG_SEQUENCE, "0") or 0),
                                    {"title": item.get("summary", "")})
            page = response.get("nextPageToken")
            if not page:
                break
        if found:
            # Tagged events exist but state was lost: find the kickoff draft too.
            draft = self._find_draft(item_message_id(alliance_id, "kickoff"), backoff)
            if draft is not None:
                found["kickoff"] = Remote("kickoff", draft[0], draft[1])
        return found

    def _find_draft(self, message_id: str, backoff: Backoff) -> tuple[str, str] | None:
        request = self._gmail.users().drafts().list(userId="me", q=f"rfc822msgid:{message_id}")
        drafts = self._call(request, backoff, "draft lookup").get("drafts", [])
        if not drafts:
            return None
        draft_id = drafts[0]["id"]
        full = self._call(self._gmail.users().drafts().get(userId="me", id=draft_id,
                                                           format="metadata"),
                          backoff, "draft lookup")
        headers = full.get("message", {}).get("payload", {}).get("headers", [])
        fingerprint = next((h["value"] for h in headers
                            if h.get("name", "").lower() == HEADER_FINGERPRINT.lower()), "")
        return draft_id, fingerprint

    # -- apply --------------------------------------------------------------------------------
    def apply(self, plan: TargetPlan, context: ApplyContext
              ) -> Iterator[Applied | tuple[Applied, ...]]:
        """Events first, then the drafts that tell the members about them; all recorded as one
        unit, so a crash before the change summary exists leaves the events to be redone
        (idempotently) and the summary still to be written — never silently skipped."""
        self._connect()
        backoff = self._backoff()
        event_changes = [c for c in plan.changes
                         if c.action is not Action.KEEP and c.key != "kickoff"]
        outcomes = list(self._apply_events(event_changes, context, backoff))
        done = {a.change.key for a in outcomes if a.ok}
        outcomes += self._apply_drafts(plan, context, backoff, done)
        yield tuple(outcomes)

    def _request_for(self, change: Change, send_updates: str, *, resurrect: bool = False
                     ) -> Any:
        events = self._calendar.events()
        alliance_id = change.item.alliance_id if change.item else None
        if change.action is Action.CANCEL:
            assert change.record is not None
            return events.delete(calendarId=self.calendar_id, eventId=change.record.remote_id,
                                 sendUpdates=send_updates)
        item = change.item
        assert isinstance(item, Event) and alliance_id
        body = resources.body(item, change.sequence)
        event_id = resources.event_id(alliance_id, item.key)
        if change.action is Action.CREATE and not resurrect:
            return events.insert(calendarId=self.calendar_id, sendUpdates=send_updates,
                                 body={"id": event_id, **body})
        return events.patch(calendarId=self.calendar_id, eventId=event_id,
                            sendUpdates=send_updates, body=body)

    def _apply_events(self, changes: Sequence[Change], context: ApplyContext,
                      backoff: Backoff) -> Iterator[Applied]:
        from google.auth.exceptions import RefreshError
        from googleapiclient.errors import HttpError
        from googleapiclient.http import BatchHttpRequest

        send_updates = SEND_UPDATES[self.options.notify]
        pending = [Pending(c) for c in changes]
        resurrect: set[str] = set()  # keys whose insert met 409: patch them instead
        while pending:
            results: dict[str, tuple[Any, Any]] = {}

            def collect(request_id: str, response: Any, exception: Any,
                        results: dict[str, tuple[Any, Any]] = results) -> None:
                results[request_id] = (response, exception)

            retry: list[Pending] = []
            for start in range(0, len(pending), self.batch_size):
                chunk = pending[start:start + self.batch_size]
                batch = BatchHttpRequest(callback=collect,
                                         batch_uri=self.api_root + "batch/calendar/v3")
                for index, entry in enumerate(chunk):
                    batch.add(self._request_for(entry.change, send_updates,
                                                resurrect=entry.change.key in resurrect),
                              request_id=str(start + index))
                try:
                    batch.execute(http=self._http)
                except RefreshError:
                    raise AllianceError(REFUSED) from None
                except HttpError as exc:
                    status = exc.resp.status
                    if status in (401, 403) and _auth_problem(exc):
                        raise AllianceError(REFUSED) from None
                    if status not in RETRYABLE_STATUS:
                        yield from (Applied(e.change, error=f"batch HTTP {status}")
                                    for e in chunk)
                        continue
                    for entry in chunk:
                        entry.last_error = f"HTTP {status}"
                        entry.retry_after = exc.resp.get("retry-after")
                        retry.append(entry)
                    continue
                except _transport_errors() as exc:
                    for entry in chunk:
                        entry.last_error = type(exc).__name__
                        retry.append(entry)
                    continue
                for index, entry in enumerate(chunk):
                    response, exception = results.get(str(start + index), (None, None))
                    outcome = self._outcome(entry, response, exception, resurrect)
                    if outcome is None:
                        retry.append(entry)
                    else:
                        yield outcome
            if not retry:
                break
            if not wait_for_round(retry, backoff):
                for entry in retry:
                    yield Applied(entry.change,
                                  error=f"gave up after retries ({entry.last_error})")
                return
            context.progress(self.options, f"google: retrying {len(retry)} change(s)")
            pending = retry

    def _outcome(self, entry: Pending, response: Any, exception: Any,
                 resurrect: set[str]) -> Applied | None:
        """Applied (done or failed for good), or None to retry."""
        change = entry.change
        if exception is None:
            remote_id = (response or {}).get("id") or (
                change.record.remote_id if change.record else "")
            return Applied(change, remote_id=remote_id)
        status = getattr(getattr(exception, "resp", None), "status", None)
        if status == 409 and change.action is Action.CREATE:
            # Already there (an earlier run's write we never heard back from): update it.
            resurrect.add(change.key)
            entry.last_error = "409 reconciled"
            return None
        if status in (404, 410) and change.action is Action.CANCEL:
            return Applied(change, remote_id=change.record.remote_id if change.record else "")
        if status in RETRYABLE_STATUS:
            entry.retry_after = exception.resp.get("retry-after")
            entry.last_error = f"HTTP {status}"
            return None
        return Applied(change, error=f"HTTP {status} {_reason(exception)}")

    def _apply_drafts(self, plan: TargetPlan, context: ApplyContext, backoff: Backoff,
                      done: set[str]) -> list[Applied]:
        from designed_alliance.core import compose
        from designed_alliance.core.schedule import organizer_for

        kickoff = next((c for c in plan.changes
                        if c.key == "kickoff" and c.action is not Action.KEEP), None)
        told = [c for c in plan.changes if c.key in done]  # only what really happened
        alliance = context.alliance
        out: list[Applied] = []
        if kickoff is not None and kickoff.action is Action.CANCEL:
            record = kickoff.record
            if record is not None and record.remote_id:
                self._delete_draft(record.remote_id, backoff)
            out.append(Applied(kickoff, remote_id=record.remote_id if record else ""))
        elif kickoff is not None:
            message = next(m for m in context.messages if m.key == "kickoff")
            # Only a first setup on an empty calendar may skip looking for the draft: any
            # record means an earlier run got this far and may have made it already.
            fresh = all(c.record is None for c in plan.changes)
            draft_id = self._upsert_draft(
                message, mail.invites_for_all(context.events, context.sequences),
                message.message_id, backoff,
                known=kickoff.record.remote_id if kickoff.record else None, fresh=fresh)
            out.append(Applied(kickoff, remote_id=draft_id))
            if kickoff.action is Action.CREATE:
                return out  # the kickoff itself tells the members about every event
        if told and not context.teardown:
            # On teardown the calendar's own cancellations tell the members; no new draft.
            sender = organizer_for(alliance, self.config.defaults.organizer)
            summary = compose.changes(alliance, told, sender)
            if summary is not None:
                self._upsert_draft(summary, mail.invites_for_changes(alliance.id, told),
                                   summary.message_id, backoff, known=None, fresh=False)
        return out

    def _upsert_draft(self, message: Message, invites: list, message_id: str,
                      backoff: Backoff, *, known: str | None, fresh: bool) -> str:
        built = mail.build(message, invites, draft=False, message_id=message_id)
        built[HEADER_FINGERPRINT] = message.fingerprint
        raw = base64.urlsafe_b64encode(bytes(built)).decode()
        drafts = self._gmail.users().drafts()
        draft_id = known
        if draft_id is None and not fresh:
            found = self._find_draft(message_id, backoff)
            draft_id = found[0] if found else None
        if draft_id is not None:
            self._call(drafts.update(userId="me", id=draft_id, body={"message": {"raw": raw}}),
                       backoff, "draft update")
            return draft_id
        return self._create_draft(raw, message_id, backoff)

    def _create_draft(self, raw: str, message_id: str, backoff: Backoff) -> str:
        """drafts.create is not idempotent: after a lost answer, look before trying again."""

        def made_already() -> dict[str, str] | None:
            found = self._find_draft(message_id, backoff)
            return {"id": found[0]} if found else None

        request = self._gmail.users().drafts().create(userId="me", body={"message": {"raw": raw}})
        return self._call(request, backoff, "draft create", recover=made_already)["id"]

    def _delete_draft(self, draft_id: str, backoff: Backoff) -> None:
        try:
            self._call(self._gmail.users().drafts().delete(userId="me", id=draft_id),
                       backoff, "draft delete")
        except AllianceError as exc:
            if "HTTP 404" not in str(exc):
                raise


def _strict_http(timeout: float) -> Any:
    """An httplib2.Http that never re-sends a request on its own.

    httplib2 silently sends a request again, POSTs included, when the connection drops before
    the answer. A re-sent drafts.create makes a second draft; retries must be ours alone,
    where we look before we create again.
    """
    import http.client

    import httplib2

    class NoResend:
        def getresponse(self):  # type: ignore[no-untyped-def]
            try:
                return super().getresponse()  # type: ignore[misc]
            except (http.client.BadStatusLine, http.client.ResponseNotReady) as exc:
                raise ConnectionResetError(f"connection dropped: {exc!r}") from None

    class StrictHTTP(NoResend, httplib2.HTTPConnectionWithTimeout):
        pass

    class StrictHTTPS(NoResend, httplib2.HTTPSConnectionWithTimeout):
        pass

    class StrictHttp(httplib2.Http):
        def request(self, uri, method="GET", body=None, headers=None,  # type: ignore[override]
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


def _auth_problem(exc: Any) -> bool:
    status = exc.resp.status
    if status == 401:
        return True
    content = (getattr(exc, "content", b"") or b"").decode(errors="replace")
    return "insufficientPermissions" in content or "ACCESS_TOKEN_SCOPE_INSUFFICIENT" in content
