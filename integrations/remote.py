"""The one base for calendar-and-mail services (Google, Microsoft Graph, …).

Like octoDNS's provider base, this class owns the workflow and a provider writes only its
translation. Owned here: batching, retry with Retry-After, the typed handling of what a
service answered (a create that meets an existing object updates it, an update of an object
deleted by hand makes it again, a cancel of something already gone is done), "look before you
create again" after a lost answer, and the draft create / update / replace flow.

Also owned here: the organizer is the signed-in account (read once per run through the
provider's `account_request`), the one address left out of the attendees; and the kickoff is
one draft while it is unsent — its record says `draft: true`, a sent kickoff is noticed
(`sent_thread`) before anything is written, and change summaries then become replies in its
thread.

A provider implements the abstract methods below: how to connect, how to send one request or a
batch (raising or returning `RemoteError` subtypes, never vendor exceptions), the request for
each event change, how to find its tagged events and its drafts, and the draft requests.
"""

from __future__ import annotations

import abc
import contextlib
import functools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any, ClassVar

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
from designed_alliance.core.items import Event, Item, Message, Person
from designed_alliance.core.items import message_id as item_message_id
from designed_alliance.core.messages import (
    DRAFT,
    DRAFT_THREAD,
    KICKOFF,
    THREAD,
    plan_messages,
    unsent_draft,
)
from designed_alliance.core.plan import Action, Change, TargetPlan, record_kind
from designed_alliance.core.records import dataclass
from designed_alliance.core.state import Record
from designed_alliance.core.target import (
    Applied,
    ApplyContext,
    Check,
    DeclinedOccurrence,
    Options,
    Remote,
    RemoteVersion,
    Response,
    ResponsesResult,
    SyncPoint,
    Target,
)

from . import mail
from .retry import Backoff, retry_after_seconds

MAX_MODE_SWITCHES = 2  # create ⇄ update flips per change before we stop and say so
DEDICATED = "dedicated"  # `calendar = "dedicated"`: a calendar of the alliance's own
CALENDAR_KEY = "calendar"  # the state record of that calendar (summary kind "calendar")
CALENDAR_TAG = "designed-alliance:"  # + alliance id: how our calendars are found again


def calendar_name(title: str) -> str:
    """What a dedicated calendar is called: the alliance's title after "Alliance: "."""
    return f"Alliance: {title}"


def calendar_tag(alliance_id: str) -> str:
    return f"{CALENDAR_TAG}{alliance_id}"


def calendar_mode(section: Any, name: str) -> bool:
    """True for `calendar = "dedicated"` in the target's config section (None: no section).
    Any other value, or a calendar id given beside it, is refused with the key's line."""
    if section is None or not section.has("calendar"):
        return False
    value = section.text("calendar")
    if value != DEDICATED:
        raise section.fail("calendar", f"{value!r} is not a calendar setting",
                           'write calendar = "dedicated" for a calendar of the alliance\'s '
                           "own, or leave it out to use the calendar as today")
    if section.has("calendar_id"):
        raise section.fail("calendar_id", 'is given beside calendar = "dedicated"',
                           f"keep one of them in [{name}]: calendar_id names a calendar you "
                           "chose, dedicated makes one for the alliance")
    return True


@dataclass(frozen=True)
class DoctorSpec:
    """What `alliance doctor` checks for a service: the SDK that must import, the config key
    a sign-in needs (else an access_token_command), and (key, default) of its root URL."""

    sdk: str
    sign_in: str
    root: tuple[str, str]


@dataclass
class Pending:
    """One event change still to be written, the way it is to be written now, and what the
    last attempt said."""

    change: Change
    mode: Action
    attempt: int = 0
    last_error: RemoteError | None = None
    switches: int = 0


@dataclass(frozen=True)
class Seen:
    """One calendar object as a read of responses saw it, in the provider's own terms
    translated: an event (`series` ""), or one occurrence of the series `series` (an
    exception, or — where the provider expands series — a plain occurrence). `start` is the
    occurrence's original start (local wall time); `removed` says the object is gone."""

    id: str
    series: str = ""
    start: str = ""
    exception: bool = False
    cancelled: bool = False
    removed: bool = False
    attendees: dict[str, str] | None = None  # lower-cased email → one of RESPONSES
    #: the object holds its own exceptions (CalDAV): seeing it again replaces them all
    whole: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "series": self.series, "start": self.start,
                "exception": self.exception, "cancelled": self.cancelled,
                "attendees": self.attendees or {}}


@dataclass(frozen=True)
class Read:
    """What one read of changes returned: objects seen, the token for the next read, and
    whether it was a full read (then it replaces the cache instead of adding to it)."""

    seen: list[Seen]
    token: str
    full: bool


class SentUnreadable(Exception):
    """The sign-in may not read sent mail (Gmail under gmail.compose alone): whether a
    message went out cannot be told from here."""


class SyncExpired(Exception):
    """The stored sync token is no longer accepted (410 Gone): read everything again."""


def error_for_status(status: int, detail: str, *, retry_after: str | None = None,
                     what: str, service: str, auth_hint: str) -> RemoteError:
    """The usual meaning of an HTTP status, as a typed error whose text says what to do."""
    text = f"{service} {what} failed: HTTP {status}{(' ' + detail) if detail else ''}"
    if status == 401:
        return AuthExpired(f"{service} refused the sign-in (expired or revoked) — {auth_hint}",
                           status=status)
    if status in (404, 410):
        return NotFound(text, status=status)
    if status in (409, 412):
        return Conflict(text, status=status)
    if status == 429:
        return Throttled(f"{text} — the service asks us to slow down; run the same command "
                         "again later", status=status, retry_after=retry_after)
    if status == 408 or status >= 500:
        return Unavailable(f"{text} — run the same command again later", status=status,
                           retry_after=retry_after)
    return Refused(f"{text} — check the request above; run the same command again once fixed",
                   status=status)


