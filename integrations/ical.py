"""Event → iCalendar (RFC 5545 / iTIP RFC 5546), shared by the ics, eml, caldav and smtp targets.

Every VEVENT carries X-DESIGNED-ALLIANCE-* properties so a lost state file can be rebuilt
from the objects themselves.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from designed_alliance import __version__
from designed_alliance.core.items import Event, item_uid
from designed_alliance.core.state import Record
from designed_alliance.core.target import Remote

if TYPE_CHECKING:
    import icalendar


PRODID = f"-//designed-alliance//designed-alliance {__version__}//EN"
TAG_ID = "X-DESIGNED-ALLIANCE-ID"
TAG_KEY = "X-DESIGNED-ALLIANCE-KEY"
TAG_FINGERPRINT = "X-DESIGNED-ALLIANCE-FINGERPRINT"
# A reminder for an all-day deadline rings at this local hour on a working day before it,
# not at midnight (which is what "1 day before" the start of an all-day event means).
REMINDER_HOUR = time(9, 0)


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _person(person_email: str, name: str, params: dict[str, str]) -> icalendar.vCalAddress:
    import icalendar

    address = icalendar.vCalAddress(f"mailto:{person_email}")
    address.params["CN"] = icalendar.vText(name)
    for key, value in params.items():
        address.params[key] = icalendar.vText(value)
    return address


def vevent(event: Event, sequence: int, *, dtstamp: datetime | None = None,
           rsvp: bool = True, schedule_agent: str | None = None) -> icalendar.Event:
    """A full VEVENT: for a METHOD:REQUEST invite, or (rsvp=False) for an import file,
    where nobody is asked to reply: attendees are listed without RSVP.

    `schedule_agent` ("CLIENT", "SERVER" or "NONE", RFC 6638 §7.1) is set on every
    attendee: "CLIENT" tells a scheduling CalDAV server that we (or nobody) send the
    invitations, so it must not mail them itself."""
    import icalendar

    out = icalendar.Event()
    out.add("uid", event.uid)
    out.add("dtstamp", dtstamp or now_utc())
    out.add("sequence", sequence)
    out.add("summary", event.title)
    if event.all_day:
        out.add("dtstart", event.start)
        out.add("dtend", event.end)
        out.add("transp", "TRANSPARENT")  # a deadline does not block the whole day
    else:
        zone = ZoneInfo(event.timezone)
        assert isinstance(event.start, datetime) and isinstance(event.end, datetime)
        out.add("dtstart", event.start.astimezone(zone))
        out.add("dtend", event.end.astimezone(zone))
        out.add("transp", "OPAQUE")
    if event.rrule:
        out.add("rrule", icalendar.vRecur.from_ical(event.rrule))
    if event.description:
        out.add("description", event.description)
    link = event.video_url
    # A room when the file names one, else the link: LOCATION is what every client shows.
    if event.location or link:
        out.add("location", event.location or link)
    if link:
        # RFC 7986 §5.11, for clients that offer a "join" button; URL for the older ones.
        out.add("conference", icalendar.vUri(link),
                parameters={"VALUE": "URI", "FEATURE": "VIDEO", "LABEL": "Join the call"})
        out.add("url", icalendar.vUri(link))
    if event.color:
        out.add("color", event.color)  # RFC 7986 §5.9: a CSS3 colour name
    out.add("status", "CONFIRMED")
    out.add("organizer", _person(event.organizer.email, event.organizer.name, {}))
    for person in event.attendees:
        is_host = person.email.lower() == event.organizer.email.lower()
        params = {"CUTYPE": "INDIVIDUAL", "ROLE": "CHAIR" if is_host else person.role,
                  "PARTSTAT": "ACCEPTED" if is_host else "NEEDS-ACTION"}
        if rsvp:
            params["RSVP"] = "FALSE" if is_host else "TRUE"
        if schedule_agent:
            params["SCHEDULE-AGENT"] = schedule_agent
        out.add("attendee", _person(person.email, person.name, params))
    if event.categories:
        out.add("categories", list(event.categories))
    for minutes in event.alarms_minutes:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", event.title)
        alarm.add("trigger", _trigger(event, minutes))
        out.add_component(alarm)
    _tag(out, event.alliance_id, event.key, event.fingerprint)
    return out


def refuse_service_video(items: Sequence[Any], target: str) -> None:
    """Refuse (at plan time) a meeting only a calendar service can make: a file or CalDAV
    server has no "google-meet" or "teams" to create, and a link-less invite helps nobody."""
    from designed_alliance.core.errors import BadInput
    from designed_alliance.core.items import VIDEO_SERVICES, video_key

    for item in items:
        video = getattr(item, "video", "")
        if video in VIDEO_SERVICES:
            service = "google" if video == "google-meet" else "outlook"
            raise BadInput(f'"{video}" needs a calendar service to make the meeting, and the '
                           f"{target} target has none", key=video_key(item.key),
                           hint=f"set video to the meeting's URL, or use --to {service}")


def _trigger(event: Event, minutes: int) -> timedelta:
    """When an alarm rings, relative to the start (RFC 5545 TRIGGER, RELATED=START).

    A timed event: `minutes` before. An all-day event starts at local midnight, so "a day
    before" would ring at 00:00: instead it rings at REMINDER_HOUR on the working day
    `minutes` (rounded to whole days, at least one) before — a deadline on Monday reminds on
    Friday morning. Relative, so each member's calendar rings at their own 09:00.
    """
    if not event.all_day:
        return -timedelta(minutes=minutes)
    assert isinstance(event.start, date)
    day, left = event.start, max(1, round(minutes / (24 * 60)))
    while left:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return datetime.combine(day, REMINDER_HOUR) - datetime.combine(event.start, time(0))


def cancelled_vevent(alliance_id: str, record: Record, sequence: int, *,
                     dtstamp: datetime | None = None) -> icalendar.Event:
    """A VEVENT for METHOD:CANCEL, rebuilt from what state kept of the removed event."""
    import icalendar

    summary: dict[str, Any] = record.summary
    out = icalendar.Event()
    out.add("uid", item_uid(alliance_id, record.key))
    out.add("dtstamp", dtstamp or now_utc())
    out.add("sequence", sequence)
    out.add("summary", summary.get("title") or record.key)
    start = summary.get("start")
    if start:
        out.add("dtstart", _parse_start(start, summary.get("timezone")))
    if summary.get("rrule"):
        out.add("rrule", icalendar.vRecur.from_ical(summary["rrule"]))
    out.add("status", "CANCELLED")
    organizer = summary.get("organizer")
    if organizer:
        out.add("organizer", _person(organizer[1], organizer[0], {}))
    for name, email in summary.get("attendees", []):
        out.add("attendee", _person(email, name, {"CUTYPE": "INDIVIDUAL",
                                                  "ROLE": "REQ-PARTICIPANT"}))
    _tag(out, alliance_id, record.key, record.fingerprint)
    return out


def _parse_start(text: str, timezone: str | None) -> date | datetime:
    if "T" not in text:
        return date.fromisoformat(text)
    value = datetime.fromisoformat(text)
    return value.astimezone(ZoneInfo(timezone)) if timezone else value


def _tag(out: icalendar.Event, alliance_id: str, key: str, fingerprint: str) -> None:
    out.add(TAG_ID, alliance_id)
    out.add(TAG_KEY, key)
    out.add(TAG_FINGERPRINT, fingerprint)


def calendar(components: Iterable[icalendar.Event], method: str | None,
             name: str | None = None) -> icalendar.Calendar:
    """A VCALENDAR with one VTIMEZONE for every TZID its events use.

    Each VTIMEZONE is written as yearly RRULE transitions (see `vtimezone`) and covers every
    occurrence of the events that use it, from the first to the last, instead of 1970–2038:
    right in every client, a fraction of the size.
    """
    from .vtimezone import covering, vtimezone

    components = list(components)
    cal = _empty_calendar(method, name)
    # Before the events: a client that reads in one pass (Outlook) knows the zone when a
    # DTSTART names it.
    for tzid, (first, last) in sorted(_spans(components).items()):
        cal.add_component(vtimezone(tzid, *covering(first, last)))
    for component in components:
        cal.add_component(component)
    return cal


def _empty_calendar(method: str | None, name: str | None) -> icalendar.Calendar:
    """A VCALENDAR with our PRODID, version, scale, METHOD and name, and nothing in it."""
    import icalendar

    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
    return cal


def import_file(events: Sequence[Event], sequences: dict[str, int],
                name: str | None = None) -> bytes:
    """The whole alliance as one file to import into one's own calendar.

    No METHOD: RFC 5546 §3.2.1 forbids ATTENDEE in METHOD:PUBLISH (and with it any RSVP),
    while a calendar without METHOD is a plain RFC 5545 object, as stored by CalDAV, that
    every client imports. The attendees stay, so the imported events still say who takes
    part; RSVP is left out, as nobody answers an import.
    """
    fast = _fast_calendar(events, sequences, None, name, rsvp=False, dtstamp=now_utc())
    if fast is not None:
        return fast
    components = [vevent(event, sequences.get(event.key, 0), rsvp=False) for event in events]
    return calendar(components, None, name=name).to_ical()


_TZ_PROPERTIES = ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID", "EXDATE", "RDATE")


def _spans(components: Iterable[icalendar.cal.Component]
           ) -> dict[str, tuple[datetime, datetime]]:
    """TZID → (first, last) instant any property in that zone can take, series included."""
    spans: dict[str, tuple[datetime, datetime]] = {}
    for component in components:
        tzids: set[str] = set()
        for key in _TZ_PROPERTIES:
            values = component.get(key)
            for value in values if isinstance(values, list) else [values]:
                tzid = getattr(value, "params", {}).get("TZID") if value is not None else None
                if tzid:
                    tzids.add(str(tzid))
        if not tzids or "DTSTART" not in component:
            continue
        first = _as_datetime(component.decoded("DTSTART"))
        last = max(first, _series_end(component, first))
        if "DTEND" in component:
            last = max(last, _as_datetime(component.decoded("DTEND")))
        for tzid in tzids:
            known = spans.get(tzid)
            spans[tzid] = (min(first, known[0]), max(last, known[1])) if known else (first,
                                                                                     last)
    return spans


def _as_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(0), tzinfo=UTC)


def _series_end(component: icalendar.cal.Component, first: datetime) -> datetime:
    """The last start a series reaches: its UNTIL, its COUNTth occurrence, else two years."""
    rule = component.get("RRULE")
    if rule is None:
        return first
    if rule.get("UNTIL"):
        return _as_datetime(rule["UNTIL"][0])
    if rule.get("COUNT"):
        from itertools import islice

        from dateutil.rrule import rrulestr

        start = component.decoded("DTSTART")
        naive = (start.replace(tzinfo=None) if isinstance(start, datetime)
                 else datetime.combine(start, time(0)))
        # Counted in local time, as the rule is; a COUNT past 10 000 gets the first 10 000.
        occurrences = list(islice(rrulestr(rule.to_ical().decode(), dtstart=naive,
                                           ignoretz=True), 10_000))
        last = occurrences[-1] if occurrences else naive
        return (last.replace(tzinfo=start.tzinfo) if isinstance(start, datetime)
                else _as_datetime(last.date()))
    return first + timedelta(days=2 * 366)  # an open series: the years anyone looks ahead


def request(event: Event, sequence: int) -> bytes:
    """The METHOD:REQUEST invite of one event.

    Serialized once per run and shared: the ics and eml targets (and the drafts and sent
    mail) attach the same invite, and building it through icalendar's objects was most of a
    large setup's time. A copy older than `_SHARED_SECONDS` is made anew, so a long-lived
    process never hands out a stale DTSTAMP."""
    now = now_utc()
    _one_alliance(event.alliance_id)
    cache_key = (event, sequence)
    cached = _shared.get(cache_key)
    if cached is not None and (now - cached[0]).total_seconds() < _SHARED_SECONDS:
        return cached[1]
    data = _fast_calendar([event], {event.key: sequence}, "REQUEST", None, rsvp=True,
                          dtstamp=now)
    if data is None:
        data = calendar([vevent(event, sequence, dtstamp=now)], "REQUEST").to_ical()
    if len(_shared) >= _SHARED_MAX:
        _shared.clear()
    _shared[cache_key] = (now, data)
    return data


def cancel(alliance_id: str, record: Record, sequence: int) -> bytes:
    return calendar([cancelled_vevent(alliance_id, record, sequence)], "CANCEL").to_ical()


def remote_of(component: Any, alliance_id: str, remote_id: str) -> Remote | None:
    """The Remote a stored VEVENT stands for, if it is a live one of this alliance."""
    tags = read_tags(component)
    if tags is None or tags[0] != alliance_id:
        return None
    if str(component.get("status", "")).upper() == "CANCELLED":
        return None
    return Remote(tags[1], remote_id, tags[2], int(component.get("sequence", 0)),
                  {"title": str(component.get("summary", ""))})


def read_tags(component: Any) -> tuple[str, str, str] | None:
    """(alliance id, key, fingerprint) of a VEVENT we wrote, else None."""
    alliance_id = component.get(TAG_ID)
    key = component.get(TAG_KEY)
    if alliance_id is None or key is None:
        return None
    return str(alliance_id), str(key), str(component.get(TAG_FINGERPRINT, ""))


# -- the fast writer ---------------------------------------------------------------------------
# `vevent` + `calendar` build icalendar objects, and serializing them costs ~1.5 ms per event
# (folding char by char, a Parameters object per property): at 1,000 commitments that was
# most of `setup`. The writer below produces the same bytes straight from the Event — the
# same property order (icalendar's canonical order, then alphabetical), escaping, quoting and
# folding; tests/test_ical_writer.py checks it byte for byte against the icalendar path.
# Values it has no rule for (a control character, a double quote, a caret in a parameter)
# make it return None, and the icalendar path writes that file instead.

_SHARED_SECONDS = 300
_SHARED_MAX = 20_000
_shared: dict[tuple[Event, int], tuple[datetime, bytes]] = {}
_current: list[str] = [""]  # the alliance whose invites `_shared` and `_static` hold


def _one_alliance(alliance_id: str) -> None:
    """Keep the shared invites of one alliance only: a process that sets up many alliances
    one after another (`setup DIR/`, a queue worker) must not grow with each of them."""
    if _current[0] != alliance_id:
        _current[0] = alliance_id
        _shared.clear()
        _static.clear()

_EVENT_FIRST = ("SUMMARY", "DTSTART", "DTEND", "DURATION", "DTSTAMP", "UID",
                "RECURRENCE-ID", "SEQUENCE", "RRULE", "RDATE", "EXDATE")
_FOLD_AT = 74  # octets of content per physical line (icalendar folds before the 75th)
_CRLF = b"\r\n"
_FOLD = b"\r\n "


class _Unwritable(Exception):
    """A value the fast writer has no rule for: the icalendar path writes it."""


def _fold(line: str) -> bytes:
    """RFC 5545 §3.1 folding, exactly as icalendar does it: at most 74 octets per line,
    never inside a UTF-8 sequence, and never right after a backslash or caret (an escape
    split across lines confuses some clients)."""
    data = line.encode()
    if len(data) <= _FOLD_AT:
        return data
    parts: list[bytes] = []
    start, size = 0, len(data)
    while size - start > _FOLD_AT:
        end = start + _FOLD_AT
        while data[end] & 0xC0 == 0x80:  # the next octet continues a character: keep it whole
            end -= 1
        if end - start > 1 and data[end - 1] in b"\\^":
            end -= 1
        parts.append(data[start:end])
        start = end
    parts.append(data[start:])
    return _FOLD.join(parts)


def _text(value: str) -> str:
    """RFC 5545 §3.3.11 TEXT escaping, in icalendar's order."""
    return (value.replace("\\N", "\n").replace("\\", "\\\\").replace(";", "\\;")
            .replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
            .replace("\r", "\\n"))


