"""The `caldav` target: events on any CalDAV server (Fastmail, Nextcloud, iCloud, Radicale, …).

Each item is one calendar object named after its stable UID (`<uid>.ics`), so a lost state is
rebuilt from the server and a repeated PUT replaces instead of duplicating.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from designed_alliance.core.config import Config
from designed_alliance.core.errors import AllianceError, MissingExtra
from designed_alliance.core.items import Event, item_uid
from designed_alliance.core.plan import Action, TargetPlan
from designed_alliance.core.target import (
    Applied,
    ApplyContext,
    Check,
    Options,
    Remote,
    Target,
)

from . import ical

KEYRING_SERVICE = "designed-alliance-caldav"


class CalDavTarget(Target):
    """PUT/DELETE of one object per item in the calendar collection at `caldav.url`."""

    name = "caldav"
    handles = frozenset({"event"})
    is_remote = True
    timeout: ClassVar[int] = 30

    def __init__(self, config: Config, options: Options) -> None:
        super().__init__(config, options)
        self.section = config.section("caldav")
        self.url = ""
        self.username = ""
        self.verify_tls = True
        if self.section is not None:
            url = self.section.text("url", required=True,
                                    hint="give the URL of the calendar collection")
            self.url = url if url.endswith("/") else url + "/"
            if urlsplit(self.url).scheme not in ("http", "https"):
                raise self.section.fail("url", f"{url!r} is not an http(s) URL",
                                        "write it like https://dav.example.com/calendars/me/x/")
            self.username = self.section.text("username", required=True)
            self.verify_tls = self.section.get("verify_tls", bool, default=True)
            for name in ("password_command", "password_env", "password_keyring"):
                self.section.raw(name)
            self.section.done()
        self._client: Any = None

    @property
    def instance(self) -> str:
        return f"caldav:{self.url}"

    # -- hooks for doctor and the config schema ------------------------------------------------
    @classmethod
    def config_schema(cls) -> dict[str, Any] | None:
        from .files import secret_schema

        return {"type": "object", "additionalProperties": False, "required": ["url", "username"],
                "properties": {
                    "url": {"type": "string", "format": "uri",
                            "description": "The calendar collection's URL."},
                    "username": {"type": "string"},
                    "verify_tls": {"type": "boolean", "default": True},
                    **secret_schema("password")}}

    @classmethod
    def doctor_checks(cls, config: Config) -> list[Check]:
        from designed_alliance.core.probe import (
            endpoint,
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
        return [*([password] if password else []), server_check("caldav", *endpoint(url))]

    # -- connection ---------------------------------------------------------------------------
    def check_ready(self) -> None:
        if self.section is None:
            raise AllianceError(str(self.config.missing_section(
                "caldav", "caldav", then="set url, username and password_command")))
        self._connect()

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        try:
            import caldav
        except ImportError:
            raise MissingExtra("caldav", "caldav") from None
        from designed_alliance.core.secrets import resolve

        assert self.section is not None
        password = resolve(self.section, "password", service=KEYRING_SERVICE,
                           user=self.username)
        client = caldav.DAVClient(url=self.url, username=self.username, password=password,
                                  ssl_verify_cert=self.verify_tls, timeout=self.timeout,
                                  enable_rfc6764=False)
        # One PROPFIND up front: wrong password, wrong URL and a dead server are all found
        # here, before anything is written.
        self._request(lambda: client.propfind(self.url, props="", depth=0), "open the calendar")
        self._client = client
        return client

    def _request(self, call: Any, what: str) -> Any:
        try:
            response = call()
        except Exception as exc:  # the caldav library raises a zoo of transport errors
            raise self._explain(exc, what) from None
        status = getattr(response, "status", 200)
        if status in (401, 403):
            raise AllianceError(f"the CalDAV server refused {self.username!r} at {self.url} "
                                f"(HTTP {status}) — check caldav.username and the password")
        if status == 404:
            raise AllianceError(f"there is no calendar at {self.url} (HTTP 404) — caldav.url "
                                "must be the calendar collection's URL; create the calendar "
                                "first")
        if status >= 400:
            raise AllianceError(f"the CalDAV server could not {what} (HTTP {status}) — run the "
                                "same command again later")
        return response

    def _explain(self, exc: Exception, what: str) -> AllianceError:
        text = f"{type(exc).__name__}: {exc}"
        lowered = text.lower()
        if "authoriz" in lowered or "401" in text:
            return AllianceError(f"the CalDAV server refused {self.username!r} at {self.url} — "
                                 "check caldav.username and the password")
        if "notfound" in lowered or "404" in text:
            return AllianceError(f"there is no calendar at {self.url} — caldav.url must be the "
                                 "calendar collection's URL")
        if "ssl" in lowered or "certificate" in lowered:
            return AllianceError(f"TLS problem talking to {urlsplit(self.url).netloc} "
                                 f"({type(exc).__name__}) — fix the server's certificate, or set "
                                 "caldav.verify_tls = false for a server you trust")
        if "connect" in lowered or "refused" in lowered or "timed out" in lowered or (
                "timeout" in lowered):
            return AllianceError(f"cannot reach the CalDAV server at "
                                 f"{urlsplit(self.url).netloc} ({type(exc).__name__}) — is it "
                                 "running, and is caldav.url right?")
        return AllianceError(f"CalDAV could not {what}: {type(exc).__name__} — run the same "
                             "command again; what was done is recorded")

    def href(self, uid: str) -> str:
        return self.url + quote(uid, safe="@") + ".ics"

    # -- lookup / apply -----------------------------------------------------------------------
    def lookup(self, alliance_id: str) -> dict[str, Remote]:
        import icalendar

        client = self._connect()
        calendar = client.calendar(url=self.url)
        try:
            objects = calendar.events()
        except Exception as exc:  # transport or server errors, explained in one line
            raise self._explain(exc, "list the calendar") from None
        found: dict[str, Remote] = {}
        for obj in objects:
            try:
                cal = icalendar.Calendar.from_ical(obj.data)
            except ValueError:
                continue
            for component in cal.walk("VEVENT"):
                remote = ical.remote_of(component, alliance_id, str(obj.url))
                if remote is not None:
                    found[remote.key] = remote
        return found

    def apply(self, plan: TargetPlan, context: ApplyContext) -> Iterator[Applied]:
        client = self._connect()
        for change in plan.changes:
            if change.action is Action.KEEP:
                continue
            uid = item_uid(context.alliance.id, change.key)
            url = self.href(uid)
            try:
                if change.action is Action.CANCEL:
                    response = client.delete(url)
                    if getattr(response, "status", 204) not in (200, 204, 404, 410):
                        self._request(lambda response=response: response, "delete an event")
                else:
                    assert isinstance(change.item, Event)
                    # A stored calendar object carries no METHOD (RFC 4791 §4.1).
                    data = ical.calendar([ical.vevent(change.item, change.sequence)], None)
                    self._request(lambda data=data, url=url: client.put(
                        url, data.to_ical().decode(),
                        {"Content-Type": "text/calendar; charset=utf-8"}), "save an event")
            except AllianceError as exc:
                yield Applied(change, error=str(exc))
                if "refused" in str(exc) or "cannot reach" in str(exc) or "no calendar" in (
                        str(exc)):
                    return  # nothing else will get through either
                continue
            except Exception as exc:  # transport error mid-run: explain, keep what was done
                yield Applied(change, error=str(self._explain(exc, "save an event")))
                return
            context.progress(self.options, f"caldav: {change.action.value} {change.key}")
            yield Applied(change, remote_id=url)