class OwnCalendar:
    """A calendar of the alliance's own (`calendar = "dedicated"`), for any target: made
    once as "Alliance: <title>", found again by its tag (never by its name alone), kept in
    state as the row `calendar`, renamed with the alliance, deleted whole only by `teardown
    --remove-calendar` and only when it carries our tag. A target provides the five
    operations below (its service's requests), `name`, `options` and the two instances."""

    name: ClassVar[str]
    options: Options
    #: set by the target from its config section (`calendar_mode`)
    dedicated: bool = False
    _own: tuple[str, str] | None = None  # (id, name) of that calendar once known
    #: the zone (IANA) and years of the alliance a calendar made now is for: where the
    #: service keeps a calendar's zone (Google's timeZone, CalDAV's calendar-timezone), it
    #: is the alliance's, so what the calendar app shows there is the members' local time
    made_for: tuple[str, int, int] | None = None
    _own_changed: bool = False  # made, found or renamed in this run: to be recorded

    def find_calendars(self, alliance_id: str) -> list[tuple[str, str]]:
        """(id, name) of every calendar tagged with this alliance id (one list request)."""
        raise NotImplementedError(f"{self.name} has no calendars of its own")

    def make_calendar(self, alliance_id: str, name: str) -> str:
        """Make the tagged calendar `name`; its id. Once: a create whose answer was lost
        must not make a second one (look before creating again, or a fixed address)."""
        raise NotImplementedError(f"{self.name} has no calendars of its own")

    def rename_calendar(self, calendar_id: str, name: str) -> None:
        raise NotImplementedError(f"{self.name} has no calendars of its own")

    def delete_calendar(self, calendar_id: str) -> None:
        """Delete it whole; one already gone is no error."""
        raise NotImplementedError(f"{self.name} has no calendars of its own")

    def use_calendar(self, calendar_id: str) -> None:
        """From now on, events are read and written in the calendar `calendar_id`."""
        raise NotImplementedError(f"{self.name} has no calendars of its own")

    @property
    def instance(self) -> str:
        """State is kept apart per setting: a switch is seen (`earlier_instances`)."""
        return self.dedicated_instance if self.dedicated else self.shared_instance

    @property
    def dedicated_instance(self) -> str:
        """The target's instance under `calendar = "dedicated"`: beside the shared one
        (the same account or server), told apart."""
        return f"{self.shared_instance}#{DEDICATED}"

    @property
    def shared_instance(self) -> str:
        """The target's instance in the calendar its config names (or the default one)."""
        raise NotImplementedError

    def progress(self, text: str) -> None:
        if self.options.progress:
            self.options.progress(text)

    def recall(self, alliance_id: str, records: dict[str, Record]) -> None:
        record = records.get(CALENDAR_KEY)
        if self.dedicated and record is not None and record.active and record.remote_id:
            self._own = (record.remote_id, str(record.summary.get("title", "")))
            self.use_calendar(record.remote_id)

    def own_records(self) -> list[Record]:
        if self.dedicated and self._gone:
            return [Record(CALENDAR_KEY, self._gone[0], self._gone[1], 0, "cancelled",
                           {"kind": "calendar", "title": self._gone[1]})]
        if not (self.dedicated and self._own_changed and self._own):
            return []
        calendar_id, name = self._own
        return [Record(CALENDAR_KEY, calendar_id, name, 0, "active",
                       {"kind": "calendar", "title": name})]

    def own_calendar(self, alliance_id: str, name: str | None) -> str | None:
        """The id of the alliance's own calendar, and events go there from now on: the one
        recorded, else the one found by its tag, else — when `name` is given (setup) — one
        made now, as `name`. A calendar whose name is not `name` (the alliance was renamed)
        is renamed. None (nothing made) when `name` is None and none exists."""
        if self._own is None:
            found = self.find_calendars(alliance_id)
            if found:
                self._own, self._own_changed = found[0], True
            elif name is None:
                return None
            else:
                self._own = (self.make_calendar(alliance_id, name), name)
                self._own_changed = True
                self.progress(f"{self.name}: made the calendar {name!r}")
        calendar_id, known = self._own
        if name is not None and known != name:
            self.rename_calendar(calendar_id, name)
            self._own, self._own_changed = (calendar_id, name), True
            self.progress(f"{self.name}: renamed the calendar {known!r} to {name!r}")
        self.use_calendar(calendar_id)
        return calendar_id

    def earlier_instances(self) -> list[str]:
        return [self.shared_instance] if self.dedicated else [self.dedicated_instance]

    def calendar_gone(self, error: NotFound) -> NotFound:
        """What a "not found" means in the alliance's own calendar: the calendar is gone."""
        name = self._own[1] if self._own else "Alliance: …"
        return NotFound(f"{self.name}: the calendar {name!r} is gone (deleted in the calendar "
                        f"app?) — run alliance teardown with --to {self.name} (it forgets "
                        "the calendar), then setup again", status=error.status)

    def forget_if_gone(self, alliance_id: str) -> None:
        """After a teardown: a recorded calendar no longer found by its tag (deleted by
        hand) is recorded as gone, so the next setup makes a new one."""
        if self._own and self._own[0] not in dict(self.find_calendars(alliance_id)):
            self._gone = self._own
            self._own = None

    _gone: tuple[str, str] | None = None

    def calendar_notes(self) -> list[str]:
        """The plan's word on where the events go (offline: what the state recorded)."""
        if not self.dedicated:
            return []
        if self._own:
            return [f"calendar: {self._own[1]!r}, the alliance's own"]
        return ['calendar: one of the alliance\'s own, "Alliance: <title>" — found again by '
                "its tag at setup, made there if there is none"]

    def check_remove_calendar(self) -> str:
        if not self.dedicated:
            raise BadInput(f"{self.name} writes to a calendar the alliance shares "
                           f"({self.shared_instance.partition(':')[2]}), not one of its own: "
                           "teardown never deletes it", key="--remove-calendar",
                           hint=f"leave --remove-calendar out (the events are cancelled "
                           f"all the same), or use it where [{self.name}] says "
                           'calendar = "dedicated"')
        name = self._own[1] if self._own else "Alliance: …"
        return (f"--remove-calendar: the calendar {name!r} is deleted whole after its "
                "events are cancelled")

    def remove_calendar(self, alliance_id: str) -> Record | None:
        """Only a calendar that carries our tag is deleted: the recorded id must be among
        the tagged ones (one that lost its tag stays: "none found" is said)."""
        self.check_remove_calendar()
        found = dict(self.find_calendars(alliance_id))
        wanted = [self._own[0]] if self._own and self._own[0] in found else list(found)
        if not wanted:
            return None
        for calendar_id in wanted:
            self.delete_calendar(calendar_id)
        calendar_id = wanted[0]
        name = found.get(calendar_id, "")
        self.progress(f"{self.name}: deleted the calendar {name!r}")
        return Record(CALENDAR_KEY, calendar_id, name, 0, "cancelled",
                      {"kind": "calendar", "title": name})