_UNSAFE_PARAM = frozenset('\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0a\x0b\x0c\x0d\x0e\x0f'
                          '\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e'
                          '\x1f\x7f"^')
_QUOTABLE = frozenset(",;:\u2019")


def _param(name: str, value: str) -> str:
    if not _UNSAFE_PARAM.isdisjoint(value):
        raise _Unwritable(value)  # RFC 6868 escapes: left to icalendar
    quote = (name == "CN" and (" " in value or "'" in value)) or not _QUOTABLE.isdisjoint(
        value)
    return f'{name}="{value}"' if quote else f"{name}={value}"


def _check_text(value: str) -> str:
    if "\x00" in value:
        raise _Unwritable(value)
    return value


def _check_uri(value: str) -> str:
    """A URI (or a value of a type icalendar does not escape) is written as it is: anything
    that could break the line is left to the icalendar path, as it always was."""
    if not value.isprintable():
        raise _Unwritable(value)
    return value


# -- what icalendar decides, remembered on disk --------------------------------------------------
# The fast writer asks icalendar only a handful of small questions per run: the canonical form
# of a rule, a TZID, a VTIMEZONE, the calendar's header lines. Loading icalendar to answer
# them was a tenth of a small setup, so the answers are kept in the user cache folder (like
# the compiled templates) and icalendar is loaded only for a question not answered before.
# The file is valid for one version of this package, of icalendar and of these two modules;
# an answer that depends on the time-zone data names the zone file's size and mtime in its key.
_MEMO_FORMAT = 1
_memo: dict[str, str] = {}
_memo_disk: dict[str, str] | None = None  # what the file held (None: not read yet)


