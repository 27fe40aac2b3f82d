"""Words for people: event descriptions, the kickoff email, the agreement document, change notes.

Rendered with jinja2 from the package `designed_alliance.templates`; HTML is autoescaped so
nothing a member typed can become markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from designed_alliance.core.records import dataclass

from .durations import describe_duration
from .model import Alliance, Commitment
from .sequence import due_dates

if TYPE_CHECKING:
    import jinja2

DAY_NAMES = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday",
             "FR": "Friday", "SA": "Saturday", "SU": "Sunday"}
ORDINAL_NAMES = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}

REVIEW_QUESTIONS = (
    "Is the goal still the right goal? Has the why changed?",
    "Are the measures telling us what we need to know?",
    "What is working in how we work together? What is not?",
    "Is each of us getting what we asked for, and offering what we promised?",
    "Which assumptions turned out to be wrong?",
    "What do we change in the alliance from today?",
)


@cache
def environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("designed_alliance.templates", ""),
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters["long_date"] = long_date
    env.filters["duration"] = describe_duration
    env.filters["clock"] = lambda t: t.strftime("%H:%M")
    env.filters["toml"] = toml_value
    return env


def toml_value(value: Any) -> str:
    """A TOML literal for a string, number or boolean (JSON's escapes are valid TOML)."""
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _bytecode_cache() -> Any:
    """Compiled templates cached in the user cache dir: compiling is most of a re-run's time."""
    import jinja2

    from designed_alliance.core import userdirs

    folder = userdirs.cache() / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None  # a read-only home only costs speed
    return jinja2.FileSystemBytecodeCache(str(folder))


def render(template: str, context: Context | None = None, **extra: Any) -> str:
    values = dict(context.values() if context else {})
    values.update(extra)
    return environment().get_template(template).render(**values)


class Words:
    """The texts of one alliance's calendar items and kickoff, rendered at most once each.

    Each item's template gets only the values it shows (`checkin`, `commitment`, …), never
    the whole alliance, so those values decide its text: what an earlier run rendered from
    the same template and the same values (`known`, digest → text, see core/rendered.py) is
    used as it is, and only what an edit touched goes through jinja2. `used` is what this
    run rendered or reused, for the next run; `rendered` names the templates it really ran.
    The caller keeps `known` only while code and templates are unchanged.
    """

    def __init__(self, alliance: Alliance, known: Mapping[str, str] | None = None) -> None:
        self.alliance = alliance
        self.context = Context(alliance)
        self.known = known or {}
        self.used: dict[str, str] = {}
        self.rendered: list[str] = []

    def render(self, template: str, **values: Any) -> str:
        key = memo_key(template, values)
        if key is not None and key in self.known:
            text = self.known[key]
        else:
            self.rendered.append(template)
            text = environment().get_template(template).render(**values)
        if key is not None:
            self.used[key] = text
        return text

    # -- what each template shows ---------------------------------------------------------
    def checkin(self) -> str:
        alliance = self.alliance
        assert alliance.checkins is not None
        return self.render(
            "checkin.txt.j2", title=alliance.title, goal=alliance.goal,
            video=alliance.checkins.video, questions=alliance.checkins.questions,
            communication=alliance.communication,
            measures=[{k: m[k] for k in ("name", "baseline", "target", "unit", "by")}
                      for m in self.context.values()["measures"]])

    def commitment(self, commitment: Commitment, due: date,
                   dues: Mapping[str, date | None]) -> str:
        alliance = self.alliance
        return self.render(
            "commitment.txt.j2", what=commitment.what, due=due, hard=commitment.due is not None,
            owner=alliance.member(commitment.owner).name if commitment.owner else "",
            after=alliance.commitment(commitment.after).what if commitment.after else "",
            takes=commitment.takes, notes=commitment.notes,
            waiting=[{"what": c.what, "due": dues.get(c.id)}
                     for c in alliance.dependents.get(commitment.id, ())],
            title=alliance.title, goal_statement=alliance.goal.statement)

    def review(self) -> str:
        alliance = self.alliance
        assert alliance.review is not None
        values = self.context.values()
        checkins = alliance.checkins
        return self.render(
            "review.txt.j2", title=alliance.title, goal_statement=alliance.goal.statement,
            video=alliance.review.video or (checkins.video if checkins else ""),
            questions=values["review"]["questions"], deadline=values["deadline"])

    def celebration(self, done: list[dict[str, Any]] | None = None,
                    results: list[dict[str, Any]] | None = None) -> str:
        alliance = self.alliance
        assert alliance.celebration is not None
        celebration = alliance.celebration
        return self.render(
            "celebration.txt.j2", title=alliance.title, goal=alliance.goal,
            how=celebration.how, where=celebration.where, video=celebration.video,
            done=done or [], results=results or [])

    def kickoff(self, events: list[dict[str, str]], sender: Any) -> tuple[str, str]:
        """The kickoff's text and HTML: the whole agreement, so every value it shows."""
        values = {**self.context.values(), "events": events, "sender": sender}
        return (self.render("kickoff.txt.j2", **values),
                self.render("kickoff.html.j2", **values))


class _Opaque(Exception):
    """A value whose repr may not say all of it: the text is rendered, not looked up."""


_PLAIN = (str, int, float, bool, type(None), date, datetime, time, timedelta)
_EXACTLY_PLAIN = frozenset(_PLAIN)


def memo_key(template: str, values: Mapping[str, Any]) -> str | None:
    """A digest of a template name and the values it is rendered with, or None when a value
    is of a kind whose repr might leave something out (it is then always rendered).

    Plain values, lists, tuples and dicts of them are spelled out; our own dataclasses by
    their generated repr, which lists every field (tests/test_render_memo.py holds them to
    that). Parts are joined by NUL, which no repr contains.
    """
    import hashlib

    parts: list[str] = [template]
    plain = _EXACTLY_PLAIN

    def add(value: Any) -> None:
        kind = type(value)
        if kind in plain or isinstance(value, _PLAIN):
            parts.append(repr(value))
        elif kind is list or kind is tuple:  # not subclasses: a named tuple has names
            if all(type(item) in plain for item in value):
                parts.append(repr(value))  # the common case at C speed: a list of strings
                return
            parts.append("[" if kind is list else "(")
            for item in value:
                add(item)
            parts.append("]")
        elif kind is dict:
            if all(type(name) is str for name in value) and all(
                    type(item) in plain or (type(item) is list and all(
                        type(inner) in plain for inner in item))
                    for item in value.values()):
                parts.append(repr(value))  # one commitment's or measure's words
                return
            parts.append("{")
            for name, item in value.items():
                add(name)
                add(item)
            parts.append("}")
        elif hasattr(kind, "__dataclass_fields__") and kind.__module__.startswith(_OURS):
            parts.append(repr(value))
        else:
            raise _Opaque

    try:
        add(values)
    except _Opaque:
        return None
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


_OURS = __name__.rsplit(".", 2)[0] + "."  # "designed_alliance."


def long_date(day: date | datetime) -> str:
    if isinstance(day, datetime):
        day = day.date()
    return f"{day:%a} {day.day} {day:%b %Y}"


def describe_moment(start: datetime, duration: timedelta) -> str:
    end = start + duration
    return f"{long_date(start)}, {start:%H:%M}–{end:%H:%M} ({start.tzinfo})"


def describe_rule(rule: str) -> str:
    """RRULE → plain words ("every 2 weeks on Monday"); the raw rule where words fail."""
    parts = dict(p.split("=", 1) for p in rule.upper().split(";") if "=" in p)
    freq = parts.get("FREQ", "")
    interval = int(parts.get("INTERVAL", "1"))
    unit = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}.get(freq)
    if unit is None:
        return rule
    text = f"every {unit}" if interval == 1 else f"every {interval} {unit}s"
    if "BYDAY" in parts:
        days = []
        for code in parts["BYDAY"].split(","):
            ordinal, name = code[:-2], DAY_NAMES.get(code[-2:], code[-2:])
            days.append(f"{ORDINAL_NAMES.get(int(ordinal), ordinal)} {name}" if ordinal else name)
        if days == ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]:
            return "every weekday" if interval == 1 else f"{text} on weekdays"
        text += " on " + _join(days)
    if "BYMONTHDAY" in parts:
        text += " on day " + parts["BYMONTHDAY"]
    return text