class RemoteTarget(OwnCalendar, Target):
    """Events and drafts on a remote service, written in batches with bounded retries."""

    handles = frozenset({"event", "message"})
    announces = True
    is_remote = True
    batch_size: ClassVar[int] = 20
    sleep: ClassVar[Callable[[float], None]] = staticmethod(time.sleep)
    timeout: ClassVar[float] = 30.0
    #: True when a changed draft cannot be patched: it is made anew, then the old one deleted
    replaces_drafts: ClassVar[bool] = False
    service: ClassVar[str] = "the service"
    max_retry_seconds: float = 120.0
    doctor: ClassVar[DoctorSpec | None] = None
    requests_made: int = 0  # HTTP requests sent (a batch is one): read-back reports it
    video_links: dict[str, str]  # item key → the join link the service made (per instance)

    @classmethod
    def doctor_checks(cls, config: Config) -> list[Check]:
        from designed_alliance.core.probe import endpoint, missing_extra, server_check

        spec = cls.doctor
        if spec is None:
            return []
        missing = missing_extra(cls.name, spec.sdk)
        if missing is not None:
            return [missing]
        values = config.sections.get(cls.name, {})
        out: list[Check] = []
        if not (values.get("access_token_command") or values.get(spec.sign_in)):
            out.append(Check("fail", cls.name, f"{cls.name} needs {spec.sign_in} (then "
                             f"alliance auth {cls.name}) or access_token_command"))
        else:
            signed = cls.signed_in_check(config)
            if signed is not None:
                out.append(signed)
        key, default = spec.root
        out.append(server_check(cls.name, *endpoint(values.get(key) or default)))
        return out

    @classmethod
    def signed_in_check(cls, config: Config) -> Check | None:
        """A FAIL when a sign-in is configured but no token is stored (optional)."""
        return None

    # -- what a provider writes -------------------------------------------------------------
    @abc.abstractmethod
    def open(self) -> None:
        """Make the client: import the vendor SDK (an ImportError becomes "install the extra"),
        get a token, build the session. Called once, by `connect`. Raises AllianceError with
        what to do."""

    @abc.abstractmethod
    def execute(self, request: Any) -> Any:
        """Send one request, return the decoded answer. Raises `RemoteError` subtypes;
        a transport failure is `Unavailable(answer_lost=True)`."""

    @abc.abstractmethod
    def execute_batch(self, requests: Sequence[Any]) -> list[Any]:
        """Send requests as one batch: per request the decoded answer or a `RemoteError`
        (not raised), in order. A failure of the whole batch is raised."""

    @abc.abstractmethod
    def event_request(self, change: Change, mode: Action, alliance_id: str) -> Any:
        """The request that writes this change as `mode`: CREATE (with our chosen id or an
        idempotency key), UPDATE (every field we own) or CANCEL."""

    @abc.abstractmethod
    def tagged_events(self, alliance_id: str) -> dict[str, Remote]:
        """The events tagged with this alliance id, by key (cancelled ones left out)."""

    @abc.abstractmethod
    def find_drafts(self, message_id: str) -> list[tuple[str, str]]:
        """(draft id, fingerprint) of every draft with this Message-ID."""

    @abc.abstractmethod
    def draft_request(self, message: Message, invites: list[mail.Invite],
                      draft_id: str | None, *, reply_to: str | None = None) -> Any:
        """A request that creates this draft (draft_id None) or updates it in place.
        `reply_to` (creates only) is the thread of the sent kickoff, from `sent_thread`: the
        draft is made as a reply in it."""

    @abc.abstractmethod
    def draft_unsent(self, draft_id: str) -> bool:
        """True while the draft `draft_id` exists and was not sent."""

    @abc.abstractmethod
    def find_sent(self, message_id: str) -> tuple[str, str] | None:
        """(the id a reply is made against, fingerprint) of the sent message with this
        Message-ID (Gmail: its threadId; Graph: its id), or None. Raises `SentUnreadable`
        when the sign-in may not read sent mail."""

    def draft_thread(self, answer: Any) -> str:
        """The thread a draft create/update answer puts the draft in, when the service
        keeps a sent draft in that same thread (Gmail); "" otherwise (Graph: a sent draft
        is a new message, found with `find_sent`)."""
        return ""

    def sent_thread(self, draft_id: str, message_id: str, recorded: str = "") -> str | None:
        """None while the kickoff draft exists unsent (or is gone without a trace: it is then
        drafted anew); once the user sent it, the id its replies are made against.

        `recorded` is the draft's own thread (`draft_thread`): a sent draft stays in it, so
        no read of sent mail is needed. A draft deleted by hand looks the same as a sent one
        to a sign-in that may not read sent mail; it is taken as sent all the same — a
        second kickoff the user might send too is worse than a reply draft they can see
        (and discard) — unless --resend asks for the kickoff to be drafted anew."""
        self.sent_untold = False
        if self.draft_unsent(draft_id):
            return None
        if recorded:
            self.sent_untold = not self.options.resend
            return None if self.options.resend else recorded
        try:
            found = self.find_sent(message_id)
        except SentUnreadable:
            self.sent_untold = not self.options.resend
            return None if self.options.resend else ""  # sent, thread unknown: see above
        return found[0] if found else None

    #: the last `sent_thread` took a gone draft as sent without seeing it in sent mail
    sent_untold: bool = False

    @abc.abstractmethod
    def delete_draft_request(self, draft_id: str) -> Any:
        """A request that deletes one draft."""

    @abc.abstractmethod
    def account_request(self) -> Any:
        """The request that reads who organizes the events this target creates: the
        signed-in account (Graph `/me`, Google's calendar resource)."""

    @abc.abstractmethod
    def account_from(self, answer: Any) -> str:
        """The organizer's address in the answer to `account_request`."""

    @abc.abstractmethod
    def who_sends(self) -> str | None:
        """Who sends the invitations under `options.notify` (a plan note)."""

    #: the field of a written event that holds its version marker (etag, changeKey)
    version_field: ClassVar[str] = "etag"

    # -- a calendar of the alliance's own: the requests a service answers ---------------------
    def calendar_request(self, alliance_id: str, name: str, calendar_id: str | None) -> Any:
        """The request that makes the tagged calendar `name` (calendar_id None) or renames
        the calendar `calendar_id` to `name`."""
        raise NotImplementedError(f"{self.service} has no dedicated calendars")

    def delete_calendar_request(self, calendar_id: str) -> Any:
        raise NotImplementedError(f"{self.service} has no dedicated calendars")

    def calendar_id_from(self, answer: Any) -> str:
        """The id of the calendar a create answered with."""
        return str((answer or {}).get("id", ""))

    def make_calendar(self, alliance_id: str, name: str) -> str:
        def made_already() -> dict[str, str] | None:
            again = self.find_calendars(alliance_id)  # the lost answer's calendar, if made
            return {"id": again[0][0]} if again else None

        backoff = getattr(self, "_backoff", None) or self.backoff()
        try:
            answer = self.call(lambda: self.calendar_request(alliance_id, name, None),
                               backoff, recover=made_already)
        except Conflict:
            # Graph keeps one calendar per name; ours would have been found by its tag.
            raise Refused(f"{self.service} already has a calendar named {name!r} that is not "
                          "this alliance's (it has no tag of ours) — rename or remove it in "
                          "the calendar app, then run the same command again") from None
        return self.calendar_id_from(answer)

    def rename_calendar(self, calendar_id: str, name: str) -> None:
        backoff = getattr(self, "_backoff", None) or self.backoff()
        self.call(lambda: self.calendar_request("", name, calendar_id), backoff)

    def delete_calendar(self, calendar_id: str) -> None:
        self.connect()
        with contextlib.suppress(NotFound):  # gone already (a retry after a lost answer)
            self.call(functools.partial(self.delete_calendar_request, calendar_id),
                      self.backoff())

    # -- the meeting link the service made (Meet, Teams) ---------------------------------------
    def note_link(self, key: str, link: str) -> None:
        """Remember the join link a write's answer (or a follow-up get) gave for `key`."""
        if link:
            self.video_links[key] = link

    def with_link(self, applied: Applied) -> Applied:
        """The written event with its meeting link in its facts, so its state record keeps
        it: agenda and status then show it without asking the service again."""
        link = self.video_links.get(applied.change.key)
        item = applied.change.item
        if not applied.ok or not link or not isinstance(item, Event):
            return applied
        event = replace(item, facts=(*item.facts, ("video_url", link)))
        return replace(applied, change=replace(applied.change, item=event))

    def read_changes(self, records: dict[str, Record], token: str | None) -> Read:
        """Read the calendar objects of these records: everything when `token` is None, else
        only what changed since the read that returned `token` (a provider raises
        `SyncExpired` when the service refused the token). Raises `NotSupported` by default."""
        from designed_alliance.core.target import NotSupported

        raise NotSupported(f"{self.service} responses cannot be read back yet")

    def read_versions(self, alliance_id: str, records: dict[str, Record]
                      ) -> dict[str, RemoteVersion]:
        """One list read of the tagged events: key → RemoteVersion (see Target)."""
        from designed_alliance.core.target import NotSupported

        raise NotSupported(f"{self.service} cannot be checked for edits yet")

    def remote_id(self, answer: Any, change: Change) -> str:
        """The id of the object an answer describes (default: its "id")."""
        if isinstance(answer, dict) and answer.get("id"):
            return str(answer["id"])
        return change.record.remote_id if change.record else ""

    # -- the workflow -----------------------------------------------------------------------
    def __init__(self, config: Config, options: Options) -> None:
        super().__init__(config, options)
        self.video_links = {}
        self._notes: list[str] = []  # what lookup has to say in the plan
        self._kickoff: Record | None = None  # its record, as `recall` handed it

    def connect(self) -> None:
        if getattr(self, "_opened", False):
            return
        try:
            self.open()
        except ImportError as exc:
            raise MissingExtra(self.name, exc.name or "its SDK") from None
        self._opened = True

    def check_ready(self) -> None:
        if self.config.section(self.name) is None:
            raise AllianceError(str(self.config.missing_section(
                self.name, self.name, then=f"run: alliance auth {self.name}")))
        self.connect()

    # -- the organizer: the account that creates the events -----------------------------------
    def account_address(self) -> str:
        """The address that organizes what this target creates, read once per run (one
        request) and kept on the target. The service sends invitations from it and never
        invites it to its own events, so it alone is left out of the attendees — a member
        with another address is invited even when the config names them organizer."""
        cached: str | None = getattr(self, "_account", None)
        if cached is None:
            self.connect()
            answer = self.call(self.account_request, self.backoff())
            cached = self.account_from(answer).strip()
            if not cached:
                raise Refused(f"{self.service} did not say which account is signed in — "
                              f"run: alliance auth {self.name}")
            self._account = cached
        return cached

    def attendees(self, event: Event) -> list[Person]:
        """The event's attendees without the organizing account (compared case-blind)."""
        me = self.account_address().lower()
        return [p for p in event.attendees if p.email.lower() != me]

    def validate(self, items: Sequence[Item]) -> list[str]:
        """Notes: who sends the invitations, and which account organizes. Offline (`plan`)
        the account is not known yet; `setup` has signed in and reads it (one request)."""
        notes = [*super().validate(items), *self.calendar_notes()]
        alliance_ids = {i.alliance_id for i in items}
        if not getattr(self, "_opened", False) or not alliance_ids:
            return [*notes, "organizer: the signed-in account (read at setup); it is not "
                    "invited to its own events, every other member is"]
        me = self.account_address()
        members = {p.email.lower(): p.name for i in items if isinstance(i, Event)
                   for p in i.attendees}
        role = (f"a member ({members[me.lower()]}), not invited to its own events"
                if me.lower() in members else "not a member: every member is invited")
        return [*notes, f"organizer: {me}, the signed-in {self.name} account — {role}"]

    def backoff(self) -> Backoff:
        return Backoff(max_total=self.max_retry_seconds, sleep=type(self).sleep)

    def call(self, request: Callable[[], Any], backoff: Backoff,
             recover: Callable[[], Any] | None = None) -> Any:
        """One request with bounded retries. `request` makes it afresh for each attempt.

        A request that is not idempotent passes `recover`: after a lost answer it is asked
        first, and what it finds (what the lost request made) is returned instead of sending
        the request again.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                return self.execute(request())
            except Throttled as exc:
                if not backoff.wait(attempt, exc.retry_after):
                    raise
                if isinstance(exc, Unavailable) and exc.answer_lost and recover is not None:
                    found = recover()
                    if found is not None:
                        return found

    def lookup(self, alliance_id: str) -> dict[str, Remote]:
        self.connect()
        if self.dedicated and self.own_calendar(alliance_id, None) is None:
            return {}  # no calendar of its own yet: nothing of this alliance can exist
        found = self.tagged_events(alliance_id)
        if found:
            # Tagged events exist but state was lost: find the kickoff draft too.
            message_id = item_message_id(alliance_id, KICKOFF)
            drafts = self.find_drafts(message_id)
            if drafts:
                found[KICKOFF] = Remote(KICKOFF, drafts[0][0], drafts[0][1],
                                        summary={"kind": "message", DRAFT: True})
                return found
            try:
                sent = self.find_sent(message_id)
            except SentUnreadable:
                # Never drafted (a first setup cut short), or drafted and sent by the user
                # before the state was lost: drafted again. This target only drafts, so the
                # worst case is a second draft the user sees and deletes — never a second
                # mail sent, never members left without the kickoff on a guess.
                self._notes.append(
                    f"kickoff: no draft of it is left and this {self.service} sign-in may not "
                    "read sent mail, so it is drafted again — if you sent it already, delete "
                    "the new draft")
                return found
            if sent is not None:
                # Sent already: adopted as sent, so no second kickoff is ever drafted.
                found[KICKOFF] = Remote(KICKOFF, sent[0], sent[1], summary={
                    "kind": "message", DRAFT: False, THREAD: sent[0]})
        return found

    def lookup_notes(self) -> list[str]:
        return list(self._notes)

    # -- read-back ---------------------------------------------------------------------------
    def remote_versions(self, alliance_id: str, records: dict[str, Record]
                        ) -> dict[str, RemoteVersion]:
        self.connect()
        if self.dedicated and self.own_calendar(alliance_id, None) is None:
            return {}  # the calendar is gone, and every event with it
        try:
            return self.read_versions(alliance_id, records)
        except NotFound as exc:
            raise self.calendar_gone(exc) if self.dedicated else exc from None

    def responses(self, alliance_id: str, records: dict[str, Record],
                  since: SyncPoint | None) -> ResponsesResult:
        self.connect()
        before = self.requests_made
        if self.dedicated and self.own_calendar(alliance_id, None) is None:
            return ResponsesResult((), (), SyncPoint(), requests=self.requests_made - before)
        return read_responses(records, since, self.read_changes,
                              lambda: self.requests_made - before)

    def apply(self, plan: Any, context: ApplyContext) -> Iterator[Applied | tuple[Applied, ...]]:
        self.connect()
        self._backoff = self.backoff()  # one budget for the whole apply
        self._delivery: dict[str, dict[str, Any]] = {}
        if self.dedicated and any(c.kind == "event" and c.action is not Action.KEEP
                                  for c in plan.changes):
            # Events go to the alliance's own calendar, made first if need be (never for a
            # teardown: there is nothing to cancel in a calendar that does not exist).
            self.made_for = zone_span(context.alliance)
            self.own_calendar(context.alliance.id, None if context.teardown
                              else calendar_name(context.alliance.title))
        plan = self._refresh_kickoff(plan, context)
        for outcome in super().apply(plan, context):
            unit = outcome if isinstance(outcome, tuple) else (outcome,)
            done = tuple(self._with_delivery(applied) for applied in unit)
            yield done if isinstance(outcome, tuple) else done[0]
        if context.teardown and self._own:
            self.forget_if_gone(context.alliance.id)

    def _refresh_kickoff(self, plan: TargetPlan, context: ApplyContext) -> TargetPlan:
        """Before anything is written: a plan that rewrites the kickoff draft (it was unsent
        when last seen) is planned again if the user has sent it since — the change summary
        then goes out as a reply in its thread. One request, only when it matters."""
        kick = next((c for c in plan.changes if c.key == KICKOFF and c.kind == "message"), None)
        if kick is None or kick.action is not Action.UPDATE or not unsent_draft(kick.record):
            return plan
        assert kick.record is not None and isinstance(kick.item, Message)
        recorded = str(kick.record.summary.get(DRAFT_THREAD, ""))
        thread = self.sent_thread(kick.record.remote_id, kick.item.message_id, recorded)
        if thread is None:
            return plan
        sent = replace(kick.record, summary={**kick.record.summary, DRAFT: False,
                                             THREAD: thread})
        records = {c.key: c.record for c in plan.changes if c.record is not None}
        records[KICKOFF] = sent
        events = [replace(c, announced_by=None) for c in plan.changes if c.kind == "event"]
        changes = plan_messages(context.alliance, kick.item, events, records,
                                sender=kick.item.sender, teardown=context.teardown,
                                writes_events=True)
        context.progress(self.options, f"{self.name}: the kickoff draft is gone — taken as "
                         "sent (this sign-in cannot tell a sent draft from a discarded one; "
                         "--resend drafts it anew); the changes are drafted as a reply in "
                         "its thread" if self.sent_untold else f"{self.name}: the kickoff was "
                         "sent meanwhile — the changes are drafted as a reply in its thread")
        plan = replace(plan, changes=tuple(changes))
        context.plan = plan
        return plan

    def _with_delivery(self, applied: Applied) -> Applied:
        """The delivered message with what we know of it (draft or sent, its thread), so
        its record says so and the next plan can tell."""
        facts = self._delivery.get(applied.change.key)
        item = applied.change.item
        if not applied.ok or facts is None or not isinstance(item, Message):
            return applied
        message = replace(item, delivery=tuple(sorted(facts.items())))
        return replace(applied, change=replace(applied.change, item=message))

    def write_events(self, changes: Sequence[Change], context: ApplyContext
                     ) -> Iterator[Applied]:
        if self.dedicated and self._own is None:
            # A teardown, and no calendar of ours is left: nor are its events. (Never the
            # shared calendar: the same event ids may live there.)
            for change in changes:
                yield Applied(change, remote_id=change.record.remote_id if change.record
                              else "")
            return
        backoff = getattr(self, "_backoff", None) or self.backoff()
        pending = [Pending(c, c.action) for c in changes]
        while pending:
            retry: list[Pending] = []
            for start in range(0, len(pending), self.batch_size):
                chunk = pending[start:start + self.batch_size]
                requests = [self.event_request(e.change, e.mode, context.alliance.id)
                            for e in chunk]
                try:
                    answers: list[Any] = self.execute_batch(requests)
                except AuthExpired:
                    raise
                except RemoteError as exc:
                    answers = [exc] * len(chunk)
                for entry, answer in zip(chunk, answers, strict=True):
                    outcome = self._outcome(entry, answer)
                    if outcome is None:
                        retry.append(entry)
                    else:
                        yield outcome
            if not retry:
                return
            if not self._wait_round(retry, backoff):
                for entry in retry:
                    last = entry.last_error
                    yield Applied(entry.change, error=Unavailable(
                        f"{self.service}: gave up after retries ({last}) — run the same "
                        "command again later", status=last.status if last else None))
                return
            context.progress(self.options, f"{self.name}: retrying {len(retry)} change(s)")
            pending = retry

    def _outcome(self, entry: Pending, answer: Any) -> Applied | None:
        """Applied (done, or failed for good), or None to retry — decided by type."""
        change = entry.change
        if not isinstance(answer, RemoteError):
            version = answer.get(self.version_field, "") if isinstance(answer, dict) else ""
            return Applied(change, remote_id=self.remote_id(answer, change),
                           version=str(version or ""))
        entry.last_error = answer
        if isinstance(answer, AuthExpired):
            raise answer
        if isinstance(answer, NotFound) and entry.mode is Action.CANCEL:
            return Applied(change, remote_id=change.record.remote_id if change.record else "")
        switch = {(Conflict, Action.CREATE): Action.UPDATE,  # made by a run we never heard
                  (NotFound, Action.UPDATE): Action.CREATE}  # deleted by hand: make it again
        for (kind, mode), then in switch.items():
            if isinstance(answer, kind) and entry.mode is mode:
                if entry.switches >= MAX_MODE_SWITCHES:
                    return Applied(change, error=answer)
                entry.mode, entry.switches = then, entry.switches + 1
                entry.attempt -= 1  # not a failure: the same round again, no waiting
                return None
        if answer.retryable:
            return None
        if isinstance(answer, NotFound) and entry.mode is Action.CREATE and self._own:
            answer = self.calendar_gone(answer)  # a create 404s only without its calendar
        return Applied(change, error=answer)

    def _wait_round(self, retry: list[Pending], backoff: Backoff) -> bool:
        """Wait once before retrying these together (the longest Retry-After any was given);
        False when the budget is spent. A round of only create⇄update switches waits not."""
        attempt = max(e.attempt for e in retry) + 1
        for entry in retry:
            entry.attempt = attempt
        waiting = [e for e in retry if e.last_error is not None and e.last_error.retryable]
        if not waiting:
            return True
        told = [e.last_error.retry_after for e in waiting
                if isinstance(e.last_error, Throttled) and e.last_error.retry_after]
        retry_after = max(told, key=lambda v: retry_after_seconds(v) or 0.0) if told else None
        for entry in waiting:
            entry.last_error = None
        return backoff.wait(attempt, retry_after)

    # -- drafts -------------------------------------------------------------------------------
    def deliver(self, change: Change, context: ApplyContext) -> str:
        """The kickoff and change summaries as drafts the organizer sends: one per message,
        found again by its Message-ID, replaced when its content changed."""
        backoff = getattr(self, "_backoff", None) or self.backoff()
        if change.action is Action.CANCEL:
            old = change.record.remote_id if change.record else ""
            if old:
                self._delete_drafts([old], backoff)
            return old
        message = change.item
        assert isinstance(message, Message)
        facts: dict[str, Any] = {"account": self.account_address()}
        reply_to = None
        if change.key == KICKOFF:
            record = change.record
            if record is not None and record.active and record.summary.get(DRAFT) is False:
                # Sent by the user: it stays as sent; the summary it rides with tells.
                self._delivery[change.key] = {**facts, DRAFT: False,
                                              THREAD: record.summary.get(THREAD, "")}
                return record.remote_id
            invites = mail.invites_for_all(context.events, context.sequences)
            facts[DRAFT] = True
        else:
            invites = mail.invites_for_changes(context.alliance.id,
                                               context.announced(change.key))
            reply_to = self._thread_for(message, context)
            if reply_to:
                facts[THREAD] = reply_to
        self._delivery[change.key] = facts
        known = change.record.remote_id if change.record is not None and (
            change.record.active) else None
        others: list[str] = []
        if known is None and not context.fresh:
            # An earlier run may have made it and died before recording it.
            others = [d for d, _ in self.find_drafts(message.message_id)]
            known = others[0] if others else None
        if known is not None and not self.replaces_drafts:
            try:
                answer = self.call(lambda: self.draft_request(message, invites, known),
                                   backoff)
                self._note_thread(facts, answer)
                return known
            except NotFound:
                known = None  # sent or deleted by hand meanwhile: draft it anew
        created = self._create_draft(message, invites, backoff, skip=known, reply_to=reply_to,
                                     facts=facts)
        if known is not None:
            # Every other draft with this Message-ID goes: the old one, and any an
            # interrupted run made before it could record it (in that order: a crash leaves
            # one draft too many, never none).
            stale = {known, *others, *(d for d, _ in self.find_drafts(message.message_id))}
            self._delete_drafts(sorted(stale - {created}), backoff)
        return created

    def _thread_for(self, message: Message, context: ApplyContext) -> str | None:
        """The sent kickoff's thread, for a message that replies in the alliance's one
        conversation (`topic` set: change summaries, agendas, the celebration) — from the
        kickoff in the plan (setup), else from its record (`recall`: agendas planned alone).
        A nudge (to one member) is no part of it."""
        if not message.topic:
            return None
        kick = next((c.record for c in (context.plan.changes if context.plan else ())
                     if c.key == KICKOFF and c.record is not None), None)
        if kick is None and unsent_draft(self._kickoff):
            # Planned alone (an agenda), and the kickoff was a draft when last seen: the user
            # may have sent it since (one look at the draft, as setup does).
            assert self._kickoff is not None
            thread = self.sent_thread(self._kickoff.remote_id,
                                      item_message_id(context.alliance.id, KICKOFF),
                                      str(self._kickoff.summary.get(DRAFT_THREAD, "")))
            if thread is not None:
                self._kickoff = replace(self._kickoff, summary={
                    **self._kickoff.summary, DRAFT: False, THREAD: thread})
        kick = kick or self._kickoff
        if kick is None or not kick.active or kick.summary.get(DRAFT) is not False:
            return None
        return str(kick.summary.get(THREAD) or "") or None

    def recall(self, alliance_id: str, records: dict[str, Record]) -> None:
        super().recall(alliance_id, records)
        self._kickoff = records.get(KICKOFF)

    def _note_thread(self, facts: dict[str, Any], answer: Any) -> None:
        """The kickoff draft's thread, kept in its record: where its replies go once sent."""
        thread = self.draft_thread(answer) if facts.get(DRAFT) is True else ""
        if thread:
            facts[DRAFT_THREAD] = thread

    def _create_draft(self, message: Message, invites: list[mail.Invite], backoff: Backoff,
                      skip: str | None, reply_to: str | None = None,
                      facts: dict[str, Any] | None = None) -> str:
        def made_already() -> dict[str, str] | None:
            found = [d for d, _ in self.find_drafts(message.message_id) if d != skip]
            return {"id": found[0]} if found else None

        try:
            answer = self.call(lambda: self.draft_request(message, invites, None,
                                                          reply_to=reply_to),
                               backoff, recover=made_already)
        except NotFound:
            if not reply_to:
                raise
            # The kickoff's thread is gone (its draft was deleted, not sent): the reply is
            # drafted on its own, where the user sees it.
            answer = self.call(lambda: self.draft_request(message, invites, None),
                               backoff, recover=made_already)
            if facts is not None:
                facts.pop(THREAD, None)
        if facts is not None:
            self._note_thread(facts, answer)
        return str(answer["id"])

    def _delete_drafts(self, draft_ids: Sequence[str], backoff: Backoff) -> None:
        for draft_id in draft_ids:
            with contextlib.suppress(NotFound):  # already gone: what we wanted
                self.call(functools.partial(self.delete_draft_request, draft_id), backoff)