def _memo_path() -> Path | None:
    from designed_alliance.core import userdirs

    try:
        return userdirs.cache() / "ical-answers.json"
    except (ImportError, RuntimeError):  # a cache only costs speed when it cannot be had
        return None


@lru_cache(maxsize=1)
def _memo_stamp() -> str:
    import importlib.util

    from designed_alliance.core.rendered import file_stamp

    parts: list[object] = [_MEMO_FORMAT, __version__]
    spec = importlib.util.find_spec("icalendar")  # finds without importing
    if spec is not None and spec.origin:
        parts += [*file_stamp(Path(spec.origin))]
    here = Path(__file__).resolve().parent
    for name in ("ical.py", "vtimezone.py"):
        parts += [name, *file_stamp(here / name)]
    return repr(parts)


def _answer(key: str, ask: Callable[[], str]) -> str:
    """icalendar's answer to `key`: from this process, else from the file (while icalendar is
    not loaded: once it is, asking it is as cheap), else asked and written down."""
    global _memo_disk
    if key in _memo:
        return _memo[key]
    if _memo_disk is None and "icalendar" not in sys.modules:
        _memo_disk = {}
        path = _memo_path()
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
            if path is not None:
                stored = json.loads(path.read_text(encoding="utf-8"))
                if stored.get("stamp") == _memo_stamp():
                    _memo_disk = {str(k): str(v) for k, v in stored["answers"].items()}
    if _memo_disk is not None and key in _memo_disk:
        _memo[key] = _memo_disk[key]
        return _memo[key]
    _memo[key] = ask()
    _write_later()
    return _memo[key]


