"""The `caldav` target: events on any CalDAV server (Fastmail, Nextcloud, iCloud, Radicale, …).

Each item we create is one calendar object named after its stable UID (`<uid>.ics`), so a
lost state is rebuilt from the server and a repeated PUT replaces instead of duplicating. An
object of ours may also live at another href — a calendar app that imported our invite keeps
our UID but picks its own file name — so once an object is known, its href is the one the
server gave (the record's `remote_id`), never the one we would have chosen.

Every failure is translated once, in `classify`, into the typed errors of `core/errors.py`;
the code that decides what to do next looks at the type, never at the message text.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urljoin, urlsplit
from xml.sax.saxutils import escape

from designed_alliance.core.config import Config
from designed_alliance.core.errors import (
    AllianceError,
    AuthExpired,
    BadInput,
    Conflict,
    MissingExtra,
    NotFound,
    Refused,
    RemoteError,
    Throttled,
    Unavailable,
)
from designed_alliance.core.items import Event, Item, item_uid, slug
from designed_alliance.core.plan import Action, Change, TargetPlan
from designed_alliance.core.secrets import redact_url, url_has_password
from designed_alliance.core.state import Record
from designed_alliance.core.target import (
    Applied,
    ApplyContext,
    Check,
    Options,
    Remote,
    RemoteVersion,
    ResponsesResult,
    SyncPoint,
    Target,
)

from . import ical
from .ics import ical_remotes
from .remote import (
    OwnCalendar,
    Read,
    Seen,
    SyncExpired,
    calendar_mode,
    calendar_name,
    zone_span,
)
from .retry import Backoff

KEYRING_SERVICE = "designed-alliance-caldav"
DAV = "{DAV:}"
CALDAV = "{urn:ietf:params:xml:ns:caldav}"
ICS_HEADERS = {"Content-Type": "text/calendar; charset=utf-8"}
OURS = "urn:designed-alliance"  # the namespace of our dead property on a dedicated calendar
TAG = f"{{{OURS}}}alliance-id"


class CalDavTarget(OwnCalendar, Target):
    """PUT/DELETE of one object per item in the calendar collection at `caldav.url`.

    With `calendar = "dedicated"`, `caldav.url` is the account (any URL the server answers
    current-user-principal for): the calendar "Alliance: <title>" is made with MKCALENDAR
    under the principal's calendar-home-set, at an address derived from the alliance id
    (so a second MKCALENDAR, after a lost answer, meets the first: 405), carrying the
    alliance id in a dead property of our own namespace; it is found again by a PROPFIND
    (Depth 1) of the home."""

    name = "caldav"
    handles = frozenset({"event"})
    is_remote = True
    timeout: ClassVar[int] = 30
    max_retry_seconds: ClassVar[float] = 60.0  # total waiting per run for 429/5xx answers
    sleep = staticmethod(time.sleep)  # tests replace it

    def __init__(self, config: Config, options: Options) -> None:
        super().__init__(config, options)
        self.section = config.section("caldav")
        self.url = ""
        self.username = ""
        self.verify_tls = True
        if self.section is not None:
            url = self.section.text("url", required=True,
                                    hint="give the URL of the calendar collection")
            if url_has_password(url):
                # Refused before it is printed, planned or stored: the URL is the target's
                # instance, which plan prints and the state DB keeps.
                raise self.section.fail("url", "holds a password "
                                        f"({redact_url(url)!r})",
                                        "remove it from the URL and give it with "
                                        "password_command (or password_env) instead")
            self.url = url if url.endswith("/") else url + "/"
            if urlsplit(self.url).scheme not in ("http", "https"):
                raise self.section.fail("url", f"{redact_url(url)!r} is not an http(s) URL",
                                        "write it like https://dav.example.com/calendars/me/x/")
            self.dedicated = calendar_mode(self.section, "caldav")
            self.username = self.section.text("username", required=True)
            self.verify_tls = self.section.get("verify_tls", bool, default=True)
            for name in ("password_command", "password_env", "password_keyring"):
                self.section.raw(name)
            self.section.done()
        self._client: Any = None
        self.requests_made = 0  # HTTP requests sent: read-back reports it
        self._whole: Any = None  # the last whole-calendar REPORT of this run, not yet reused
        self._backoff = Backoff(max_total=self.max_retry_seconds, sleep=type(self).sleep)
        self.base_url = self.url  # what the config names; events may go to a calendar below
        self._home = ""

    @property
    def shared_instance(self) -> str:
        return f"caldav:{redact_url(self.base_url)}"

    @property
    def where(self) -> str:
        return redact_url(self.url)

    # -- who sends the invitations (RFC 6638 scheduling) ---------------------------------------
    @property
    def schedule_agent(self) -> str | None:
        """SCHEDULE-AGENT for the attendees we PUT. A scheduling server (Nextcloud, Fastmail,
        iCloud, SOGo) mails every attendee of an object it stores unless told "CLIENT": so
        with --notify none, or when smtp sends the invites in this same run, it is told."""
        if self.options.notify == "none" or self.options.send:
            return "CLIENT"
        return None  # the server's default: it schedules, if it can

    def who_sends(self) -> str | None:
        if self.options.notify == "none":
            return ("invitations: none — the CalDAV server is told not to send them "
                    "(SCHEDULE-AGENT=CLIENT, --notify none)")
        if self.options.send:
            return ("invitations: smtp sends them in this run — the CalDAV server is told "
                    "not to (SCHEDULE-AGENT=CLIENT)")
        return ("invitations: the CalDAV server sends them if it does scheduling (RFC 6638: "
                "Nextcloud, Fastmail, iCloud, SOGo); one that does not sends none — then add "
                "--send, or --to eml and send the drafts")

    def validate(self, items: Sequence[Item]) -> list[str]:
        if self.options.notify == "external":
            raise BadInput("CalDAV scheduling cannot tell members inside your domain from "
                           "those outside it", key="--notify",
                           hint="use --notify all (the server sends the invitations) or "
                                "--notify none with the caldav target")
        ical.refuse_service_video(items, self.name)
        return [*super().validate(items), *self.calendar_notes()]

    # -- hooks for doctor and the config schema ------------------------------------------------
    @classmethod
    def config_schema(cls) -> dict[str, Any] | None:
        from .files import secret_schema

        return {"type": "object", "additionalProperties": False, "required": ["url", "username"],
                "properties": {
                    "url": {"type": "string", "format": "uri",
                            "description": "The calendar collection's URL (with calendar = "
                                           '"dedicated": the account URL).'},
                    "calendar": {"enum": ["dedicated"],
                                 "description": 'calendar = "dedicated": make a calendar '
                                                '"Alliance: <title>" (MKCALENDAR in the '
                                                "calendar home) once and write the events "
                                                "there."},
                    "username": {"type": "string"},
                    "verify_tls": {"type": "boolean", "default": True},
                    **secret_schema("password")}}

    @classmethod
    def doctor_checks(cls, config: Config) -> list[Check]:
        from designed_alliance.core.probe import (
            endpoint,
            login_check,
            missing_extra,
            missing_keys,
            password_check,
            server_check,
        )

        first = missing_extra("caldav", "caldav") or missing_keys("caldav", config,
                                                                  ("url", "username"))
        if first is not None:
            return [first]
        password = password_check("caldav", config)
        url = config.sections["caldav"]["url"]
        out = [*([password] if password else []), server_check("caldav", *endpoint(url))]
        if all(c.status == "ok" for c in out):
            out.append(login_check("caldav", cls, config, "logged in; the URL is a calendar"))
        return out

    # -- connection ---------------------------------------------------------------------------
    def check_ready(self) -> None:
        self._require_section()
        self._connect()

    def _require_section(self) -> None:
        if self.section is None:
            raise AllianceError(str(self.config.missing_section(
                "caldav", "caldav", then="set url, username and password_command")))

    def verify(self) -> None:
        """For `doctor`: log in with the password and check that `caldav.url` is a calendar.

        One PROPFIND (Depth 0) for the resource type; writes nothing. Raises AllianceError
        (a RemoteError subclass for server answers) with one line that says what to fix.
        """
        self._require_section()
        self._client = self._opened()

    def _open(self, client: Any) -> None:
        """One PROPFIND up front: a wrong password, a wrong URL, a URL that is not one
        calendar and a dead server are all found here, before anything is written. (Objects
        PUT into the account's or the server's collection would exist, yet be in no
        calendar anyone sees.)"""
        if self.dedicated:
            self._home = self._calendar_home(client)
            return
        body = ('<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:">'
                "<D:prop><D:resourcetype/></D:prop></D:propfind>")
        response = self._call(lambda: client.propfind(self.url, props=body, depth=0),
                              "open the calendar", ok=(200, 207), collection=True)
        tree = getattr(response, "tree", None)
        kinds = [] if tree is None else [
            child.tag for node in tree.iter(f"{DAV}resourcetype") for child in node]
        if f"{CALDAV}calendar" not in kinds:
            raise Refused(f"{self.where} is not a calendar collection — caldav.url must be the "
                          "URL of one calendar (like …/calendars/<user>/<calendar>/), not of "
                          "the server or the account")

    # -- a calendar of the alliance's own -------------------------------------------------------
    def _calendar_home(self, client: Any) -> str:
        """The principal's calendar-home-set (RFC 4791 §6.2.1), from `caldav.url` or, when
        that answers only current-user-principal (RFC 5397), from the principal."""
        body = ('<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" '
                'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:current-user-principal/>'
                "<C:calendar-home-set/></D:prop></D:propfind>")
        url = self.base_url
        for _ in range(2):
            response = self._call(lambda url=url: client.propfind(url, props=body, depth=0),
                                  "find the calendar home", ok=(200, 207), collection=True)
            tree = getattr(response, "tree", None)
            home = _href_in(tree, f"{CALDAV}calendar-home-set")
            if home:
                return urljoin(url, home)
            principal = _href_in(tree, f"{DAV}current-user-principal")
            if not principal:
                break
            url = urljoin(url, principal)
        raise Refused(f"{self.where} names no calendar home (calendar-home-set) — with "
                      'calendar = "dedicated", caldav.url must be your account on the '
                      "CalDAV server (like …/dav/ or …/calendars/<user>/)")

    def find_calendars(self, alliance_id: str) -> list[tuple[str, str]]:
        client = self._connect()
        body = ('<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" '
                f'xmlns:A="{OURS}"><D:prop><D:resourcetype/><D:displayname/><A:alliance-id/>'
                "</D:prop></D:propfind>")
        response = self._call(lambda: client.propfind(self._home, props=body, depth=1),
                              "list the calendars", ok=(200, 207), collection=True)
        tree = getattr(response, "tree", None)
        found: list[tuple[str, str]] = []
        for node in [] if tree is None else tree.iter(f"{DAV}response"):
            href = node.findtext(f"{DAV}href")
            kinds = [c.tag for r in node.iter(f"{DAV}resourcetype") for c in r]
            tags = [t.text for t in node.iter(TAG)]
            if href and f"{CALDAV}calendar" in kinds and alliance_id in tags:
                found.append((urljoin(self._home, href),
                              next((d.text or "" for d in node.iter(f"{DAV}displayname")), "")))
        return found

    def make_calendar(self, alliance_id: str, name: str) -> str:
        """MKCALENDAR at a fixed address: made once, however often it is asked."""
        client = self._connect()
        url = urljoin(self._home, f"alliance-{slug(alliance_id)}/")
        body = ('<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" '
                f'xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:A="{OURS}"><D:set><D:prop>'
                f"<D:displayname>{escape(name)}</D:displayname>"
                f"<A:alliance-id>{escape(alliance_id)}</A:alliance-id>"
                f"{_zone_props(self.made_for)}</D:prop></D:set></C:mkcalendar>")
        response = self._call(lambda: client.mkcalendar(url, body), "make the calendar",
                              ok=(200, 201, 405))
        if response.status == 405 and _canon(url) not in {
                _canon(u) for u, _ in self.find_calendars(alliance_id)}:
            raise Refused(f"{redact_url(url)} already exists and is not this alliance's "
                          "calendar — rename or remove it on the server, then run again")
        return url

    def rename_calendar(self, calendar_id: str, name: str) -> None:
        client = self._connect()
        body = ('<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:">'
                f"<D:set><D:prop><D:displayname>{escape(name)}</D:displayname></D:prop>"
                "</D:set></D:propertyupdate>")
        self._call(lambda: client.proppatch(calendar_id, body), "rename the calendar",
                   ok=(200, 207))

    def delete_calendar(self, calendar_id: str) -> None:
        client = self._connect()
        self._call(lambda: client.delete(calendar_id), "delete the calendar",
                   ok=(200, 204, 404, 410))

    def use_calendar(self, calendar_id: str) -> None:
        self.url = calendar_id if calendar_id.endswith("/") else calendar_id + "/"

    def _new_client(self, *, negotiate: bool = False) -> Any:
        """A client that sends Basic credentials with its first request: left to negotiate,
        the library first asks without them, and every run would pay a 401 round trip.
        With `negotiate` it does ask first (for a server that takes Digest only)."""
        try:
            import caldav
        except ImportError:
            raise MissingExtra("caldav", "caldav") from None
        from designed_alliance.core.secrets import resolve

        assert self.section is not None
        password = resolve(self.section, "password", service=KEYRING_SERVICE,
                           user=self.username)
        client: Any = caldav.DAVClient  # the library's types say too little here
        return client(url=self.url, username=self.username, password=password,
                      ssl_verify_cert=self.verify_tls, timeout=self.timeout,
                      enable_rfc6764=False,
                      auth_type="basic" if not negotiate and self._basic_is_safe() else None)

    def _basic_is_safe(self) -> bool:
        """Basic credentials go unasked only over TLS or to this machine: over plain HTTP
        elsewhere the server may want Digest, and an unasked Basic header would have shown
        the password to the network."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        return parts.scheme == "https" or parts.hostname in ("127.0.0.1", "::1", "localhost")

    def _connect(self) -> Any:
        if self._client is None:
            self._client = self._opened()
        return self._client

    def _opened(self) -> Any:
        """A client that has passed `_open`: Basic first; refused, the server's own choice
        of scheme (one request more, only for a server that does not take Basic)."""
        client = self._new_client()
        try:
            self._open(client)
        except AuthExpired:
            client = self._new_client(negotiate=True)
            self._open(client)
        return client

    def _call(self, call: Any, what: str, *, ok: tuple[int, ...],
              collection: bool = False) -> Any:
        """Run one request; a status outside `ok` or any exception becomes a RemoteError.

        A 429 or 5xx *answer* is retried with backoff (honouring Retry-After) within one
        budget per run: every request we make is idempotent (PUT of a whole object, DELETE,
        GET, PROPFIND, REPORT), so repeating one the server may have done is safe. A server
        that does not answer at all is not waited for: it is reported at once.
        """
        attempt = 0
        while True:
            attempt += 1
            self.requests_made += 1
            try:
                try:
                    response = call()
                except Exception as exc:  # the caldav library raises a zoo of transport errors
                    raise self.classify(what, exc=exc, collection=collection) from None
                status = getattr(response, "status", None)
                if status is None or status not in ok:
                    headers = getattr(response, "headers", None) or {}
                    raise self.classify(what, status=status, collection=collection,
                                        retry_after=headers.get("Retry-After"))
                return response
            except Throttled as exc:
                if exc.status is None or not self._backoff.wait(attempt, exc.retry_after):
                    raise

    def classify(self, what: str, *, exc: BaseException | None = None,
                 status: int | None = None, retry_after: str | None = None,
                 collection: bool = False) -> RemoteError:
        """The one translation of the caldav library's exceptions and HTTP statuses into the
        typed errors of core/errors.py. `collection` says the request was for the calendar
        itself, so a 404 means "no calendar here" rather than "no such event"."""
        from caldav.lib import error as dav
        from caldav.lib.http_sync import requests as http

        host = urlsplit(self.where).netloc
        if isinstance(exc, RemoteError):
            return exc
        if exc is not None:
            if isinstance(exc, dav.RateLimitError):
                status, retry_after = exc.status or 429, exc.retry_after
            elif isinstance(exc, dav.UidConflictError):
                return Conflict(f"another object in {self.where} already has this event's UID "
                                f"— could not {what}", status=exc.status)
            elif isinstance(exc, dav.NotFoundError):
                status = 404
            elif isinstance(exc, dav.DAVError):
                status = exc.status
                if status is None:
                    return RemoteError(f"CalDAV could not {what}: {type(exc).__name__} — run "
                                       "the same command again; what was done is recorded")
            elif isinstance(exc, http.exceptions.SSLError | ssl.SSLError):
                return Refused(f"TLS problem talking to {host} ({type(exc).__name__}) — fix "
                               "the server's certificate, or set caldav.verify_tls = false "
                               "for a server you trust")
            elif isinstance(exc, http.exceptions.Timeout | TimeoutError):
                return Unavailable(f"the CalDAV server at {host} did not answer in "
                                   f"{self.timeout} s while trying to {what} — run the same "
                                   "command again later", answer_lost=True)
            elif isinstance(exc, http.exceptions.RequestException | OSError):
                return Unavailable(f"cannot reach the CalDAV server at {host} "
                                   f"({type(exc).__name__}) — is it running, and is caldav.url "
                                   "right?", answer_lost=True)
            else:
                return RemoteError(f"CalDAV could not {what}: {type(exc).__name__} — run the "
                                   "same command again; what was done is recorded")
        if status == 401:
            return AuthExpired(f"the CalDAV server refused {self.username!r} at {self.where} "
                               f"(HTTP 401) — check caldav.username and the password",
                               status=status)
        if status == 403:
            return Refused(f"the CalDAV server refused {self.username!r} access to "
                           f"{self.where} (HTTP 403) — check caldav.username, the password and "
                           "that this user may write to the calendar", status=status)
        if status in (404, 410):
            if collection:
                return NotFound(f"there is no calendar at {self.where} (HTTP {status}) — "
                                "caldav.url must be the calendar collection's URL; create the "
                                "calendar first", status=status)
            return NotFound(f"the CalDAV server has no such event (HTTP {status}) while trying "
                            f"to {what}", status=status)
        if status in (409, 412):
            return Conflict(f"the CalDAV server reported a conflict (HTTP {status}) while "
                            f"trying to {what}", status=status)
        if status == 429:
            return Throttled(f"the CalDAV server at {host} asks to slow down (HTTP 429) — run "
                             "the same command again in a few minutes", retry_after=retry_after)
        if status is not None and status >= 500:
            return Unavailable(f"the CalDAV server could not {what} (HTTP {status}) — run the "
                               "same command again later", status=status,
                               retry_after=retry_after, answer_lost=True)
        if status is not None and status >= 400:
            return Refused(f"the CalDAV server refused to {what} (HTTP {status}) — check the "
                           "event, or report it with the server's name", status=status)
        return RemoteError(f"the CalDAV server gave an unexpected answer (HTTP {status}) "
                           f"while trying to {what} — run the same command again")

    # -- where objects live -------------------------------------------------------------------
    def href(self, uid: str) -> str:
        """The href we give an object we create: the collection URL + `<uid>.ics`."""
        return self.url + quote(uid, safe="@") + ".ics"

    def _in_collection(self, href: str) -> bool:
        """True for an href inside our calendar collection (and on the same server): a
        recorded remote id pointing anywhere else is never written to or deleted."""
        ours, theirs = urlsplit(self.url), urlsplit(urljoin(self.url, href))
        same_server = (theirs.hostname, theirs.port) == (ours.hostname, ours.port)
        return (same_server and theirs.path.startswith(ours.path)
                and theirs.path != ours.path and "/../" not in theirs.path)

    def _known_href(self, change: Change, uid: str) -> str:
        """Where this change's object is: the href lookup or a previous apply recorded."""
        recorded = change.record.remote_id if change.record is not None else ""
        if recorded and self._in_collection(recorded):
            return urljoin(self.url, recorded)
        return self.href(uid)

    def find_uid(self, uid: str) -> str | None:
        """The href of the object holding `uid`, asked of the server (a calendar-query
        REPORT on UID), or None. Used when the href we know turned out to be wrong."""
        client = self._connect()
        query = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
            '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
            f'<C:prop-filter name="UID"><C:text-match collation="i;octet">{escape(uid)}'
            "</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter>"
            "</C:calendar-query>")
        response = self._call(lambda: client.report(self.url, query, depth=1),
                              "search the calendar", ok=(200, 207), collection=True)
        import icalendar

        tree = getattr(response, "tree", None)
        if tree is None:
            return None
        for node in tree.iter(f"{DAV}response"):
            href = node.findtext(f"{DAV}href")
            data = next((d.text for d in node.iter(f"{CALDAV}calendar-data") if d.text), None)
            if not href or not data:
                continue
            try:
                cal = icalendar.Calendar.from_ical(data)
            except ValueError:
                continue
            # text-match is a substring match (RFC 4791 §9.7.5): keep only the exact UID.
            if any(str(c.get("uid", "")) == uid for c in cal.walk("VEVENT")):
                found = urljoin(self.url, href)
                if self._in_collection(found):
                    return found
        return None

    # -- lookup / apply -----------------------------------------------------------------------
    def lookup(self, alliance_id: str) -> dict[str, Remote]:
        client = self._connect()
        if self.dedicated and self.own_calendar(alliance_id, None) is None:
            return {}  # no calendar of its own yet: nothing of this alliance can exist
        calendar = client.calendar(url=self.url)
        try:
            objects = calendar.events()
        except Exception as exc:  # transport or server errors, explained in one line
            raise self.classify("list the calendar", exc=exc, collection=True) from None
        found: dict[str, Remote] = {}
        for obj in objects:
            found.update(ical_remotes(obj.data, alliance_id, str(obj.url)))
        return found

    def _put(self, client: Any, change: Change, uid: str) -> tuple[str, str]:
        assert isinstance(change.item, Event)
        url = self._known_href(change, uid)
        master = ical.vevent(change.item, change.sequence, schedule_agent=self.schedule_agent)
        kept = self._exceptions(client, url, master) if (
            change.action is Action.UPDATE and change.item.rrule) else []
        # A stored calendar object carries no METHOD (RFC 4791 §4.1).
        body = ical.calendar([master, *kept], None).to_ical().decode()
        try:
            # A PUT's 404 can only mean the calendar itself is gone.
            response = self._call(lambda: client.put(url, body, ICS_HEADERS), "save an event",
                                  ok=(200, 201, 204), collection=True)
            return url, _etag(response)
        except Conflict:
            # The UID is taken at another href (an app imported our invite under its own
            # name, or state is older than the object): write to the object that has it.
            other = self.find_uid(uid)
            if other is None or other == url:
                raise
        response = self._call(lambda: client.put(other, body, ICS_HEADERS), "save an event",
                              ok=(200, 201, 204), collection=True)
        return other, _etag(response)

    def _exceptions(self, client: Any, url: str, master: Any) -> list[Any]:
        """The occurrences someone moved, cancelled or answered one by one in the stored
        object (RECURRENCE-ID overrides), with its EXDATEs copied onto `master` — kept when
        the series keeps its start and rule, dropped (as `plan` said) when they change."""
        import icalendar

        response = self._call(lambda: client.request(url, "GET"), "read an event",
                              ok=(200, 404, 410))
        if response.status != 200:
            return []
        try:
            stored = icalendar.Calendar.from_ical(response.raw)
        except ValueError:
            return []  # not iCalendar: nothing of it is worth keeping
        uid = str(master.get("uid"))
        mine = [c for c in stored.walk("VEVENT") if str(c.get("uid")) == uid]
        old = next((c for c in mine if c.get("recurrence-id") is None), None)
        if old is None or _wall(old.get("dtstart")) != _wall(master.get("dtstart")) or (
                _rule(old) != _rule(master)):
            return []
        exdates = old.get("exdate")
        for exdate in exdates if isinstance(exdates, list) else [exdates] if exdates else []:
            master.add("exdate", [d.dt for d in exdate.dts])
        return [c for c in mine if c.get("recurrence-id") is not None]

    def _delete(self, client: Any, change: Change, uid: str) -> str:
        url = self._known_href(change, uid)
        response = self._call(lambda: client.delete(url), "delete an event",
                              ok=(200, 204, 404, 410))
        if response.status in (404, 410):
            # Not at the href we know: make sure it is not somewhere else before calling it
            # gone, or teardown would report success while the event stays.
            other = self.find_uid(uid)
            if other is None:
                return url
            url = other
            self._call(lambda: client.delete(url), "delete an event", ok=(200, 204, 404, 410))
        # Verify: a server that answers 2xx but keeps the object must not be believed.
        check = self._call(lambda: client.request(url, "GET"), "check a deleted event",
                           ok=(200, 404, 410))
        if check.status == 200:
            raise Conflict(f"the CalDAV server said it deleted {change.key} but still has it "
                           f"at {redact_url(url)} — delete it in your calendar app, then run "
                           "the same command again")
        return url

    def apply(self, plan: TargetPlan, context: ApplyContext) -> Iterator[Applied]:
        client = self._connect()
        self._whole = None  # what is written now makes an earlier read stale
        if self.dedicated:
            try:
                self.made_for = zone_span(context.alliance)
                own = self.own_calendar(context.alliance.id, None if context.teardown
                                        else calendar_name(context.alliance.title))
            except RemoteError as exc:
                first = next((c for c in plan.changes if c.action is not Action.KEEP), None)
                if first is not None:
                    yield Applied(first, error=str(exc))
                return
            if own is None:  # a teardown, and no calendar of ours is left: nor its events
                for change in plan.changes:
                    if change.action is Action.CANCEL and change.record is not None:
                        yield Applied(change, remote_id=change.record.remote_id)
                return
        for change in plan.changes:
            if change.action is Action.KEEP:
                continue
            uid = item_uid(context.alliance.id, change.key)
            version = ""
            try:
                if change.action is Action.CANCEL:
                    url = self._delete(client, change, uid)
                else:
                    url, version = self._put(client, change, uid)
            except (Refused, Conflict) as exc:
                if isinstance(exc, Refused) and exc.status in (None, 401, 403):
                    yield Applied(change, error=str(exc))
                    return  # a login or TLS problem: nothing else will get through either
                yield Applied(change, error=str(exc))  # this object only: go on
                continue
            except RemoteError as exc:
                # Auth, a missing calendar, throttling, a dead server or an unknown answer:
                # the next request would fare no better. What was done is recorded.
                yield Applied(change, error=str(exc))
                return
            context.progress(self.options, f"caldav: {change.action.value} {change.key}")
            yield Applied(change, remote_id=url, version=version)

    # -- read-back ----------------------------------------------------------------------------
    def _objects(self, body: str, what: str) -> Any:
        client = self._connect()
        response = self._call(lambda: client.report(self.url, body, depth=1), what,
                              ok=(200, 207), collection=True)
        return getattr(response, "tree", None)

    def _parsed(self, tree: Any) -> Iterator[tuple[str, str, Any | None]]:
        """(href, etag, calendar or None when gone) per response of a REPORT."""
        import icalendar

        if tree is None:
            return
        for node in tree.iter(f"{DAV}response"):
            href = node.findtext(f"{DAV}href")
            if not href:
                continue
            url = urljoin(self.url, href)
            if not self._in_collection(url):
                continue  # the collection itself, or something outside it
            url = _canon(url)
            status = node.findtext(f"{DAV}status") or ""
            data = next((d.text for d in node.iter(f"{CALDAV}calendar-data") if d.text), None)
            etag = next((e.text for e in node.iter(f"{DAV}getetag") if e.text), "") or ""
            if data is None:
                yield url, etag, None if " 404" in status else False
                continue
            try:
                yield url, etag, icalendar.Calendar.from_ical(data)
            except ValueError:
                continue  # not iCalendar: not ours to read

    def remote_versions(self, alliance_id: str, records: dict[str, Record]
                        ) -> dict[str, RemoteVersion]:
        """One calendar-query REPORT: every object's ETag and data."""
        found: dict[str, RemoteVersion] = {}
        if self.dedicated and self.own_calendar(alliance_id, None) is None:
            return found  # the calendar is gone, and every event with it
        tree = self._objects(_QUERY_ALL, "read the calendar")
        self._whole = tree  # a read of changes in this same run (pull) reuses it
        for _, etag, cal in self._parsed(tree):
            if not cal:
                continue
            for component in cal.walk("VEVENT"):
                tags = ical.read_tags(component)
                if tags is None or tags[0] != alliance_id or component.get("recurrence-id"):
                    continue
                cancelled = str(component.get("status", "")).upper() == "CANCELLED"
                record = records.get(tags[1])
                zone = str(record.summary.get("timezone", "")) if record else ""
                found[tags[1]] = RemoteVersion(
                    tags[1], etag, deleted=cancelled,
                    fields={"title": str(component.get("summary", "")),
                            "start": _wall(component.get("dtstart"), zone),
                            "end": _wall(component.get("dtend"), zone),
                            "rrule": _rule(component),
                            "location": str(component.get("location", ""))})
        return found

    def responses(self, alliance_id: str, records: dict[str, Record],
                  since: SyncPoint | None) -> ResponsesResult:
        """PARTSTAT on our stored copy, RECURRENCE-ID overrides for single occurrences; a
        sync-collection REPORT (RFC 6578) reads only what changed since the last token."""
        from .remote import read_responses

        self._connect()
        if self.dedicated:
            self.own_calendar(alliance_id, None)
        before = self.requests_made
        # Servers spell hrefs their own way (%40 or @): compare paths, decoded.
        canonical = {k: replace(r, remote_id=_canon(r.remote_id)) for k, r in records.items()}
        return read_responses(canonical, since, self._read_changes,
                              lambda: self.requests_made - before)

    def _read_changes(self, records: dict[str, Record], token: str | None) -> Read:
        if self._whole is not None:
            # The whole calendar was read a moment ago (pull reads versions, then the single
            # occurrences): that read serves as a full one. The stored token is kept: a later
            # read from it reports changes this one already holds, and merging one again
            # changes nothing.
            tree, self._whole = self._whole, None
            return Read(self._seen_in(tree), token or "", full=True)
        body = _SYNC.format(token=f"<D:sync-token>{escape(token)}</D:sync-token>" if token
                            else "<D:sync-token/>")
        try:
            tree = self._objects(body, "read the calendar's changes")
        except (Conflict, Refused, NotFound) as exc:
            if token and exc.status in (403, 409, 410, 412):
                raise SyncExpired() from None  # RFC 6578 §3.2: valid-sync-token failed
            raise
        new = tree.findtext(f"{DAV}sync-token") if tree is not None else ""
        return Read(self._seen_in(tree), new or "", full=token is None)

    def _seen_in(self, tree: Any) -> list[Seen]:
        seen: list[Seen] = []
        for url, _, cal in self._parsed(tree):
            if cal is None:
                seen.append(Seen(url, removed=True))
            elif cal is not False:
                seen.extend(_seen_object(url, cal))
        return seen