def zone_span(alliance: Any) -> tuple[str, int, int]:
    """The alliance's zone and the years it runs (`OwnCalendar.made_for`)."""
    return (str(alliance.timezone), int(alliance.starts.year), int(alliance.deadline.year))


def read_responses(records: dict[str, Record], since: SyncPoint | None,
                   read_changes: Callable[[dict[str, Record], str | None], Read],
                   requests: Callable[[], int]) -> ResponsesResult:
    """The read-back workflow every calendar target shares: read incrementally where a
    token is stored (in full when there is none or the service refused it), merge what was
    read into the cached objects, and turn what is known into answers and declines."""
    events = {k: r for k, r in records.items() if r.active and record_kind(r) == "event"}
    token = since.token if since is not None and since.token else None
    cache: dict[str, dict[str, Any]] = dict(since.cache.get("seen", {})) if (
        token and since is not None) else {}
    try:
        read = read_changes(events, token)
    except SyncExpired:
        cache, token = {}, None
        read = read_changes(events, None)
    if read.full:
        cache = {}
    ours = {r.remote_id for r in events.values() if r.remote_id}
    for seen in read.seen:
        if seen.whole or seen.removed:
            for other in [i for i, c in cache.items() if c["series"] == seen.id]:
                del cache[other]
        if seen.removed:
            cache.pop(seen.id, None)
        elif seen.id in ours or seen.series in ours:
            cache[seen.id] = seen.as_json()  # only our objects are kept
    answers, declined = summarize_responses(events, cache)
    exceptions = {key: sorted(c["start"] for c in cache.values()
                              if c["exception"] and c["series"] == record.remote_id)
                  for key, record in events.items()}
    return ResponsesResult(tuple(answers), tuple(declined),
                           SyncPoint(read.token, {"seen": cache, "exceptions": {
                               k: v for k, v in exceptions.items() if v}}),
                           requests=requests(),
                           incremental=token is not None and not read.full)