def _write_later() -> None:
    from designed_alliance.core import userdirs

    userdirs.write_at_exit(_write_answers)


def _write_answers() -> None:
    from designed_alliance.core import userdirs

    path = _memo_path()
    if path is None:
        return
    answers = {**(_memo_disk or {}), **_memo}
    if len(answers) > 2000:  # rules and names of many alliances: keep the newest only
        answers = dict(list(answers.items())[-1000:])
    userdirs.write_cache(path, json.dumps({"stamp": _memo_stamp(), "answers": answers}).encode())


def _zone_key(timezone: str) -> str:
    from designed_alliance.core.rendered import zone_stamp

    return f"{timezone}|{zone_stamp(timezone)!r}"


@lru_cache(maxsize=256)
def _rrule(rule: str) -> str:
    """icalendar's canonical form of a rule (it orders the parts): asked once per rule."""
    def ask() -> str:
        import icalendar

        return str(icalendar.vRecur.from_ical(rule).to_ical().decode())

    return _answer(f"rrule:{rule}", ask)


@lru_cache(maxsize=256)
def _until(rule: str) -> str:
    """The UNTIL of a rule as icalendar reads it, as an ISO instant; "count" for a counted
    rule, "" for an open one."""
    def ask() -> str:
        import icalendar

        recur = icalendar.vRecur.from_ical(rule)
        if recur.get("UNTIL"):
            return _as_datetime(recur["UNTIL"][0]).isoformat()
        return "count" if recur.get("COUNT") else ""

    return _answer(f"until:{rule}", ask)