_QUERY_ALL = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
    '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/>'
    "</C:comp-filter></C:filter></C:calendar-query>")
_SYNC = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:sync-collection xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">{token}'
    "<D:sync-level>1</D:sync-level><D:prop><D:getetag/><C:calendar-data/></D:prop>"
    "</D:sync-collection>")
PARTSTATS = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative",
             "NEEDS-ACTION": "needs-action"}


def _zone_props(made_for: tuple[str, int, int] | None) -> str:
    """The new calendar's zone, both ways a server may read it: calendar-timezone, a
    VCALENDAR holding the zone's one VTIMEZONE (RFC 4791 §5.2.2), and calendar-timezone-id,
    its IANA name (RFC 7809). A client shows floating times and all-day events there."""
    if made_for is None:
        return ""
    from .vtimezone import vtimezone

    zone, first, last = made_for
    holder = ical._empty_calendar(None, None)  # one VTIMEZONE in our usual VCALENDAR
    holder.add_component(vtimezone(zone, first, last))
    return (f"<C:calendar-timezone>{escape(holder.to_ical().decode())}</C:calendar-timezone>"
            f"<C:calendar-timezone-id>{escape(zone)}</C:calendar-timezone-id>")


def _href_in(tree: Any, prop: str) -> str:
    """The first href inside the property `prop` of a PROPFIND answer ("" if none)."""
    for node in [] if tree is None else tree.iter(prop):
        href = node.findtext(f"{DAV}href")
        if href:
            return href.strip()
    return ""