def describe_series(start: datetime, duration: timedelta, rule: str, timezone: str) -> str:
    end = start + duration
    return (f"{describe_rule(rule)}, {start:%H:%M}–{end:%H:%M} {timezone}, "
            f"from {long_date(start)}")


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


@dataclass(frozen=True)
class Context:
    """The values every template sees, prepared once per alliance."""

    alliance: Alliance

    def values(self) -> dict[str, Any]:
        """The template values; computed on first use, then shared by every render."""
        return self._values

    @cached_property
    def _values(self) -> dict[str, Any]:
        # Computed once per Context: schedule renders one description per commitment, and
        # rebuilding this for each made setup grow with the cube of the commitments.
        alliance = self.alliance
        dues = due_dates(alliance.commitments)
        members = {m.id: m for m in alliance.members}
        waiting = alliance.dependents
        commitments = []
        for c in alliance.commitments:
            commitments.append({
                "id": c.id, "what": c.what, "notes": c.notes,
                "owner": members[c.owner].name if c.owner else "",
                "due": long_date(due) if (due := dues.get(c.id)) else "",
                "hard": c.due is not None,
                "after": alliance.commitment(c.after).what if c.after else "",
                "takes": describe_duration(c.takes) if c.takes else "",
                "dependents": [d.what for d in waiting.get(c.id, ())],
            })
        checkins = None
        if alliance.checkins:
            from .schedule import checkin_rule

            ci = alliance.checkins
            rule = checkin_rule(ci, alliance.starts)
            checkins = {
                "when": describe_rule(rule),
                "time": ci.time.strftime("%H:%M"),
                "duration": describe_duration(ci.duration),
                "where": ci.where, "questions": list(ci.questions),
                "local_times": _local_times(alliance, ci.time),
            }
        celebration = None
        if alliance.celebration:
            cel = alliance.celebration
            day = alliance.celebration_date
            assert day is not None
            celebration = {
                "how": cel.how, "where": cel.where, "date": long_date(day),
                "time": cel.time.strftime("%H:%M") if cel.time else "",
                "duration": describe_duration(cel.duration),
                "at_deadline": cel.on is None,
            }
        review = None
        if alliance.review:
            review = {"every": _review_words(alliance),
                      "questions": list(alliance.review.questions) or list(REVIEW_QUESTIONS)}
        return {
            "alliance": alliance,
            "title": alliance.title,
            "goal": alliance.goal,
            "starts": long_date(alliance.starts),
            "deadline": long_date(alliance.deadline),
            "timezone": alliance.timezone,
            "members": alliance.members,
            "measures": [{
                "name": m.name, "unit": m.unit, "inspect": m.inspect,
                "baseline": _number(m.baseline), "target": _number(m.target),
                "by": long_date(m.by) if m.by else "",
                "owner": members[m.owner].name if m.owner else "",
            } for m in alliance.measures],
            "commitments": commitments,
            "communication": alliance.communication,
            "checkins": checkins,
            "celebration": celebration,
            "review": review,
            "reflection": alliance.reflection,
        }


