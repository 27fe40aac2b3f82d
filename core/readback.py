"""What the calendars say back: the members' answers turned into a table and busters.

Pure functions over what a target's `responses` hook returned; reading happens in the target,
storing the sync point in `core.commands.progress`. The busters are drawn from reality, the
way a coach would say them: who has not answered, who keeps declining one weekday's
check-in, and — once everyone accepted the check-ins and the review — that the alliance is
agreed by everyone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from designed_alliance.core.records import dataclass

from .items import Event
from .model import Alliance
from .target import DeclinedOccurrence, Response, ResponsesResult

LAST = 3  # "declined 2 of the last 3 Thursday check-ins"
AGREED_KEYS = ("checkins", "review")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class ReadBack:
    target: str
    responses: tuple[Response, ...]
    declined: tuple[DeclinedOccurrence, ...]
    busters: tuple[str, ...]
    requests: int
    incremental: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "target": self.target,
            "responses": [{"key": r.key, "email": r.email, "response": r.response}
                          for r in self.responses],
            "declined_occurrences": [{"key": d.key, "email": d.email, "start": d.start}
                                     for d in self.declined],
            "busters": list(self.busters),
            "read": {"requests": self.requests, "incremental": self.incremental},
        }


def _label(key: str, events: dict[str, Event]) -> str:
    if key == "checkins":
        return "the check-in series"
    if key == "review":
        return "the alliance review" + (" series" if events.get(key) and events[key].rrule
                                        else "")
    event = events.get(key)
    return f"“{event.title}”" if event else key


def _occurrences(event: Event, until: date) -> list[str]:
    """Local wall times (YYYY-MM-DDTHH:MM) of a series' occurrences up to `until`."""
    from dateutil.rrule import rrulestr

    if not event.rrule or not isinstance(event.start, datetime):
        return []
    out = []
    for moment in rrulestr(event.rrule, dtstart=event.start):
        if moment.date() > until:
            break
        out.append(moment.strftime("%Y-%m-%dT%H:%M"))
    return out


def busters(alliance: Alliance, events: Sequence[Event], result: ResponsesResult, on: date
            ) -> list[str]:
    names = {m.email.lower(): m.name.split()[0] for m in alliance.members}
    by_key = {e.key: e for e in events}
    out: list[str] = []
    for r in result.responses:
        if r.key not in AGREED_KEYS:
            continue  # deadlines and the party: the table shows them, no need to nag
        who = names.get(r.email, r.email)
        if r.response == "needs-action":
            out.append(f"{who} has not answered {_label(r.key, by_key)}")
        elif r.response == "declined":
            out.append(f"{who} declined {_label(r.key, by_key)}")
    declined: dict[tuple[str, str], set[str]] = {}
    for d in result.declined_occurrences:
        declined.setdefault((d.key, d.email), set()).add(d.start)
    for (key, email), starts in declined.items():
        event = by_key.get(key)
        if event is None:
            continue
        past = _occurrences(event, on)
        weekdays = sorted({datetime.fromisoformat(s).weekday() for s in starts})
        for weekday in weekdays:
            last = [s for s in past if datetime.fromisoformat(s).weekday() == weekday][-LAST:]
            count = sum(1 for s in last if s in starts)
            if count >= 2:
                what = "check-ins" if key == "checkins" else f"occurrences of {event.title}"
                out.append(f"{names.get(email, email)} declined {count} of the last "
                           f"{len(last)} {WEEKDAYS[weekday]} {what}")
    answered = {(r.key, r.email): r.response for r in result.responses}
    agreed_keys = [k for k in AGREED_KEYS if k in by_key]
    invited = {e for (k, e) in answered if k in agreed_keys}
    if agreed_keys and invited and all(
            answered.get((k, e)) == "accepted" for k in agreed_keys for e in invited):
        out.append("the alliance is agreed by everyone")
    return out


def read_back(target: str, alliance: Alliance, events: Sequence[Event],
              result: ResponsesResult, on: date) -> ReadBack:
    return ReadBack(target, result.responses, result.declined_occurrences,
                    tuple(busters(alliance, events, result, on)), result.requests,
                    result.incremental)


def render(alliance: Alliance, read: ReadBack) -> str:
    names = {m.email.lower(): m.name for m in alliance.members}
    lines = ["", f"Responses ({read.target})"]
    if not read.responses:
        lines.append("  (nobody is invited to what was set up)")
    width = max((len(r.key) for r in read.responses), default=0)
    who_width = max((len(names.get(r.email, r.email)) for r in read.responses), default=0)
    last = None
    for r in read.responses:
        key = r.key if r.key != last else ""
        last = r.key
        lines.append(f"  {key:<{width}}  {names.get(r.email, r.email):<{who_width}}  "
                     f"{r.response}")
    if read.declined:
        lines.append("")
        lines.append("Declined occurrences")
        for d in read.declined:
            lines.append(f"  {d.key}  {names.get(d.email, d.email)}  {d.start.replace('T', ' ')}")
    if read.busters:
        lines.append("")
        lines.append("From the calendar")
        lines.extend(f"  {b}" for b in read.busters)
    return "\n".join(lines) + "\n"