def summarize_responses(records: dict[str, Record], cache: dict[str, dict[str, Any]]
                        ) -> tuple[list[Response], list[DeclinedOccurrence]]:
    """Answers per item and attendee, and the occurrences declined one by one.

    A series' answer is its master object's where the provider shows it (Google, CalDAV);
    where it expands series into occurrences (Graph's calendarView) it is the answer on the
    plain occurrences — the ones nobody answered separately — or, if every occurrence was
    answered separately, the most common answer. The organizer is left out: she sent it."""
    answers: list[Response] = []
    declined: list[DeclinedOccurrence] = []
    for key, record in records.items():
        organizer = str((record.summary.get("organizer") or ["", ""])[1]).lower()
        invited = [str(p[1]).lower() for p in record.summary.get("attendees", [])
                   if len(p) > 1 and str(p[1]).lower() != organizer]
        master = cache.get(record.remote_id)
        parts = [s for s in cache.values() if s["series"] == record.remote_id and s["series"]]
        series: dict[str, str] = {}
        for email in invited:
            if master is not None and email in master["attendees"]:
                series[email] = master["attendees"][email]
                continue
            plain = [s["attendees"].get(email) for s in parts
                     if not s["exception"] and not s["cancelled"]]
            votes = [v for v in plain if v] or [s["attendees"].get(email) for s in parts
                                               if not s["cancelled"] and s["attendees"].get(email)]
            series[email] = max(set(votes), key=votes.count) if votes else "needs-action"
            if master is None and not votes:
                series[email] = "needs-action"
        for email in invited:
            answers.append(Response(key, email, series[email]))
            if series[email] == "declined":
                continue  # the whole series is declined: no need to list each occurrence
            for part in sorted(parts, key=lambda s: s["start"]):
                if not part["cancelled"] and part["attendees"].get(email) == "declined":
                    declined.append(DeclinedOccurrence(key, email, part["start"]))
    return answers, declined
