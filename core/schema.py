"""The alliance file's keys, as the loader itself reads them: the source of the reference.

The loader declares no schema; it asks a `Reader` for each key it knows. So the key list is
taken by running the loader over a small file with a reader that writes down every key asked
for (its table, its kind, whether it is required). A key added to `load.py` shows up here by
itself; only its one-line description lives below, and a test fails when one is missing.
`alliance template --full` and docs/alliance-file.md are generated from `schema()`.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from designed_alliance.core.records import dataclass

from .reader import Reader


@dataclass(frozen=True)
class Key:
    table: str  # "alliance", "members", "communication.use", "" for the top level
    name: str
    kind: str  # text, texts, date, time, duration, cadence, table, tables, …
    required: bool
    description: str


# The words are the only hand-written part. Keys are "table.key"; "[]" marks arrays of tables.
DESCRIPTIONS: dict[str, str] = {
    "alliance": "The alliance itself: what it is called, its dates and time zone.",
    "alliance.id": "Stable id of the alliance; every calendar object is tagged with it. "
                   "Keep it when you edit the file (`alliance init` generates one).",
    "alliance.title": "What you call this alliance; the title of every event.",
    "alliance.timezone": 'IANA time zone the times are in, like "America/New_York".',
    "alliance.starts": "The first day (a TOML date, 2027-01-04).",
    "alliance.deadline": "The hard end; the celebration goes here unless it has its own date.",
    "alliance.review_every": 'How often you review the alliance itself: "4 weeks", "month".',
    "goal": "What the goal is and why it matters.",
    "goal.statement": "The goal, in one sentence.",
    "goal.why": "Why it matters to you.",
    "goal.pain": "The pain it relieves, when the why is a problem.",
    "members": "One [[members]] table per person in the alliance.",
    "members[].id": "Short id, used by `owner` and in file names.",
    "members[].name": "The person's name, as the invites show it.",
    "members[].email": "Where invites and the kickoff go.",
    "members[].timezone": "Their time zone, when it differs from the alliance's.",
    "members[].role": "Their role in the alliance (coach, designer, …).",
    "members[].needs": "What they need from the others.",
    "members[].offers": "What they offer in return (whatever you ask, be ready to offer).",
    "measures": "How progress is measured: inspect what you expect.",
    "measures[].name": "What you count.",
    "measures[].id": "A short id for `alliance log FILE ID VALUE` (else the name is used).",
    "measures[].baseline": "Where you are today (a number, or words).",
    "measures[].target": "What means success (a number, or words).",
    "measures[].unit": 'The unit of the numbers ("pages", "kg").',
    "measures[].by": "The date the target is due.",
    "measures[].inspect": "How and when you look at it.",
    "measures[].owner": "The member id of who keeps count.",
    "commitments": "Who does what, and when: a hard `due`, or `after` + `takes`.",
    "commitments[].id": "Short id, used by `after` and in the event's key.",
    "commitments[].what": "What will be done.",
    "commitments[].owner": "The member id of who does it.",
    "commitments[].due": "A hard deadline (a date).",
    "commitments[].after": "The id of the commitment this one starts after.",
    "commitments[].takes": 'How long it takes once `after` is done: "2 weeks", "3 days".',
    "commitments[].notes": "Anything else about it (may span lines).",
    "communication": "How you communicate, and how you do not.",
    "communication.use": "Channels you use: { channel, for, respond_within }.",
    "communication.use[].channel": 'The channel ("Slack", "phone").',
    "communication.use[].for": "What it is for.",
    "communication.use[].respond_within": 'How fast you answer there ("4 hours").',
    "communication.avoid": "Channels you do not use: { channel, why }.",
    "communication.avoid[].channel": "The channel you avoid.",
    "communication.avoid[].why": "Why not.",
    "communication.notes": "Anything else about how you communicate.",
    "checkins": "The recurring check-in series.",
    "checkins.every": 'How often: "week", "2 weeks", "month", "day", "weekday".',
    "checkins.rrule": 'Instead of `every` + `day`: a raw RFC 5545 rule, "FREQ=WEEKLY;BYDAY=MO,TH".',
    "checkins.day": 'Which day: "monday", ["monday", "thursday"]; monthly: 15 or "first monday".',
    "checkins.time": 'Start time, 24-hour "HH:MM" (default 09:00).',
    "checkins.duration": 'How long: "30 minutes" (the default), "1 hour".',
    "checkins.where": "A room or a video link.",
    "checkins.questions": "Questions every check-in asks.",
    "checkins.video": 'The video call: "google-meet" (Google makes a Meet link, with --to '
                      'google), "teams" (a Teams meeting, with --to outlook) or a meeting URL '
                      '("https://zoom.us/j/123", written into every calendar and mail).',
    "checkins.color": 'How check-ins look in the calendar: a CSS3 colour name (default '
                      '"royalblue"); Google and Outlook show their nearest colour.',
    "celebration": "How you celebrate success.",
    "celebration.how": "How you will celebrate.",
    "celebration.on": 'A date, or "deadline" (the default).',
    "celebration.time": 'Start time "HH:MM"; leave it out for an all-day celebration.',
    "celebration.duration": 'How long, when it has a time (default "2 hours").',
    "celebration.where": "Where.",
    "celebration.video": 'A video call for those who join from afar: "google-meet", "teams" '
                         "or a meeting URL.",
    "celebration.color": 'Its colour in the calendar, a CSS3 name (default "gold").',
    "review": "The review of the alliance itself, when it needs more than `review_every`.",
    "review.every": "How often, when [alliance] has no `review_every`.",
    "review.duration": 'How long (default "30 minutes").',
    "review.time": '"HH:MM"; without it the review follows the check-in on that day.',
    "review.questions": "Questions for the review (default: the coach's review questions).",
    "review.video": 'Its video call, when not the check-ins\' one: "google-meet", "teams" or '
                    "a meeting URL.",
    "review.color": 'Its colour in the calendar, a CSS3 name (default "darkorchid").',
    "colors": "Colours of the events that have no table of their own.",
    "colors.deadlines": 'The colour of every commitment\'s deadline, a CSS3 name (default '
                        '"crimson").',
    "reflection": "Questions to take with you, shown in the agreement.",
}

# Example values for `alliance template --full` (TOML literals). Required keys hold "<…>"
# placeholders the loader refuses until they are replaced; optional ones are commented out.
EXAMPLES: dict[str, str] = {
    "alliance.id": '"{id}"', "alliance.title": '"<What you call this alliance>"',
    "alliance.timezone": '"{timezone}"', "alliance.starts": "{starts}",
    "alliance.deadline": "{deadline}", "alliance.review_every": '"4 weeks"',
    "goal.statement": '"<The goal, in one sentence>"', "goal.why": '"<Why it matters>"',
    "goal.pain": '"<What hurts today>"',
    "members[].id": '"me"', "members[].name": '"<Your name>"',
    "members[].email": '"<you@example.com>"', "members[].timezone": '"Europe/Berlin"',
    "members[].role": '"organizer"', "members[].needs": '["<What you need>"]',
    "members[].offers": '["<What you offer in return>"]',
    "measures[].name": '"<What you count>"', "measures[].id": '"pages"',
    "measures[].baseline": "0",
    "measures[].target": "10", "measures[].unit": '"pages"', "measures[].by": "{deadline}",
    "measures[].inspect": '"At every check-in"', "measures[].owner": '"me"',
    "commitments[].id": '"first-step"', "commitments[].what": '"<The first thing to do>"',
    "commitments[].owner": '"me"', "commitments[].due": "{deadline}",
    "commitments[].after": '"<id of an earlier commitment>"',
    "commitments[].takes": '"2 weeks"', "commitments[].notes": '"<Anything else>"',
    "communication.use": '[{{ channel = "<Chat tool>", for = "day-to-day questions", '
                         'respond_within = "1 day" }}]',
    "communication.avoid": '[{{ channel = "<Channel you will not use>", why = "<why not>" }}]',
    "communication.notes": '"<Anything else>"',
    "checkins.every": '"week"', "checkins.rrule": '"FREQ=WEEKLY;BYDAY=MO,TH"',
    "checkins.day": '"monday"', "checkins.time": '"09:30"',
    "checkins.duration": '"30 minutes"', "checkins.where": '"<Video link or room>"',
    "checkins.questions": '["What moved since last time?", "What is in the way?"]',
    "checkins.video": '"https://meet.example.com/our-alliance"', "checkins.color": '"royalblue"',
    "celebration.video": '"google-meet"', "celebration.color": '"gold"',
    "review.video": '"teams"', "review.color": '"darkorchid"',
    "colors.deadlines": '"crimson"',
    "celebration.how": '"<How you will celebrate>"', "celebration.on": '"deadline"',
    "celebration.time": '"18:00"', "celebration.duration": '"2 hours"',
    "celebration.where": '"<Where>"',
    "review.every": '"4 weeks"', "review.duration": '"45 minutes"', "review.time": '"17:00"',
    "review.questions": '["Is the goal still the right goal?"]',
    "reflection": '["Which assumptions most need busting?"]',
}
# Optional keys written uncommented in --full: the file is meant to show a whole alliance.
SHOWN = {"alliance.review_every", "checkins.every", "checkins.day", "checkins.time",
         "checkins.duration", "measures[].baseline", "measures[].target", "measures[].by",
         "commitments[].owner", "commitments[].due", "communication.use", "celebration.on"}
# Optional tables left out of --full (shown commented): they repeat what others set.
COMMENTED_TABLES = {"review"}

# A file that reaches every `reader.…` call in load.py: each table present, each list of
# tables with one entry. Values are examples; `alliance template --full` reuses them.
_SAMPLE = """
reflection = ["Which assumptions most need busting?"]
[alliance]
id = "x"
title = "x"
timezone = "UTC"
starts = 2027-01-04
deadline = 2027-03-31
[goal]
statement = "x"
[[members]]
id = "a"
name = "x"
email = "a@example.com"
[[measures]]
name = "x"
[[commitments]]
id = "c"
what = "x"
due = 2027-02-01
[communication]
use = [{ channel = "x" }]
avoid = [{ channel = "x" }]
[checkins]
every = "week"
[celebration]
how = "x"
[review]
every = "4 weeks"
[colors]
"""

_KINDS = {"text": "text", "texts": "list of text", "date": "date", "clock": "time",
          "table": "table", "tables": "array of tables"}


class _TracingReader(Reader):
    """A Reader that records each key the loader asks for, with how it asks."""

    def __init__(self, data: dict[str, Any], path: str, file: Path, lines: Mapping[str, int],
                 log: dict[tuple[str, str], tuple[str, bool]]) -> None:
        super().__init__(data, path, file, lines)
        self.log = log

    def child(self, key: str, value: dict[str, Any]) -> Reader:
        return _TracingReader(value, self.key_path(key), self.file, self.lines, self.log)

    def _note(self, key: str, kind: str, required: bool = False) -> None:
        table = re.sub(r"\[\d+\]", "[]", self.path)
        self.log.setdefault((table, key), (kind, required))

    def get(self, key: str, kind: Any, *, required: bool = False, default: Any = None,
            hint: str | None = None) -> Any:
        kinds = kind if isinstance(kind, tuple) else (kind,)
        names = {str: "text", int: "number", float: "number", list: "list", dict: "table"}
        self._note(key, " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds)),
                   required)
        return super().get(key, kind, required=required, default=default, hint=hint)

    def text(self, key: str, *, required: bool = False, **kwargs: Any) -> str:
        self._note(key, "text", required)
        return super().text(key, required=required, **kwargs)

    def texts(self, key: str) -> tuple[str, ...]:
        self._note(key, "list of text")
        return super().texts(key)

    def date(self, key: str, *, required: bool = False) -> Any:
        self._note(key, "date", required)
        return super().date(key, required=required)

    def clock(self, key: str, **kwargs: Any) -> Any:
        self._note(key, 'time "HH:MM"')
        return super().clock(key, **kwargs)

    def parsed(self, key: str, parse: Any, **kwargs: Any) -> Any:
        name = getattr(parse, "__name__", "")
        self._note(key, "cadence" if "cadence" in name else "duration",
                   kwargs.get("required", False))
        return super().parsed(key, parse, **kwargs)

    def table(self, key: str, *, required: bool = False) -> Reader | None:
        self._note(key, "table", required)
        return super().table(key, required=required)

    def tables(self, key: str, *, limit: int | None = None) -> list[Reader]:
        self._note(key, "array of tables")
        return super().tables(key, limit=limit)


def schema() -> list[Key]:
    """Every key the loader reads, in the order it reads them, with its description."""
    from . import load as loader
    from .locate import index_lines

    log: dict[tuple[str, str], tuple[str, bool]] = {}
    path = Path("<schema>")
    data = loader.parse_toml(_SAMPLE, path)
    root = _TracingReader(data, "", path, index_lines(_SAMPLE), log)
    # The loader's own walk over the file (the same call `loads` makes), traced.
    loader._alliance(root, path)
    root.done()
    members = {"members": True}  # the loader refuses a file without members
    order = {name: i for i, name in enumerate(DESCRIPTIONS)}
    keys = []
    for (table, name), (kind, required) in log.items():
        full = f"{table}.{name}" if table else name
        keys.append(Key(table=table, name=name, kind=kind,
                        required=required or members.get(full, False),
                        description=DESCRIPTIONS.get(full, "")))
    # The loader's order is its own business; people read the keys in the order written above.
    return sorted(keys, key=lambda k: order.get(f"{k.table}.{k.name}" if k.table else k.name,
                                                len(order)))


def full_template(values: dict[str, str]) -> str:
    """Every key, each with its description: required ones to fill in, others commented."""
    keys = schema()
    out = ["# A designed alliance, with every key the file may hold (`alliance template --full`).",
           '# Fill in every "<…>", uncomment what you need, delete the rest; then run',
           "#   alliance check alliance.toml   and   alliance setup alliance.toml",
           "# The reference of every key: docs/alliance-file.md", ""]
    top = [k for k in keys if k.table == ""]
    scalars = [k for k in top if k.kind not in ("table", "array of tables")]
    # Top-level keys must come before the first table, or TOML puts them inside it.
    for head in scalars + [k for k in top if k not in scalars]:
        name = head.name
        commented = name in COMMENTED_TABLES
        mark = "# " if commented else ""
        if head.kind in ("table", "array of tables"):
            out.append(f"# {head.description}")
            out.append(f"{mark}[[{name}]]" if head.kind == "array of tables" else f"{mark}[{name}]")
            children = [k for k in keys if k.table.removesuffix("[]") == name]
        else:
            children = [head]
        for key in children:
            full = f"{key.table}.{key.name}" if key.table else key.name
            nested = [k for k in keys if k.table == f"{full}[]"]
            example = EXAMPLES[full].format(**values)
            off = commented or not (key.required or full in SHOWN)
            note = key.description + (" Required." if key.required else "")
            if nested:
                note += " Each has " + ", ".join(f"`{k.name}`" for k in nested) + "."
            out += textwrap.wrap(note, 96, initial_indent="# ", subsequent_indent="#   ")
            out.append(f"{'# ' if off else ''}{key.name} = {example}")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def reference() -> str:
    """docs/alliance-file.md: every key, table by table (generated; do not edit by hand)."""
    keys = schema()
    lines = ["# The alliance file: every key", "",
             "<!-- Generated from the loader by `designed_alliance.core.schema` — do not edit;",
             "     regenerate with: python -m designed_alliance.core.schema > "
             "docs/alliance-file.md -->", "",
             "An alliance file is TOML. Unknown keys are errors, so a typo never silently drops "
             "part of the agreement. `alliance template` prints a short file to fill in; "
             "`alliance template --full` prints every key below, commented.", ""]
    top = [k for k in keys if k.table == ""]
    for head in top:
        title = f"[[{head.name}]]" if head.kind == "array of tables" else (
            f"[{head.name}]" if head.kind == "table" else f"`{head.name}` (top level)")
        lines += [f"## {title}", "", head.description + (" Required." if head.required else ""),
                  ""]
        inner = [k for k in keys if k.table.rstrip("[]") == head.name]
        nested = [k for k in keys if k.table.startswith(head.name + ".")
                  or k.table.startswith(head.name + "[].")]
        if inner:
            lines += ["| key | kind | required | what it is |", "|---|---|---|---|"]
            lines += [f"| `{k.name}` | {k.kind} | {'yes' if k.required else ''} | "
                      f"{k.description} |" for k in inner]
            lines.append("")
        for group in dict.fromkeys(k.table for k in nested):
            lines += [f"Each entry of `{group.removesuffix('[]')}`:", "",
                      "| key | kind | required | what it is |", "|---|---|---|---|"]
            lines += [f"| `{k.name}` | {k.kind} | {'yes' if k.required else ''} | "
                      f"{k.description} |" for k in nested if k.table == group]
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    print(reference(), end="")
