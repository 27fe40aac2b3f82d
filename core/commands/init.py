"""`alliance init`: the designed-alliance conversation as questions; writes a file that loads.

Interactive by default. Each answer is checked at its prompt by the loader itself (the answer
is put into a tiny alliance file and loaded), so a bad one is asked again with the loader's
hint instead of failing after the last question. Answers are saved as they are given (a
0600 JSON file in the user state dir): `alliance init --resume` continues after Ctrl-C or a
failure, and typing `<` (or `back`) at any prompt goes back one question.

`--from-answers answers.json` takes the same answers as JSON (the saved file is one too):

    {"title": "…", "goal": "…", "why": "…", "pain": "…", "timezone": "Europe/Berlin",
     "starts": "2027-01-04", "deadline": "2027-03-31", "review_every": "4 weeks",
     "review_time": "17:00",
     "members": [{"name": "…", "email": "…", "role": "…", "needs": ["…"], "offers": ["…"],
                  "timezone": "…"}],
     "measures": [{"name": "…", "baseline": 0, "target": 10, "unit": "…", "by": "2027-03-15",
                   "owner": "<member id or name>", "inspect": "…"}],
     "commitments": [{"what": "…", "owner": "<member id or name>", "due": "2027-02-01"},
                     {"what": "…", "owner": "…", "after": "<commitment id>", "takes": "2 weeks"}],
     "use": [{"channel": "…", "for": "…", "respond_within": "…"}],
     "avoid": [{"channel": "…", "why": "…"}],
     "checkins": {"every": "week", "day": "monday", "time": "09:30", "duration": "30 minutes",
                  "where": "…", "questions": ["…"]},
     "celebration": {"how": "…", "on": "deadline", "time": "18:00", "duration": "2 hours",
                     "where": "…"}}

Member ids and commitment ids are derived from names unless given as "id". A celebration
without "time" is all day.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from .. import compose
from ..durations import parse_cadence
from ..errors import AllianceError, BadInput
from ..zones import check_zone
from .template import new_id

REFLECTION = (
    "Which other relationships in your life or work would benefit from a designed alliance?",
    "Which assumptions in this one most need busting at the first review?",
    "How will you start the conversation with the others, and when?",
)
DEFAULT_QUESTIONS = ["What moved since last time?", "What is in the way?",
                     "What do you need from me?"]
BACK = ("<", "back")
SAVED_VERSION = 1


class WizardInterrupted(AllianceError):
    """Ctrl-C during the questions: the answers so far are saved; exit 130 like any Ctrl-C."""

    exit_code = 130


def slug(text: str, taken: set[str]) -> str:
    """An id not yet taken, from a name: "Zoë" → "zoe", a second "Zoë" → "zoe-2", "美咲" →
    "m-…" (`core/ids.py: readable_id`, so every script gets an id the loader accepts)."""
    from ..ids import readable_id

    base = readable_id(text)
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def _system_zones() -> list[str]:
    """What the system says its zone is: $TZ, then the /etc/localtime link."""
    names = []
    env = os.environ.get("TZ", "").strip().lstrip(":")
    if env:
        names.append(env)
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            names.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    return names


def local_zone() -> str:
    """The system's zone as a name the loader accepts, else UTC.

    The system may call it "US/Eastern", "EST5EDT" or "posixrules": the loader refuses those,
    so the default would be refused at its own prompt. `suggest_zone` (the loader's helper)
    turns them into the Region/City zone meant; `check_zone` has the final word.
    """
    from ..zones import check_zone, suggest_zone

    for name in _system_zones():
        suggestion = suggest_zone(name)  # None for a POSIX rule like "CET-1CEST,M3.5.0"
        if suggestion is None:
            continue
        try:
            return check_zone(suggestion)
        except BadInput:
            continue
    return "UTC"


def number(value: Any) -> Any:
    """"12" → 12, "4.5" → 4.5: a measure's numbers are written as TOML numbers, not strings."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+)", text):
        return float(text)
    return text


# -- checking an answer with the loader ------------------------------------------------------

_PROBE_BASE: dict[str, Any] = {
    "alliance": {"id": "probe", "title": "Probe", "timezone": "UTC",
                 "starts": date(2000, 1, 3), "deadline": date(2099, 12, 31)},
    "goal": {"statement": "Probe"},
    "members": [{"id": "probe", "name": "Probe", "email": "probe@example.com"}],
}


def _literal(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return compose.toml_value(value)


def _dump(table: dict[str, Any], prefix: str = "") -> list[str]:
    def is_tables(v: Any) -> bool:
        return isinstance(v, list) and bool(v) and all(isinstance(i, dict) for i in v)

    lines = [f"{k} = {_literal(v)}" for k, v in table.items()
             if not isinstance(v, dict) and not is_tables(v)]
    for key, value in table.items():
        if isinstance(value, dict):
            lines += [f"[{prefix}{key}]", *_dump(value, f"{prefix}{key}.")]
        elif is_tables(value):
            for item in value:
                lines += [f"[[{prefix}{key}]]", *_dump(item, f"{prefix}{key}.")]
    return lines


def probe(fragment: dict[str, Any]) -> None:
    """Load a minimal alliance holding `fragment`; raise the loader's BadInput if it fails.

    The loader is the one judge of what a valid answer is, so the wizard cannot accept
    something `alliance check` would then refuse (or refuse what it accepts).
    """
    from ..load import loads

    doc = json.loads(json.dumps(_PROBE_BASE, default=str))  # a deep copy
    doc["alliance"]["starts"] = _PROBE_BASE["alliance"]["starts"]
    doc["alliance"]["deadline"] = _PROBE_BASE["alliance"]["deadline"]
    if "checkins" in fragment or "review" in fragment:
        # A series is judged over one year: a century of weekly check-ins would pass the
        # loader's cap on occurrences for no answer at all. (The whole file, loaded at the
        # end with its real dates, is judged again.)
        doc["alliance"]["deadline"] = date(2001, 1, 2)
    for key, value in fragment.items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key].update(value)
        else:
            doc[key] = value
    loads("\n".join(_dump(doc)) + "\n", "<answer>")


def _as_date(text: str) -> date:
    # The loader reads a quoted date the way it reads a TOML one; normalize for the file.
    probe({"measures": [{"name": "x", "by": text}]})
    return date.fromisoformat(text.strip())


# -- the conversation ------------------------------------------------------------------------

class Back(Exception):
    """The user typed `<`: drop the last answer and ask it again."""


class Session:
    """Asks questions, replaying saved answers first; records every answer as it is given.

    The whole conversation is a function of the list of typed answers (the transcript): to go
    back, the transcript loses its last entry and the conversation is replayed silently up to
    there. Resuming is the same replay, from the saved file.
    """

    def __init__(self, transcript: list[list[str]], save: Callable[[Session], None],
                 *, previous: str | None = None) -> None:
        self.replay = list(transcript)
        self.transcript: list[list[str]] = []
        self.save = save
        self.answers: dict[str, Any] = {}
        self.previous = previous  # the answer being changed after `<`, offered as default
        self.asked = 0  # questions put (replayed ones included): the figure in the report
        self.checked = 0  # of those, how many are checked at the prompt
        self.current = ""

    @property
    def replaying(self) -> bool:
        return bool(self.replay)

    def say(self, text: str = "") -> None:
        if not self.replaying:
            click.echo(text)

    def ask(self, qid: str, prompt: str, *, check: Callable[[str], Any] | None = None,
            default: str | None = None, optional: bool = False,
            show_default: bool = True) -> Any:
        """One question. `check` turns the text into the value or raises BadInput/ValueError;
        an empty answer takes `default`, or is "" when `optional`."""
        self.asked += 1
        self.checked += check is not None
        self.current = prompt.strip()
        if self.replay:
            saved_id, text = self.replay[0]
            if saved_id == qid:
                try:
                    value = self._accept(text, check, optional)
                except (BadInput, ValueError):
                    self.replay.clear()  # the saved answer no longer holds: ask it
                else:
                    self.replay.pop(0)
                    self.transcript.append([qid, text])
                    return value
            else:
                self.replay.clear()  # the conversation took another turn: ask from here
        if self.previous is not None:
            default, self.previous = self.previous, None
        while True:
            text = click.prompt(prompt, default=default or "",
                                show_default=bool(default) and show_default)
            text = text.strip() if text.strip() else (default or "")
            if text.strip().lower() in BACK:
                if self.transcript:
                    raise Back
                click.echo("  (this is the first question)")
                continue
            try:
                value = self._accept(text, check, optional)
            except (BadInput, ValueError) as exc:
                click.echo(f"  {_reason(exc)}")
                continue
            self.transcript.append([qid, text])
            self.save(self)
            return value

    @staticmethod
    def _accept(text: str, check: Callable[[str], Any] | None, optional: bool) -> Any:
        if not text.strip():
            if optional:
                return ""
            raise ValueError("this one needs an answer")
        return check(text) if check else text.strip()

    def confirm(self, qid: str, prompt: str, default: bool) -> bool:
        def yes_no(text: str) -> bool:
            word = text.strip().lower()
            if word in ("y", "yes"):
                return True
            if word in ("n", "no"):
                return False
            raise ValueError("answer y or n (or < to go back)")

        return self.ask(qid, f"{prompt} [{'Y/n' if default else 'y/N'}]", check=yes_no,
                        default="y" if default else "n", show_default=False)

    def many(self, qid: str, prompt: str) -> list[str]:
        """Several answers, one per line; an empty line ends."""
        items: list[str] = []
        while True:
            answer = self.ask(f"{qid}[{len(items)}]", f"{prompt} (empty to finish)",
                              check=_text, optional=True)
            if not answer:
                return items
            items.append(answer)


def _reason(exc: Exception) -> str:
    if isinstance(exc, BadInput):
        return exc.problem + (f" — {exc.hint}" if exc.hint else "")
    problem, _, hint = str(exc).partition("; ")
    return problem + (f" — {hint}" if hint else "")


def _text(text: str) -> str:
    """A single-line answer, refused the way the loader refuses one (placeholders, newlines)."""
    probe({"alliance": {"title": text}})
    return text.strip()


def _choice(options: dict[str, str], *, optional: bool = False) -> Callable[[str], str]:
    """Pick by number, name or id (any case); returns the id."""
    def check(text: str) -> str:
        word = text.strip().lower()
        listed = list(options.items())
        if word.isdigit() and 1 <= int(word) <= len(listed):
            return listed[int(word) - 1][0]
        for key, label in listed:
            if word in (key.lower(), label.lower()):
                return key
        shown = ", ".join(f"{i}) {label}" for i, (_, label) in enumerate(listed, 1))
        raise ValueError(f"{text.strip()!r} is not one of them; pick {shown}"
                         + (" (or leave it empty)" if optional else ""))
    return check


def _zone(text: str) -> str:
    # The loader's own check (with its "did you mean" hint), then the full probe.
    name = check_zone(text)
    probe({"alliance": {"timezone": name}})
    return name


def _probed(table: str, key: str, extra: dict[str, Any] | None = None
            ) -> Callable[[str], str]:
    """A check that runs the loader on `[table] key = <answer>` (plus `extra` keys)."""
    def check(text: str) -> str:
        probe({table: {**(extra or {}), key: text.strip()}})
        return text.strip()
    return check


def _iso_date(text: str) -> str:
    return _as_date(text).isoformat()


def converse(s: Session, today: date) -> dict[str, Any]:
    """The questions, in the order a coach would ask them. Fills `s.answers` as it goes.

    Each section's question ids (`members[0].email`, …) are what a saved transcript replays,
    so they must not change."""
    s.say("Let's design your alliance. Empty answers skip optional questions;"
          " type < to go back one question.\n")
    _ask_goal(s, today)
    people = _ask_members(s)
    _ask_measures(s, people)
    _ask_commitments(s, people)
    _ask_communication(s)
    _ask_checkins(s)
    _ask_celebration(s)
    return s.answers


def _ask_goal(s: Session, today: date) -> None:
    a = s.answers
    s.say("1. The goal")
    a["title"] = s.ask("alliance.title", "What do you call this alliance", check=_text)
    a["goal"] = s.ask("goal.statement", "What is the goal, in one sentence", check=_text)
    a["why"] = s.ask("goal.why", "Why does it matter", check=_text, optional=True)
    a["pain"] = s.ask("goal.pain", "What pain does it relieve", check=_text, optional=True)
    a["timezone"] = s.ask("alliance.timezone", "Time zone", check=_zone, default=local_zone())
    a["starts"] = s.ask("alliance.starts", "Start date", default=today.isoformat(),
                        check=_iso_date)
    starts = date.fromisoformat(a["starts"])

    def deadline(text: str) -> str:
        probe({"alliance": {"starts": starts, "deadline": text.strip()}})
        return _as_date(text).isoformat()

    a["deadline"] = s.ask("alliance.deadline", "Deadline", check=deadline,
                          default=(starts + timedelta(weeks=12)).isoformat())


def _email(text: str) -> str:
    probe({"members": [{"id": "x", "name": "x", "email": text.strip()}]})
    return text.strip()


def _ask_members(s: Session) -> dict[str, str]:
    """Members, at least two offered by default; returns id → name for later choices."""
    a = s.answers
    s.say("\n2. Who is in it — and what each needs and offers")
    members: list[dict[str, Any]] = []
    a["members"] = members
    taken: set[str] = set()
    while True:
        i = len(members)
        name = s.ask(f"members[{i}].name", f"Member {i + 1}: name", check=_text)
        member: dict[str, Any] = {"name": name}
        member["email"] = s.ask(f"members[{i}].email", "  email", check=_email)
        member["timezone"] = s.ask(f"members[{i}].timezone", "  their time zone", check=_zone,
                                   default=a["timezone"])
        member["role"] = s.ask(f"members[{i}].role", "  their role (e.g. coach, designer)",
                               check=_text, optional=True)
        member["needs"] = s.many(f"members[{i}].needs", "  what do they need from the others")
        member["offers"] = s.many(f"members[{i}].offers", "  what do they offer in return")
        member["id"] = slug(name.split()[0], taken)
        members.append(member)
        if not s.confirm(f"members[{i}].more", "Add another member?", len(members) < 2):
            break
    return {m["id"]: m["name"] for m in members}


def _amount(key: str) -> Callable[[str], Any]:
    def check(text: str) -> Any:
        probe({"measures": [{"name": "x", key: number(text)}]})
        return number(text)
    return check


def _ask_measures(s: Session, people: dict[str, str]) -> None:
    a = s.answers
    s.say("\n3. How will you measure progress? (inspect what you expect)")
    measures: list[dict[str, Any]] = []
    a["measures"] = measures
    while s.confirm(f"measures[{len(measures)}].add", "Add a measure?", not measures):
        i = len(measures)
        measure: dict[str, Any] = {"name": s.ask(f"measures[{i}].name", "  what do you count",
                                                 check=_text)}
        measure["unit"] = s.ask(f"measures[{i}].unit", "  in what unit (e.g. pages, kg)",
                                check=_text, optional=True)
        measure["baseline"] = s.ask(f"measures[{i}].baseline", "  where are you today",
                                    check=_amount("baseline"), default="0")
        measure["target"] = s.ask(f"measures[{i}].target", "  what number means success",
                                  check=_amount("target"))
        measure["by"] = s.ask(f"measures[{i}].by", "  by when", default=a["deadline"],
                              check=_iso_date)
        measure["owner"] = s.ask(f"measures[{i}].owner", "  who keeps count ("
                                 + ", ".join(people.values()) + "; empty: nobody)",
                                 check=_choice(people, optional=True), optional=True)
        measure["inspect"] = s.ask(f"measures[{i}].inspect", "  how and when do you look at it",
                                   check=_text, optional=True)
        measures.append(measure)


def _takes(text: str) -> str:
    # A duration is only valid on a sequenced commitment, so probe a minimal sequence.
    probe({"commitments": [{"id": "a", "what": "a", "due": date(2000, 1, 10)},
                           {"id": "b", "what": "b", "after": "a", "takes": text.strip()}]})
    return text.strip()


def _ask_commitments(s: Session, people: dict[str, str]) -> None:
    a = s.answers
    s.say("\n4. Who does what, and when")
    commitments: list[dict[str, Any]] = []
    a["commitments"] = commitments
    taken: set[str] = set()
    while s.confirm(f"commitments[{len(commitments)}].add", "Add a commitment?",
                    not commitments):
        i = len(commitments)
        what = s.ask(f"commitments[{i}].what", "  what will be done", check=_text)
        item: dict[str, Any] = {"what": what}
        item["owner"] = s.ask(f"commitments[{i}].owner",
                              "  who does it (" + ", ".join(people.values()) + ")",
                              check=_choice(people))
        if commitments and s.confirm(f"commitments[{i}].sequenced",
                                     "  does it start after another commitment?", False):
            earlier = {c["id"]: c["what"] for c in commitments}
            item["after"] = s.ask(f"commitments[{i}].after",
                                  "  after which one (" + ", ".join(earlier.values()) + ")",
                                  check=_choice(earlier))
            item["takes"] = s.ask(f"commitments[{i}].takes", "  how long does it take",
                                  check=_takes, default="2 weeks")
        else:
            item["due"] = s.ask(f"commitments[{i}].due", "  due date", check=_iso_date)
        item["id"] = slug(what, taken)
        commitments.append(item)


def _within(text: str) -> str:
    probe({"communication": {"use": [{"channel": "x", "respond_within": text}]}})
    return text.strip()


def _ask_communication(s: Session) -> None:
    a = s.answers
    s.say("\n5. How will you communicate?")
    a["use"], a["avoid"] = [], []
    while s.confirm(f"use[{len(a['use'])}].add", "Add a channel you use?", not a["use"]):
        i = len(a["use"])
        a["use"].append({
            "channel": s.ask(f"use[{i}].channel", "  channel (e.g. Slack)", check=_text),
            "for": s.ask(f"use[{i}].for", "  for what", check=_text, optional=True),
            "respond_within": s.ask(f"use[{i}].respond_within", "  answer within",
                                    check=_within, default="1 day"),
        })
    while s.confirm(f"avoid[{len(a['avoid'])}].add", "Add a channel you avoid?", False):
        i = len(a["avoid"])
        a["avoid"].append({
            "channel": s.ask(f"avoid[{i}].channel", "  channel", check=_text),
            "why": s.ask(f"avoid[{i}].why", "  why not", check=_text, optional=True),
        })


def _ask_checkins(s: Session) -> None:
    a = s.answers
    s.say("\nWhen do you check in?")
    checkins: dict[str, Any] = {}
    a["checkins"] = checkins
    checkins["every"] = s.ask("checkins.every", "  how often (week, 2 weeks, month, weekday)",
                              check=_probed("checkins", "every"), default="week")
    daily = parse_cadence(checkins["every"]).freq == "DAILY"  # a day makes no sense then

    def day(text: str) -> Any:
        value: Any = int(text) if text.strip().isdigit() else text.strip()
        probe({"checkins": {"every": checkins["every"], "day": value}})
        return value

    checkins["day"] = "" if daily else s.ask(
        "checkins.day", "  on which day (monday; monthly: 15 or first monday)", check=day,
        default="monday")
    weekly = {"every": "week"}
    checkins["time"] = s.ask("checkins.time", "  at what time", default="09:30",
                             check=_probed("checkins", "time", weekly))
    checkins["duration"] = s.ask("checkins.duration", "  for how long", default="30 minutes",
                                 check=_probed("checkins", "duration", weekly))
    checkins["where"] = s.ask("checkins.where", "  where (room or video link)", check=_text,
                              optional=True)
    checkins["questions"] = (s.many("checkins.questions", "  a question to ask at each check-in")
                             or DEFAULT_QUESTIONS)
    a["review_every"] = s.ask("alliance.review_every",
                              "How often do you review the alliance itself",
                              check=_probed("alliance", "review_every"), default="4 weeks")
    a["review_time"] = s.ask("review.time", "  at what time (empty: right after the check-in)",
                             check=_probed("review", "time", {"every": "4 weeks"}),
                             optional=True)


def _on(text: str) -> str:
    if text.strip().lower() == "deadline":
        return "deadline"
    probe({"celebration": {"how": "x", "on": text.strip()}})
    return _as_date(text).isoformat()


def _ask_celebration(s: Session) -> None:
    s.say("\n6. How will you celebrate success?")
    celebration: dict[str, Any] = {}
    s.answers["celebration"] = celebration
    celebration["how"] = s.ask("celebration.how", "  how", check=_text)
    celebration["on"] = s.ask("celebration.on", "  on which date", check=_on, default="deadline")
    party = {"how": "x"}
    celebration["time"] = s.ask("celebration.time", "  at what time (empty: all day)",
                                check=_probed("celebration", "time", party), optional=True)
    if celebration["time"]:
        celebration["duration"] = s.ask("celebration.duration", "  for how long",
                                        check=_probed("celebration", "duration", party),
                                        default="2 hours")
    celebration["where"] = s.ask("celebration.where", "  where", check=_text, optional=True)


# -- saving answers as they are given --------------------------------------------------------

def saved_path(file: Path) -> Path:
    """Where the answers for `file` are kept between runs (one file per target path)."""
    from designed_alliance.core import userdirs

    resolved = str(file.expanduser().resolve())
    digest = hashlib.sha256(resolved.encode()).hexdigest()[:10]
    return userdirs.state() / "init" / f"{file.stem}-{digest}.json"


def write_private(path: Path, text: str) -> None:
    """Atomically, 0600 from the start: the answers hold people's names and addresses."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def snapshot(session: Session, file: Path, *, complete: bool) -> dict[str, Any]:
    return {**session.answers,
            "_wizard": {"version": SAVED_VERSION, "file": str(file), "complete": complete,
                        "saved": datetime.now().isoformat(timespec="seconds"),
                        "transcript": session.transcript}}


def read_saved(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput("file not found", file=path, hint="check the path") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"is not valid JSON ({exc.msg})", file=path, line=exc.lineno,
                       hint="fix the JSON at that line") from None
    return data


def _transcript(data: Any, path: Path) -> list[list[str]] | None:
    """The saved conversation, when `data` is an unfinished wizard's save; else None."""
    wizard = data.get("_wizard") if isinstance(data, dict) else None
    if not isinstance(wizard, dict) or wizard.get("complete"):
        return None
    steps = wizard.get("transcript")
    if not isinstance(steps, list) or not all(
            isinstance(s, list) and len(s) == 2 and all(isinstance(x, str) for x in s)
            for s in steps):
        raise BadInput("has a damaged transcript", file=path, key="_wizard.transcript",
                       hint="start again with `alliance init`")
    return steps


# -- shaping and writing ---------------------------------------------------------------------

def _need(answers: dict[str, Any], key: str, kind: type, where: Path) -> Any:
    value = answers.get(key)
    if not isinstance(value, kind):
        names: dict[type, str] = {str: "a string", list: "a list", dict: "an object"}
        raise BadInput(f"must be {names.get(kind, kind.__name__)}", file=where, key=key,
                       hint="see `alliance init --help` for the answers format")
    return value


def shape(answers: dict[str, Any], source: Path) -> dict[str, Any]:
    """Answers → the values the template writes: ids derived, names resolved."""
    if not isinstance(answers, dict):
        raise BadInput("must be a JSON object", file=source,
                       hint="see `alliance init --help` for the answers format")
    answers = {k: v for k, v in answers.items() if k != "_wizard"}
    for key in ("title", "goal", "timezone", "starts", "deadline"):
        _need(answers, key, str, source)
    members_in = _need(answers, "members", list, source)
    taken: set[str] = set()
    members = []
    by_name: dict[str, str] = {}
    for i, member in enumerate(members_in):
        if not isinstance(member, dict) or not isinstance(member.get("name"), str):
            raise BadInput("needs a name", file=source, key=f"members[{i}].name",
                           hint='give each member {"name": …, "email": …}')
        member_id = member.get("id") or slug(member["name"].split()[0], taken)
        taken.add(member_id)
        by_name[member["name"]] = member_id
        by_name[member_id] = member_id
        zone = member.get("timezone") or None
        members.append({"role": "", **member, "id": member_id,
                        "needs": member.get("needs") or [], "offers": member.get("offers") or [],
                        # The alliance's own zone is the default: writing it again is noise.
                        "timezone": None if zone == answers["timezone"] else zone})
    taken_c: set[str] = set()
    commitments = []
    by_what: dict[str, str] = {}
    for i, item in enumerate(answers.get("commitments") or []):
        if not isinstance(item, dict) or not isinstance(item.get("what"), str):
            raise BadInput("needs `what`", file=source, key=f"commitments[{i}].what",
                           hint='give each commitment {"what": …, "owner": …, "due": …}')
        commitment_id = item.get("id") or slug(item["what"], taken_c)
        taken_c.add(commitment_id)
        by_what[item["what"]] = commitment_id
        by_what[commitment_id] = commitment_id
        owner = by_name.get(str(item.get("owner", "")), str(item.get("owner", "")))
        commitments.append({**item, "id": commitment_id, "owner": owner})
    for item in commitments:
        if item.get("after"):
            item["after"] = by_what.get(item["after"], item["after"])
    checkins = {"every": "week", "day": "", "time": "09:00", "duration": "30 minutes",
                "where": "", "questions": DEFAULT_QUESTIONS, **(answers.get("checkins") or {})}
    celebration = {"on": "deadline", "time": "", "duration": "", "where": "",
                   **(answers.get("celebration") or {"how": "Celebrate"})}
    measures = []
    for m in _dicts(answers, "measures", source):
        measure_owner = m.get("owner")
        measures.append({"baseline": None, "target": None, "unit": "", "by": None,
                         "inspect": "", **m,
                         "owner": by_name.get(str(measure_owner), str(measure_owner))
                         if measure_owner else "",
                         "baseline_value": number(m.get("baseline")),
                         "target_value": number(m.get("target"))})
    # Every optional answer gets its empty default, so the template can test for it.
    return {
        "why": "", "pain": "", "review_every": "", "review_time": "", **answers,
        "members": [{"timezone": None, **m} for m in members],
        "commitments": [{"due": None, "after": None, "takes": None, **c} for c in commitments],
        "measures": measures,
        "use": [{"for": "", "respond_within": "", **u} for u in _dicts(answers, "use", source)],
        "avoid": [{"why": "", **v} for v in _dicts(answers, "avoid", source)],
        "checkins": checkins, "celebration": celebration,
    }


def _dicts(answers: dict[str, Any], key: str, source: Path) -> list[dict[str, Any]]:
    items = answers.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BadInput("must be a list of objects", file=source, key=key,
                       hint="see `alliance init --help` for the answers format")
    return items


def render(answers: dict[str, Any], filename: str) -> str:
    return compose.render("init.toml.j2", a=answers, id=new_id(answers["title"]),
                          today=date.today().isoformat(), filename=filename)


def _interview(file: Path, transcript: list[list[str]], saved: Path) -> tuple[str, Any]:
    """Ask (replaying `transcript` first) until the answers make a file that loads."""
    from ..load import loads

    previous: str | None = None
    if not sys.stdin.isatty():
        click.echo("alliance: stdin is not a terminal; reading answers from it (to script "
                   "this, use --from-answers answers.json)", err=True)
    while True:
        session = Session(transcript, lambda s: write_private(
            saved, json.dumps(snapshot(s, file, complete=False), indent=2, ensure_ascii=False)),
            previous=previous)
        try:
            answers = converse(session, date.today())
        except Back:
            transcript = session.transcript[:-1]
            previous = session.transcript[-1][1]
            continue
        except click.Abort as exc:
            click.echo("", err=True)  # end the half-typed prompt line
            resume = f"alliance init {file} --resume"
            # Ctrl-D at a terminal is a choice to stop, like Ctrl-C; elsewhere the input ran out.
            if isinstance(exc.__context__, EOFError) and not sys.stdin.isatty():
                raise BadInput(f"the input ended at question {session.asked} "
                               f"({session.current!r}) before the wizard finished",
                               hint="run it in a terminal, or give the answers as JSON: "
                               f"alliance init {file} --from-answers answers.json "
                               f"(the answers so far are saved: {resume})") from None
            raise WizardInterrupted(f"interrupted at question {session.asked}; the answers "
                                    f"so far are saved in {saved} — continue with: "
                                    f"{resume}") from None
        shaped = shape(answers, saved)
        text = render(shaped, file.name)
        try:
            alliance = loads(text, file)
        except BadInput as exc:
            # Rare (each answer was checked): send the user back to the answer it names.
            click.echo(f"\nThat would not load: {_reason(exc)}")
            steps = session.transcript
            cut = next((i for i, (qid, _) in enumerate(steps) if exc.key and (
                qid == exc.key or qid.startswith(exc.key + "."))), len(steps) - 1)
            transcript, previous = steps[:cut], steps[cut][1]
            continue
        write_private(saved, json.dumps(snapshot(session, file, complete=True), indent=2,
                                        ensure_ascii=False))
        click.echo(f"\n({session.asked} questions, {session.checked} checked as typed)")
        return text, alliance


def run(file: Path, *, answers_file: Path | None, force: bool, resume: bool = False) -> None:
    from ..check import check
    from ..load import loads

    if file.exists() and not force:
        raise BadInput("already exists", file=file,
                       hint="choose another name, or add --force to replace it")
    saved = saved_path(file)
    transcript: list[list[str]] | None = None
    if resume:
        if not saved.exists():
            raise BadInput("has no saved answers to resume", file=file,
                           hint=f"start with: alliance init {file}")
        transcript = _transcript(read_saved(saved), saved) or []
        if not transcript:  # a finished save: write it again from its answers
            answers_file = saved
    elif answers_file is not None:
        raw = read_saved(answers_file)
        transcript = _transcript(raw, answers_file)
    elif saved.exists():
        click.echo(f"alliance: answers from an earlier run are saved for {file}; to continue "
                   f"them use: alliance init {file} --resume (starting over)", err=True)

    if answers_file is not None and transcript is None:
        answers = shape(read_saved(answers_file), answers_file)
        text = render(answers, file.name)
        # Validate before writing anything: the answers become the file only if it loads.
        try:
            alliance = loads(text, file)
        except BadInput as exc:
            raise BadInput(exc.problem, file=answers_file, key=exc.key, hint=exc.hint) from None
    else:
        text, alliance = _interview(file, transcript or [], saved)
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)  # an alliance file is shared with its members: mkstemp made it 0600
    os.replace(tmp, file)
    saved.unlink(missing_ok=True)  # done: a later `init` of this file starts afresh
    click.echo(f"\nWrote {file} ({alliance.title!r}, {len(alliance.members)} members).")
    findings = check(alliance)
    if findings:
        click.echo("\nWhat a coach would ask about it:")
        for finding in findings:
            click.echo(f"  - {finding.message}")
    click.echo(f"\nNext: alliance plan {file}   then   alliance setup {file}")
    click.echo("\nBefore you go:")
    for question in REFLECTION:
        click.echo(f"  - {question}")