@lru_cache(maxsize=256)
def _duration(value: timedelta) -> str:
    def ask() -> str:
        import icalendar

        return str(icalendar.vDuration(value).to_ical().decode())

    return _answer(f"duration:{value.days}:{value.seconds}:{value.microseconds}", ask)


@lru_cache(maxsize=64)
def _tzid(timezone: str) -> str | None:
    """The TZID icalendar writes for a datetime in this zone; None where it writes UTC
    ("…Z", no TZID and no VTIMEZONE)."""
    def ask() -> str:
        import icalendar

        probe = icalendar.vDDDTypes(datetime(2000, 1, 1, tzinfo=ZoneInfo(timezone)))
        tzid = probe.params.get("TZID")
        return str(tzid) if tzid else ""

    return _answer(f"tzid:{_zone_key(timezone)}", ask) or None


_tz_bytes: dict[int, tuple[icalendar.Timezone, bytes]] = {}


def _vtimezone_bytes(tzid: str, first_year: int, last_year: int) -> bytes:
    """The VTIMEZONE `vtimezone` made (it caches them), serialized once per object: the
    object is kept beside its bytes, so its id cannot be reused by another. While icalendar
    is not loaded, the answer written down by an earlier run is used instead."""
    key = f"vtimezone:{_zone_key(tzid)}|{first_year}|{last_year}"
    if "icalendar" not in sys.modules:
        return _answer(key, lambda: _made_vtimezone(tzid, first_year, last_year).decode()
                       ).encode()
    data = _made_vtimezone(tzid, first_year, last_year)
    if _memo.get(key) != (text := data.decode()):  # written down for the next run
        _memo[key] = text
        _write_later()
    return data