def _canon(url: str) -> str:
    return unquote(urlsplit(url).path)


def _etag(response: Any) -> str:
    headers = getattr(response, "headers", None) or {}
    return str(headers.get("ETag") or headers.get("etag") or "")


def _rule(component: Any) -> str:
    rule = component.get("rrule")
    return ";".join(sorted(rule.to_ical().decode().split(";"))) if rule is not None else ""


def _wall(prop: Any, zone: str = "") -> str:
    """DTSTART/DTEND as local wall time: in `zone` when given (a calendar app may have
    moved the event into another zone), else in its own (a date as it is)."""
    from datetime import datetime

    if prop is None:
        return ""
    value = prop.dt
    if isinstance(value, datetime):
        if zone and value.tzinfo is not None:
            import contextlib
            from zoneinfo import ZoneInfo

            # An unknown zone name in our own record: compared as written.
            with contextlib.suppress(KeyError):
                value = value.astimezone(ZoneInfo(zone))
        return value.strftime("%Y-%m-%dT%H:%M")
    return value.isoformat()


def _answers(component: Any) -> dict[str, str]:
    """PARTSTAT per attendee; one whose invitation could not be delivered (SCHEDULE-STATUS
    3.x or 5.x, RFC 6638) cannot have answered."""
    attendees = component.get("attendee", [])
    if not isinstance(attendees, list):
        attendees = [attendees]
    out: dict[str, str] = {}
    for attendee in attendees:
        email = str(attendee).removeprefix("mailto:").removeprefix("MAILTO:").lower()
        params = getattr(attendee, "params", {})
        answer = PARTSTATS.get(str(params.get("PARTSTAT", "NEEDS-ACTION")).upper(),
                               "needs-action")
        if str(params.get("SCHEDULE-STATUS", "")).startswith(("3.", "5.")):
            answer = "needs-action"
        out[email] = answer
    return out


def _seen_object(url: str, cal: Any) -> list[Seen]:
    """One stored object: its series (or single event) and its RECURRENCE-ID overrides."""
    out: list[Seen] = []
    for component in cal.walk("VEVENT"):
        if ical.read_tags(component) is None and not component.get("recurrence-id"):
            continue
        cancelled = str(component.get("status", "")).upper() == "CANCELLED"
        recurrence = component.get("recurrence-id")
        if recurrence is None:
            out.append(Seen(url, removed=cancelled, attendees=_answers(component),
                            whole=True))
        else:
            start = _wall(recurrence)
            out.append(Seen(f"{url}#{start}", series=url, start=start, exception=True,
                            cancelled=cancelled, attendees=_answers(component)))
    return out
