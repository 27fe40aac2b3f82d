"""`alliance pull`: what someone changed in a calendar, written back into the alliance file.

Pure: the recorded objects, what the calendar says now (`RemoteVersion`, as `plan
--check-remote` reads it) and the alliance file's text in; the new text, the edits and what
could not be brought back out. Nothing here reads a network or writes a file.

What maps to a key: the check-in series' time, duration, day(s), place and end (`[checkins]`
time, duration, day or the BYDAY of its rrule, where, the UNTIL of its rrule — a series that
runs to the deadline is listed instead: moving the deadline moves more); the review's time
and duration; the celebration's date (`on`), time, duration and place; a commitment's hard
`due` date. What does not (a new title, an event deleted in the calendar, one occurrence
changed on its own, a review moved to another day — the review's day follows the check-ins)
is listed instead. The new text is loaded with the real loader and scheduled again, and
every pulled event must then say what the calendar says; a change the file still cannot
express is listed too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from designed_alliance.core.records import dataclass

from . import tomledit
from .durations import describe_duration
from .errors import AllianceError, BadInput
from .items import Event
from .journal import Journal
from .load import WEEKDAYS, loads
from .model import Alliance
from .run import drifted_fields, same_field, same_in
from .schedule import review_time, schedule
from .state import Record
from .target import RemoteVersion

DAY_NAMES = {code: name for name, code in WEEKDAYS.items()}
ORDINAL_NAMES = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
#: the fields of an event a pull can bring back; a title is the alliance's own
BROUGHT = ("start", "end", "rrule", "location", "until")


@dataclass(frozen=True)
class Edit:
    """One key of the alliance file set to the calendar's value, and why (in words)."""

    path: str
    value: tomledit.Value
    because: str


@dataclass(frozen=True)
class Pull:
    """What a pull would do: the new text (the old one when nothing maps), the edits, the
    changes not brought back, side effects worth knowing, and the keys whose every change
    the file now says (their records may take the calendar's version)."""

    text: str
    edits: tuple[Edit, ...] = ()
    left: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    adopted: tuple[str, ...] = ()
    events: dict[str, Event] = field(default_factory=dict)  # the new schedule, by key


def _moment(wall: str, record_zone: str, zone: str) -> datetime | date | None:
    """A remote wall time (in the zone the record was written in) in the alliance's zone."""
    try:
        if "T" not in wall:
            return date.fromisoformat(wall[:10])
        moment = datetime.fromisoformat(wall[:16])
    except ValueError:
        return None
    if record_zone and record_zone != zone:
        with contextlib.suppress(KeyError):  # a zone we no longer know: taken as it is
            moment = moment.replace(tzinfo=ZoneInfo(record_zone)).astimezone(
                ZoneInfo(zone)).replace(tzinfo=None)
    return moment


def _in_zone(fields: Mapping[str, str], record_zone: str, zone: str) -> dict[str, str]:
    """A calendar's fields with start and end as wall times in the alliance's zone."""
    out = dict(fields)
    for name in ("start", "end"):
        moment = _moment(fields.get(name, ""), record_zone, zone)
        if isinstance(moment, datetime):
            out[name] = moment.strftime("%Y-%m-%dT%H:%M")
    return out