def _made_vtimezone(tzid: str, first_year: int, last_year: int) -> bytes:
    from .vtimezone import vtimezone

    component = vtimezone(tzid, first_year, last_year)
    known = _tz_bytes.get(id(component))
    if known is None or known[0] is not component:
        if len(_tz_bytes) > 512:
            _tz_bytes.clear()
        known = (component, component.to_ical())
        _tz_bytes[id(component)] = known
    return known[1]


@lru_cache(maxsize=64)
def _calendar_head(method: str | None, name: str | None) -> bytes:
    """BEGIN:VCALENDAR and its properties, as icalendar writes them."""
    def ask() -> str:
        data = _empty_calendar(method, name).to_ical()
        assert data.endswith(b"END:VCALENDAR\r\n")
        return str(data[:-len(b"END:VCALENDAR\r\n")].decode())

    return _answer(f"head:{method or ''}:{json.dumps(name)}", ask).encode()


@lru_cache(maxsize=4096)
def _person_line(prop: str, email_address: str, name: str, params: tuple[tuple[str, str], ...]
                 ) -> bytes:
    """ORGANIZER/ATTENDEE: the same few people in every event, so each line is built once."""
    parts = ";".join(_param(k, v) for k, v in sorted([("CN", name), *params]))
    return _fold(f"{prop};{parts}:{_check_uri('mailto:' + email_address)}")


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _moment(prop: str, value: date | datetime, timezone: str) -> str:
    if not isinstance(value, datetime):
        return f"{prop};VALUE=DATE:{value:%Y%m%d}"
    tzid = _tzid(timezone)
    if tzid is None:
        return f"{prop}:{_stamp(value)}"
    local = value.astimezone(ZoneInfo(timezone))
    if local.microsecond:
        raise _Unwritable(local)
    return f"{prop};{_param('TZID', tzid)}:{local:%Y%m%dT%H%M%S}"


def _event_span(event: Event) -> tuple[str, datetime, datetime] | None:
    """(TZID, first, last instant) as `_spans` finds them on the written VEVENT."""
    if event.all_day:
        return None
    tzid = _tzid(event.timezone)
    if tzid is None:
        return None
    assert isinstance(event.start, datetime) and isinstance(event.end, datetime)
    zone = ZoneInfo(event.timezone)
    first = event.start.astimezone(zone)
    last = first
    if event.rrule:
        until = _until(event.rrule)
        if until == "count":  # rare: counted in local time by dateutil, as `_spans` does
            import icalendar

            probe = icalendar.Event()
            probe.add("dtstart", first)
            probe.add("rrule", icalendar.vRecur.from_ical(event.rrule))
            last = max(last, _series_end(probe, first))
        elif until:
            last = max(last, datetime.fromisoformat(until))
        else:
            last = max(last, first + timedelta(days=2 * 366))
    return tzid, first, max(last, event.end.astimezone(zone))