def _number(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _review_words(alliance: Alliance) -> str:
    """How often and on which day the review is ("every month on first Monday, a check-in
    day"), from the rule the calendar gets: `show` says what the calendar will do."""
    from .schedule import review_series

    assert alliance.review is not None
    series = review_series(alliance)
    if series is None:
        return alliance.review.cadence.describe()
    start, rule, on_checkin_day = series
    words = describe_rule(rule)
    if "BYDAY=" not in rule.upper():
        words += f" on {start:%A}"  # the weekday the first review sets, and keeps
    return words + (", a check-in day" if on_checkin_day else "")


def _local_times(alliance: Alliance, at: Any) -> list[str]:
    """The check-in time as each member elsewhere sees it, on the day it happens.

    Daylight saving starts and ends on different dates in different places (and not at all
    in some), so one start-date figure is wrong for weeks each year: every check-in is
    placed in the member's zone, and each stretch with the same local time gets one phrase
    ("00:30 for Mei (America/Los_Angeles; 01:30 from Mon 15 Mar 2027; 00:30 from …)").
    When it falls on another day there, that day is named ("Sunday 22:15 for Mei").
    """
    zone = ZoneInfo(alliance.timezone)
    occurrences = _checkin_moments(alliance, at)
    seen = []
    for member in alliance.members:
        if not member.timezone or member.timezone == alliance.timezone:
            continue
        theirs = ZoneInfo(member.timezone)
        # Stretches of consecutive check-ins with the same local time and day shift.
        stretches: list[tuple[tuple[Any, int], date, list[str]]] = []
        for moment in occurrences:
            local = moment.replace(tzinfo=zone).astimezone(theirs)
            key = (local.time(), (local.date() - moment.date()).days)
            if stretches and stretches[-1][0] == key:
                if f"{local:%A}" not in stretches[-1][2]:
                    stretches[-1][2].append(f"{local:%A}")
            else:
                stretches.append((key, local.date(), [f"{local:%A}"]))
        phrases: list[str] = []
        for (clock, shift), since, days in stretches:
            order = sorted(days, key=list(DAY_NAMES.values()).index)
            text = f"{_join(order)} {clock:%H:%M}" if shift else f"{clock:%H:%M}"
            phrases.append(f"{text} from {long_date(since)}" if phrases else text)
        where = "; ".join([member.timezone, *phrases[1:]])
        seen.append(f"{phrases[0]} for {member.name} ({where})")
    return seen


def _checkin_moments(alliance: Alliance, at: Any) -> list[datetime]:
    """Every check-in, naive local, from the first to the deadline (the start date alone
    when the rule yields none: the agreement still says what the time means elsewhere)."""
    from dateutil.rrule import rrulestr

    from .schedule import checkin_rule

    assert alliance.checkins is not None
    start = datetime.combine(alliance.starts, at)
    end = datetime.combine(alliance.deadline, datetime.max.time())
    found: list[datetime] = []
    rule = checkin_rule(alliance.checkins, alliance.starts)
    for moment in rrulestr(rule, dtstart=start, ignoretz=True):
        if moment > end or len(found) >= 10_000:
            break
        found.append(moment)
    return found or [start]


def kickoff(alliance: Alliance, events: list, sender: Any, words: Words | None = None
            ) -> Any:
    """The kickoff email: the whole agreement and what is on everyone's calendar."""
    from .items import Message, Person

    listed = [{"title": e.title, "when": e.summary.get("when", "")} for e in events]
    to = tuple(Person(m.name, m.email) for m in alliance.members)
    text, html = (words or Words(alliance)).kickoff(listed, sender)
    return Message(
        alliance_id=alliance.id, key="kickoff",
        subject=f"Our designed alliance: {alliance.title}",
        text=text, html=html, sender=sender, to=to,
    )


def changes(alliance: Alliance, target_changes: list, sender: Any, *,
            teardown: bool = False, reasons: dict[str, str] | None = None) -> Any | None:
    """The change summary for an alliance applied again: what moved, was added, was dropped.

    `target_changes` are the plan's changes for one mail target; None when nothing changed.
    Its Message-ID is derived from the changes themselves, so a run that was interrupted
    after writing it finds it again instead of writing a second one.
    """
    import hashlib

    from .items import Message, Person
    from .plan import Action

    added, moved, dropped = [], [], []
    agreement_changed = False
    for change in target_changes:
        if change.key == "kickoff":
            agreement_changed = change.action is Action.UPDATE
            continue
        was = change.record.summary if change.record else {}
        entry = {"title": change.title, "when": change.when,
                 "was_when": was.get("when", ""), "was_title": was.get("title", ""),
                 "why": (reasons or {}).get(change.key, "")}
        if change.action is Action.CREATE:
            added.append(entry)
        elif change.action is Action.UPDATE:
            moved.append(entry)
        elif change.action is Action.CANCEL:
            dropped.append(entry)
    if not (added or moved or dropped or agreement_changed):
        return None
    context = Context(alliance)
    values = {"added": added, "moved": moved, "dropped": dropped,
              "agreement_changed": agreement_changed, "sender": sender, "teardown": teardown}
    # The SEQUENCE is part of the identity: editing back and forth gives a new summary each
    # time, while a run interrupted after delivering one finds the same key again.
    identity = sorted(
        (c.key, c.action.value, c.sequence,
         c.item.fingerprint if c.item else c.record.fingerprint)
        for c in target_changes if c.item is not None or c.record is not None)
    digest = hashlib.sha256(repr((alliance.id, identity)).encode()).hexdigest()[:24]
    subject = (f"Cancelled: our designed alliance {alliance.title}" if teardown else
               f"Changes to our designed alliance: {alliance.title}")
    return Message(
        alliance_id=alliance.id, key=f"changes-{digest[:12]}",
        msgid=f"<changes.{digest}@designed-alliance>",
        subject=subject,
        text=render("changes.txt.j2", context, **values),
        html=render("changes.html.j2", context, **values),
        sender=sender, to=tuple(Person(m.name, m.email) for m in alliance.members),
    )