def _rule(text: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for chunk in text.upper().split(";"):
        if chunk:
            name, _, value = chunk.partition("=")
            parts[name] = value
    return parts


def _day_names(byday: str) -> list[str] | None:
    names = []
    for code in byday.split(","):
        weekday, ordinal = code[-2:], code[:-2]
        if weekday not in DAY_NAMES:
            return None
        if ordinal:
            if not ordinal.lstrip("+-").isdigit() or int(ordinal) not in ORDINAL_NAMES:
                return None
            names.append(f"{ORDINAL_NAMES[int(ordinal)]} {DAY_NAMES[weekday]}")
        else:
            names.append(DAY_NAMES[weekday])
    return names


class _Mapper:
    """Collects the edits and what is left for one alliance."""

    def __init__(self, alliance: Alliance, journal: Journal | None) -> None:
        self.alliance = alliance
        self.journal = journal
        self.edits: list[Edit] = []
        self.left: list[tuple[str, str]] = []  # (item key, what is not brought back)

    def edit(self, path: str, value: tomledit.Value, because: str) -> None:
        self.edits.append(Edit(path, value, because))

    def leave(self, key: str, what: str) -> None:
        self.left.append((key, what))

    def times(self, key: str, record: Record, remote: RemoteVersion,
              changed: Mapping[str, tuple[str, str]]
              ) -> tuple[datetime | date, datetime | date] | None:
        zone = str(record.summary.get("timezone") or self.alliance.timezone)
        start = _moment(remote.fields.get("start", ""), zone, self.alliance.timezone)
        end = _moment(remote.fields.get("end", ""), zone, self.alliance.timezone)
        if start is None or end is None:
            if "start" in changed or "end" in changed:
                self.leave(key, "its new time cannot be read")
            return None
        return start, end

    def clock(self, key: str, table: str, start: datetime, end: datetime, now: time,
              length: timedelta, changed: Mapping[str, tuple[str, str]]) -> None:
        if "start" not in changed and "end" not in changed:
            return
        if start.time() != now:
            self.edit(f"{table}.time", start.time().replace(second=0),
                      f"{key}: time {now:%H:%M} → {start:%H:%M}")
        new_length = end - start
        if new_length <= timedelta(0):
            self.leave(key, "it ends before it starts in the calendar")
        elif new_length != length:
            self.edit(f"{table}.duration", describe_duration(new_length),
                      f"{key}: duration {describe_duration(length)} → "
                      f"{describe_duration(new_length)}")

    def place(self, key: str, table: str, changed: Mapping[str, tuple[str, str]]) -> None:
        if "location" in changed:
            old, new = changed["location"]
            self.edit(f"{table}.where", new, f"{key}: where {old!r} → {new!r}")

    def series(self, key: str, record: Record, remote: RemoteVersion,
               changed: Mapping[str, tuple[str, str]], now: time, length: timedelta) -> None:
        """The time and duration of a meeting series (`[key]` time and duration)."""
        moments = self.times(key, record, remote, changed)
        if moments is None:
            return
        start, end = moments
        if not isinstance(start, datetime) or not isinstance(end, datetime):
            self.leave(key, "it is an all-day series in the calendar now")
        else:
            self.clock(key, key, start, end, now, length, changed)

    # -- one method per kind of item -------------------------------------------------------
    def checkins(self, record: Record, remote: RemoteVersion,
                 changed: Mapping[str, tuple[str, str]]) -> None:
        checkins = self.alliance.checkins
        if checkins is None:
            self.leave("checkins", "the alliance file has no [checkins] table any more")
            return
        self.series("checkins", record, remote, changed, checkins.time, checkins.duration)
        if "rrule" in changed:
            self.days(changed["rrule"])
        if "until" in changed:
            self.until(changed["until"])
        self.place("checkins", "checkins", changed)

    def until(self, ends: tuple[str, str]) -> None:
        """The series' end: the UNTIL of the file's own `checkins.rrule`, else the deadline
        (which the celebration, the review and the deadlines also follow: not moved here)."""
        old, new = ends
        checkins = self.alliance.checkins
        assert checkins is not None
        because = f"checkins: until {old} → {new}"
        if new == "never":
            self.leave("checkins", f"it no longer ends in the calendar (until {old}); a "
                       "series always ends — at the deadline or the UNTIL of checkins.rrule")
            return
        if checkins.rrule is None:
            self.leave("checkins", f"until {old} → {new} in the calendar; the check-ins run "
                       "to the deadline — move alliance.deadline if the alliance ends then, or "
                       "write them as checkins.rrule with UNTIL")
            return
        # A change of day may have rewritten the rule already: the end is set in that one.
        rule = next((str(e.value) for e in reversed(self.edits)
                     if e.path == "checkins.rrule"), checkins.rrule)
        parts = _rule(rule)
        if "COUNT" in parts:
            self.leave("checkins", f"until {old} → {new} in the calendar; checkins.rrule "
                       "counts its check-ins (COUNT): replace it with UNTIL")
            return
        # As the loader takes an UNTIL of the user's: a local date, or a local date and time
        # (the file's rule has no zone of its own; the schedule reads it in the alliance's).
        day = date.fromisoformat(new)
        was = parts.get("UNTIL", "")
        parts["UNTIL"] = day.strftime("%Y%m%d") + ("T235959" if "T" in was else "")
        self.edit("checkins.rrule", ";".join(f"{k}={v}" for k, v in parts.items()), because)

    def days(self, rules: tuple[str, str]) -> None:
        old, new = (_rule(r) for r in rules)
        for part in ("UNTIL", "COUNT"):
            old.pop(part, None)
            new.pop(part, None)
        other = {k for k in set(old) | set(new) if k != "BYDAY" and old.get(k) != new.get(k)}
        checkins = self.alliance.checkins
        assert checkins is not None
        if other or not new.get("BYDAY"):
            self.leave("checkins", f"its rule changed ({rules[0]} → {rules[1]}); the file "
                       "takes back only a change of day")
            return
        if old.get("BYDAY") == new["BYDAY"]:
            return
        was = old.get("BYDAY", "")
        because = f"checkins: days {was or '(from the start date)'} → {new['BYDAY']}"
        if checkins.rrule is not None:
            parts = _rule(checkins.rrule)
            parts["BYDAY"] = new["BYDAY"]
            self.edit("checkins.rrule", ";".join(f"{k}={v}" for k, v in parts.items()),
                      because)
            return
        names = _day_names(new["BYDAY"])
        cadence = checkins.cadence
        if names is None or cadence is None or cadence.weekdays_only or (
                cadence.freq not in ("WEEKLY", "MONTHLY")):
            self.leave("checkins", f"its days changed ({was} → {new['BYDAY']}) in a way "
                       "`every` and `day` cannot say")
            return
        self.edit("checkins.day", names if len(names) > 1 else names[0], because)

    def review(self, record: Record, remote: RemoteVersion,
               changed: Mapping[str, tuple[str, str]]) -> None:
        review = self.alliance.review
        if review is None:
            self.leave("review", "the alliance file has no review any more")
            return
        self.series("review", record, remote, changed, review_time(self.alliance),
                    review.duration)
        if "rrule" in changed:
            self.leave("review", f"its rule changed ({changed['rrule'][0]} → "
                       f"{changed['rrule'][1]}); its cadence is review_every")
        if "until" in changed:
            old, new = changed["until"]
            self.leave("review", f"until {old} → {new} in the calendar; reviews run to the "
                       "deadline (alliance.deadline)")
        if "location" in changed:
            self.leave("review", "its place changed; the review meets where the check-ins "
                       "do (checkins.where)")

    def celebration(self, record: Record, remote: RemoteVersion,
                    changed: Mapping[str, tuple[str, str]]) -> None:
        celebration = self.alliance.celebration
        if celebration is None:
            self.leave("celebration", "the alliance file has no [celebration] any more")
            return
        moments = self.times("celebration", record, remote, changed)
        if moments is not None and ("start" in changed or "end" in changed):
            start, end = moments
            day = start.date() if isinstance(start, datetime) else start
            if day != self.alliance.celebration_date:
                self.edit("celebration.on", day,
                          f"celebration: on {self.alliance.celebration_date} → {day}")
            if isinstance(start, datetime) and isinstance(end, datetime):
                if celebration.time is None:
                    self.edit("celebration.time", start.time(),
                              f"celebration: all day → {start:%H:%M}")
                    if end - start != celebration.duration and end > start:
                        self.edit("celebration.duration", describe_duration(end - start),
                                  f"celebration: lasts {describe_duration(end - start)}")
                else:
                    self.clock("celebration", "celebration", start, end, celebration.time,
                               celebration.duration, changed)
            elif celebration.time is not None:
                self.leave("celebration", "it is an all-day event in the calendar now; "
                           "remove `time` from [celebration] to say so")
        self.place("celebration", "celebration", changed)

    def commitment(self, key: str, record: Record, remote: RemoteVersion,
                   changed: Mapping[str, tuple[str, str]]) -> None:
        commitment_id = key.split(":", 1)[1]
        positions = [i for i, c in enumerate(self.alliance.commitments)
                     if c.id == commitment_id]
        if not positions:
            self.leave(key, "the alliance file has no such commitment any more")
            return
        commitment = self.alliance.commitments[positions[0]]
        if "start" in changed:
            moments = self.times(key, record, remote, changed)
            start = moments[0] if moments else None
            day = start.date() if isinstance(start, datetime) else start
            if day is None:
                pass  # said by `times`
            elif self.journal is not None and commitment_id in self.journal.redated_dues():
                self.leave(key, "its date comes from the progress journal (re-dated there); "
                           "re-date it in the journal instead")
            elif commitment.due is None:
                self.leave(key, f"moved to {day}, but its date follows "
                           f"{commitment.after or 'another commitment'} (`after`/`takes`); "
                           "give it a hard `due` to pin it")
            elif day != commitment.due:
                self.edit(f"commitments[{positions[0]}].due", day,
                          f"{key}: due {commitment.due} → {day}")
        if "location" in changed:
            self.leave(key, "a place was set on a deadline; deadlines have none in the file")


def plan_pull(alliance: Alliance, text: str, drifted: Sequence[tuple[Record, RemoteVersion]],
              *, exceptions: Mapping[str, Sequence[str]] | None = None,
              journal: Journal | None = None, organizer: str | None = None) -> Pull:
    """The pull of these drifted objects into `text` (the file `alliance` was loaded from).

    `drifted` holds (record, what the calendar says) for each recorded object `plan
    --check-remote` calls changed or deleted; `exceptions` the original starts of the
    occurrences changed one by one, by item key. Raises AllianceError when the calendar's
    values would not make a valid alliance file (the message says which and why)."""
    mapper = _Mapper(alliance, journal)
    compared: dict[str, dict[str, tuple[str, str]]] = {}
    for record, remote in drifted:
        key = record.key
        if remote.deleted:
            mapper.leave(key, "deleted in the calendar")
            continue
        changed = drifted_fields(record, remote)
        compared[key] = changed
        if "title" in changed:
            mapper.leave(key, f"title {changed['title'][0]!r} → {changed['title'][1]!r}; "
                         "titles come from the alliance's title")
        if key == "checkins":
            mapper.checkins(record, remote, changed)
        elif key == "review":
            mapper.review(record, remote, changed)
        elif key == "celebration":
            mapper.celebration(record, remote, changed)
        elif key.startswith("commitment:"):
            mapper.commitment(key, record, remote, changed)
        elif any(n in changed for n in BROUGHT):
            mapper.leave(key, "no key of the alliance file says this")
    edits = _dedupe(mapper.edits)
    before = _events(alliance, organizer, journal)
    new_text, new_alliance = _written(alliance, text, edits)
    after = _events(new_alliance, organizer, journal)
    # The review's time follows the check-ins unless the file pins it: a pulled check-in
    # time must not move a review the calendar left where it was.
    pin = _pin_review(alliance, before, after, edits)
    if pin is not None:
        edits = [*edits, pin]
        new_text, new_alliance = _written(alliance, text, edits)
        after = _events(new_alliance, organizer, journal)
    left = [f"{key}: {what}" for key, what in mapper.left]
    said = {key for key, _ in mapper.left}
    adopted: list[str] = []
    remotes = {record.key: _in_zone(remote.fields, str(record.summary.get("timezone") or ""),
                                    alliance.timezone) for record, remote in drifted}
    for key, changed in compared.items():
        event = after.get(key)
        if event is None:
            continue
        still = [name for name in BROUGHT if name in changed
                 and not same_in(name, event.summary, remotes[key], alliance.timezone)]
        if still and key not in said:
            left.append(f"{key}: {', '.join(f'{n} {changed[n][1]}' for n in still)} in the "
                        "calendar cannot be said by the alliance file")
        if not still and key not in said:
            adopted.append(key)  # the file says everything the calendar changed
    # Single occurrences are objects of their own (Google, Graph) or parts of the series'
    # (CalDAV): they stay as the calendar has them, and never stop the series' adoption.
    for key, starts in sorted((exceptions or {}).items()):
        for start in starts:
            left.append(f"{key}: the occurrence of {str(start).replace('T', ' ')} was "
                        "changed on its own in the calendar (moved, cancelled or answered)")
    also = []
    for key, event in after.items():
        old = before.get(key)
        if key in compared or old is None:
            continue
        moved = [n for n in ("start", "end", "rrule", "until") if not same_in(
            n, old.summary, event.summary, alliance.timezone)]
        if moved:
            also.append(f"{key} moves with them: {old.when} → {event.when}")
        if not same_field("location", old.summary.get("location"), event.summary.get("location")):
            also.append(f"{key} meets there too: {old.summary.get('location')!r} → "
                        f"{event.summary.get('location')!r}")
    return Pull(new_text, tuple(edits), tuple(left), tuple(also), tuple(adopted), after)


def _dedupe(edits: Sequence[Edit]) -> list[Edit]:
    seen: dict[str, Edit] = {}
    for edit in edits:
        seen[edit.path] = edit  # the last word wins (e.g. a celebration's time, then clock)
    return list(seen.values())


def _events(alliance: Alliance, organizer: str | None, journal: Journal | None
            ) -> dict[str, Event]:
    return {e.key: e for e in schedule(alliance, organizer, journal)}


def _written(alliance: Alliance, text: str, edits: Sequence[Edit]) -> tuple[str, Alliance]:
    """The text with the edits made, checked by tomllib and loaded by the real loader."""
    if not edits:
        return text, alliance
    assigns = [tomledit.Assign(e.path, e.value) for e in edits]
    body = text.removeprefix("\ufeff")
    try:
        new, written = tomledit.apply(body, assigns)
    except ValueError as exc:
        raise AllianceError(f"{alliance.source}: cannot place the pulled values ({exc}) — "
                            "nothing written; edit the file by hand: " + "; ".join(
                                e.because for e in edits)) from None
    tomledit.check_edits(body, new, assigns, written)
    source = alliance.source or Path("<alliance>")
    try:
        loaded = loads(new, source)
    except BadInput as exc:
        raise AllianceError(f"the calendar's values do not make a valid alliance file "
                            f"({exc.problem}, at {exc.key or 'the file'}) — nothing written; "
                            "edit the file by hand, or `setup --force` to put the calendar "
                            "back") from None
    return text[:len(text) - len(body)] + new, loaded


def _pin_review(alliance: Alliance, before: Mapping[str, Event], after: Mapping[str, Event],
                edits: Sequence[Edit]) -> Edit | None:
    review = alliance.review
    if review is None or review.time is not None or any(
            e.path == "review.time" for e in edits):
        return None
    old, new = before.get("review"), after.get("review")
    if old is None or new is None or not isinstance(old.start, datetime) or not isinstance(
            new.start, datetime):
        return None
    if old.start.time() == new.start.time():
        return None
    return Edit("review.time", old.start.time(),
                f"review: stays at {old.start:%H:%M}, where the calendar has it (it "
                "followed the check-ins)")