_Parts = tuple[list[tuple[str, list[bytes]]], list[bytes]]
_static: dict[Event, _Parts] = {}


def _static_parts(event: Event) -> _Parts:
    """The VEVENT's lines that do not depend on SEQUENCE, DTSTAMP or RSVP, in the order they
    are written (ATTENDEE and the two stamps as empty slots), and its VALARMs: the invite
    and the import file of one run share them."""
    _one_alliance(event.alliance_id)
    known = _static.get(event)
    if known is not None:
        return known
    props: dict[str, list[bytes]] = {"DTSTAMP": [], "SEQUENCE": [], "ATTENDEE": []}

    def put(prop: str, line: str | bytes) -> None:
        props.setdefault(prop, []).append(line if isinstance(line, bytes) else _fold(line))

    put("UID", f"UID:{_text(_check_text(event.uid))}")
    put("SUMMARY", f"SUMMARY:{_text(_check_text(event.title))}")
    put("DTSTART", _moment("DTSTART", event.start, event.timezone))
    put("DTEND", _moment("DTEND", event.end, event.timezone))
    put("TRANSP", "TRANSP:TRANSPARENT" if event.all_day else "TRANSP:OPAQUE")
    if event.rrule:
        put("RRULE", f"RRULE:{_rrule(event.rrule)}")
    if event.description:
        put("DESCRIPTION", f"DESCRIPTION:{_text(_check_text(event.description))}")
    link = event.video_url
    if event.location or link:
        put("LOCATION", f"LOCATION:{_text(_check_text(event.location or link))}")
    if link:
        put("CONFERENCE", f"CONFERENCE;FEATURE=VIDEO;LABEL=Join the call;VALUE=URI:"
            f"{_check_uri(link)}")
        put("URL", f"URL:{_check_uri(link)}")
    if event.color:
        put("COLOR", f"COLOR:{_check_uri(event.color)}")  # not TEXT: written as it is
    put("STATUS", "STATUS:CONFIRMED")
    put("ORGANIZER", _person_line("ORGANIZER", event.organizer.email, event.organizer.name, ()))
    if event.categories:
        put("CATEGORIES", "CATEGORIES:" + ",".join(_text(_check_text(c))
                                                   for c in event.categories))
    # X- properties have no type icalendar knows: their values are written unescaped.
    put(TAG_ID, f"{TAG_ID}:{_check_uri(event.alliance_id)}")
    put(TAG_KEY, f"{TAG_KEY}:{_check_uri(event.key)}")
    put(TAG_FINGERPRINT, f"{TAG_FINGERPRINT}:{_check_uri(event.fingerprint)}")
    if not event.attendees:
        del props["ATTENDEE"]
    # icalendar's order: its canonical properties first, then the others alphabetically.
    order = [p for p in _EVENT_FIRST if p in props] + sorted(set(props) - set(_EVENT_FIRST))
    alarms: list[bytes] = []
    for minutes in event.alarms_minutes:
        alarms += [b"BEGIN:VALARM", b"ACTION:DISPLAY", _fold(f"DESCRIPTION:{_text(event.title)}"),
                   _fold(f"TRIGGER:{_duration(_trigger(event, minutes))}"), b"END:VALARM"]
    if len(_static) >= _SHARED_MAX:
        _static.clear()
    known = ([(p, props[p]) for p in order], alarms)
    _static[event] = known
    return known


def _fast_vevent(event: Event, sequence: int, *, dtstamp: datetime, rsvp: bool) -> list[bytes]:
    ordered, alarms = _static_parts(event)
    lines = [b"BEGIN:VEVENT"]
    for prop, static in ordered:
        if prop == "DTSTAMP":
            lines.append(f"DTSTAMP:{_stamp(dtstamp)}".encode())
        elif prop == "SEQUENCE":
            lines.append(f"SEQUENCE:{sequence}".encode())
        elif prop == "ATTENDEE":
            host = event.organizer.email.lower()
            for person in event.attendees:
                is_host = person.email.lower() == host
                params = [("CUTYPE", "INDIVIDUAL"),
                          ("ROLE", "CHAIR" if is_host else person.role),
                          ("PARTSTAT", "ACCEPTED" if is_host else "NEEDS-ACTION")]
                if rsvp:
                    params.append(("RSVP", "FALSE" if is_host else "TRUE"))
                lines.append(_person_line("ATTENDEE", person.email, person.name,
                                          tuple(params)))
        else:
            lines += static
    lines += alarms
    lines.append(b"END:VEVENT")
    return lines


def _covering(start: datetime, end: datetime) -> tuple[int, int]:
    """`vtimezone.covering`, without importing that module (it loads icalendar)."""
    return start.year, max(start.year, end.year)


def _fast_calendar(events: Sequence[Event], sequences: dict[str, int], method: str | None,
                   name: str | None, *, rsvp: bool, dtstamp: datetime) -> bytes | None:
    """What `calendar([vevent(...)...], method, name).to_ical()` writes, or None when an
    event holds something only the icalendar path knows how to write."""
    try:
        bodies = [_fast_vevent(e, sequences.get(e.key, 0), dtstamp=dtstamp, rsvp=rsvp)
                  for e in events]
        spans: dict[str, tuple[datetime, datetime]] = {}
        for event in events:
            found = _event_span(event)
            if found is None:
                continue
            tzid, start, last = found
            known = spans.get(tzid)
            spans[tzid] = (min(start, known[0]), max(last, known[1])) if known else (start,
                                                                                     last)
    except _Unwritable:
        return None
    out = [_calendar_head(method, name)]
    for tzid, (start, last) in sorted(spans.items()):
        out.append(_vtimezone_bytes(tzid, *_covering(start, last)))
    for body in bodies:
        out.append(_CRLF.join(body) + _CRLF)
    out.append(b"END:VCALENDAR\r\n")
    return b"".join(out)


# -- reading our own tags back, cheaply ----------------------------------------------------------
_SCANNED = frozenset({TAG_ID, TAG_KEY, TAG_FINGERPRINT, "STATUS", "SEQUENCE"})


def scan_tags(data: bytes, alliance_id: str) -> dict[str, tuple[str, int]] | None:
    """key → (fingerprint, SEQUENCE) of the live tagged events of this alliance in one
    calendar object — what `ical_remotes` finds, without building icalendar objects (a
    re-run checks every file it wrote; parsing them all cost more than the run).

    None when the text is anything but a plain, well-nested calendar (a damaged, foreign or
    odd file): the caller then parses it with icalendar, as it always did."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")
    if not lines or lines[0] != "BEGIN:VCALENDAR" or lines[-1] != "" or (
            len(lines) < 2 or lines[-2] != "END:VCALENDAR"):
        return None
    found: dict[str, tuple[str, int]] = {}
    stack: list[str] = []
    event: dict[str, str] | None = None
    for line in lines[:-1]:
        name, colon, value = line.partition(":")
        if '"' in name:  # a quoted parameter value may hold a colon: split after it
            name, colon, value = _split_quoted(line)
        if not colon or "\n" in line or "\r" in line:
            return None  # not a content line: leave it to icalendar
        name = name.split(";", 1)[0].upper()
        if name == "BEGIN":
            stack.append(value.upper())
            if value.upper() == "VEVENT":
                if event is not None:
                    return None
                event = {}
        elif name == "END":
            if not stack or stack.pop() != value.upper():
                return None
            if value.upper() == "VEVENT" and event is not None:
                if event.get(TAG_ID) == alliance_id and TAG_KEY in event and (
                        event.get("STATUS", "").upper() != "CANCELLED"):
                    sequence = event.get("SEQUENCE", "0").strip()
                    if not sequence.isdigit() or int(sequence) >= 2**31:
                        return None
                    found[event[TAG_KEY]] = (event.get(TAG_FINGERPRINT, ""), int(sequence))
                event = None
        elif event is not None and stack[-1] == "VEVENT" and name in _SCANNED:
            if name in event:
                return None  # a property twice: icalendar decides what that means
            # The tags are X- properties, read back unescaped as icalendar reads them.
            event[name] = value
    return found if not stack else None


def _split_quoted(line: str) -> tuple[str, str, str]:
    """(name and parameters, ":", value) of a content line whose parameters are quoted."""
    quoted = False
    for at, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            return line[:at], ":", line[at + 1:]
    return line, "", ""
