"""`alliance init`: the designed-alliance conversation as questions; writes a file that loads.

Interactive by default. `--from-answers answers.json` takes the same answers as JSON:

    {"title": "…", "goal": "…", "why": "…", "pain": "…", "timezone": "Europe/Berlin",
     "starts": "2027-01-04", "deadline": "2027-03-31", "review_every": "4 weeks",
     "members": [{"name": "…", "email": "…", "needs": ["…"], "offers": ["…"],
                  "timezone": "…"}],
     "measures": [{"name": "…", "baseline": 0, "target": 10, "unit": "…", "by": "2027-03-15",
                   "inspect": "…"}],
     "commitments": [{"what": "…", "owner": "<member id or name>", "due": "2027-02-01"},
                     {"what": "…", "owner": "…", "after": "<commitment id>", "takes": "2 weeks"}],
     "use": [{"channel": "…", "for": "…", "respond_within": "…"}],
     "avoid": [{"channel": "…", "why": "…"}],
     "checkins": {"every": "week", "day": "monday", "time": "09:30", "duration": "30 minutes",
                  "where": "…", "questions": ["…"]},
     "celebration": {"how": "…", "on": "deadline", "time": "18:00"}}

Member ids and commitment ids are derived from names unless given as "id".
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from .. import compose
from ..errors import BadInput
from .template import new_id, slugify

REFLECTION = (
    "Which other relationships in your life or work would benefit from a designed alliance?",
    "Which assumptions in this one most need busting at the first review?",
    "How will you start the conversation with the others, and when?",
)
DEFAULT_QUESTIONS = ["What moved since last time?", "What is in the way?",
                     "What do you need from me?"]


def slug(text: str, taken: set[str]) -> str:
    """An id not yet taken, from a name: "Zoë" → "zoe", a second "Zoë" → "zoe-2"."""
    base = slugify(text, 24, "item")
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def local_zone() -> str:
    """The system's IANA zone where it can be told, else UTC."""
    env = os.environ.get("TZ", "")
    if "/" in env:
        return env.lstrip(":")
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    except OSError:
        pass
    return "UTC"


# -- asking ----------------------------------------------------------------------------------

def _zone(text: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"{text!r} is not a time zone; try America/New_York") from None
    return text.strip()


def _date(text: str) -> str:
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise click.BadParameter("write a date like 2027-03-31") from None


def _email(text: str) -> str:
    from ..load import EMAIL_RE

    if not EMAIL_RE.match(text.strip()):
        raise click.BadParameter("write an address like ana@example.com")
    return text.strip()


def _list(prompt: str) -> list[str]:
    """Several answers, one per line; an empty line ends."""
    items = []
    while True:
        answer = click.prompt(f"{prompt} (empty to finish)", default="", show_default=False)
        if not answer.strip():
            return items
        items.append(answer.strip())


def ask() -> dict[str, Any]:
    click.echo("Let's design your alliance. Empty answers skip optional questions.\n")
    today = date.today()
    answers: dict[str, Any] = {}
    click.echo("1. The goal")
    answers["title"] = click.prompt("What do you call this alliance")
    answers["goal"] = click.prompt("What is the goal, in one sentence")
    answers["why"] = click.prompt("Why does it matter", default="", show_default=False)
    answers["pain"] = click.prompt("What pain does it relieve", default="", show_default=False)
    answers["timezone"] = click.prompt("Time zone", default=local_zone(), value_proc=_zone)
    answers["starts"] = click.prompt("Start date", default=today.isoformat(), value_proc=_date)
    answers["deadline"] = click.prompt("Deadline",
                                       default=(today + timedelta(weeks=12)).isoformat(),
                                       value_proc=_date)
    click.echo("\n2. Who is in it — and what each needs and offers")
    members = []
    while True:
        name = click.prompt(f"Member {len(members) + 1}: name")
        members.append({
            "name": name,
            "email": click.prompt("  email", value_proc=_email),
            "needs": _list("  what do they need from the others"),
            "offers": _list("  what do they offer in return"),
        })
        if not click.confirm("Add another member?", default=len(members) < 2):
            break
    answers["members"] = members
    click.echo("\n3. How will you measure progress? (inspect what you expect)")
    measures = []
    while click.confirm("Add a measure?", default=not measures):
        measures.append({
            "name": click.prompt("  what do you count"),
            "baseline": click.prompt("  where are you today", default="0"),
            "target": click.prompt("  what number means success"),
            "by": click.prompt("  by when", default=answers["deadline"], value_proc=_date),
            "inspect": click.prompt("  how and when do you look at it", default="",
                                    show_default=False),
        })
    answers["measures"] = measures
    click.echo("\n4. Who does what, and when")
    commitments: list[dict[str, Any]] = []
    names = [m["name"] for m in members]
    while click.confirm("Add a commitment?", default=not commitments):
        item: dict[str, Any] = {
            "what": click.prompt("  what will be done"),
            "owner": click.prompt("  who does it", type=click.Choice(names)),
        }
        if commitments and click.confirm("  does it start after another commitment?",
                                         default=False):
            item["after"] = click.prompt("  after which one",
                                         type=click.Choice([c["what"] for c in commitments]))
            item["takes"] = click.prompt("  how long does it take", default="2 weeks")
        else:
            item["due"] = click.prompt("  due date", value_proc=_date)
        commitments.append(item)
    answers["commitments"] = commitments
    click.echo("\n5. How will you communicate?")
    answers["use"] = []
    while click.confirm("Add a channel you use?", default=not answers["use"]):
        answers["use"].append({
            "channel": click.prompt("  channel (e.g. Slack)"),
            "for": click.prompt("  for what", default="", show_default=False),
            "respond_within": click.prompt("  answer within", default="1 day"),
        })
    answers["avoid"] = []
    while click.confirm("Add a channel you avoid?", default=False):
        answers["avoid"].append({"channel": click.prompt("  channel"),
                                 "why": click.prompt("  why not", default="",
                                                     show_default=False)})
    click.echo("\nWhen do you check in?")
    answers["checkins"] = {
        "every": click.prompt("  how often", default="week"),
        "day": click.prompt("  on which day", default="monday"),
        "time": click.prompt("  at what time", default="09:30"),
        "duration": click.prompt("  for how long", default="30 minutes"),
        "where": click.prompt("  where (room or video link)", default="", show_default=False),
        "questions": _list("  a question to ask at each check-in") or DEFAULT_QUESTIONS,
    }
    answers["review_every"] = click.prompt("How often do you review the alliance itself",
                                           default="4 weeks")
    click.echo("\n6. How will you celebrate success?")
    answers["celebration"] = {
        "how": click.prompt("  how"),
        "on": click.prompt("  on which date", default="deadline"),
        "time": click.prompt("  at what time (empty: all day)", default="18:00"),
    }
    return answers


# -- shaping and writing ---------------------------------------------------------------------

def _need(answers: dict[str, Any], key: str, kind: type, where: Path) -> Any:
    value = answers.get(key)
    if not isinstance(value, kind):
        names = {str: "a string", list: "a list", dict: "an object"}
        raise BadInput(f"must be {names.get(kind, kind.__name__)}", file=where, key=key,
                       hint="see `alliance init --help` for the answers format")
    return value


def shape(answers: dict[str, Any], source: Path) -> dict[str, Any]:
    """Answers → the values the template writes: ids derived, names resolved."""
    if not isinstance(answers, dict):
        raise BadInput("must be a JSON object", file=source,
                       hint="see `alliance init --help` for the answers format")
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
        by_name[member["name"]] = member_id
        by_name[member_id] = member_id
        members.append({**member, "id": member_id, "needs": member.get("needs") or [],
                        "offers": member.get("offers") or []})
    taken_c: set[str] = set()
    commitments = []
    by_what: dict[str, str] = {}
    for i, item in enumerate(answers.get("commitments") or []):
        if not isinstance(item, dict) or not isinstance(item.get("what"), str):
            raise BadInput("needs `what`", file=source, key=f"commitments[{i}].what",
                           hint='give each commitment {"what": …, "owner": …, "due": …}')
        commitment_id = item.get("id") or slug(item["what"], taken_c)
        by_what[item["what"]] = commitment_id
        by_what[commitment_id] = commitment_id
        owner = by_name.get(str(item.get("owner", "")), str(item.get("owner", "")))
        commitments.append({**item, "id": commitment_id, "owner": owner})
    for item in commitments:
        if item.get("after"):
            item["after"] = by_what.get(item["after"], item["after"])
    checkins = {"every": "week", "day": "", "time": "09:00", "duration": "30 minutes",
                "where": "", "questions": DEFAULT_QUESTIONS, **(answers.get("checkins") or {})}
    celebration = {"on": "deadline", "time": "",
                   **(answers.get("celebration") or {"how": "Celebrate"})}
    # Every optional answer gets its empty default, so the template can test for it.
    return {
        "why": "", "pain": "", "review_every": "", **answers,
        "members": [{"timezone": None, **m} for m in members],
        "commitments": [{"due": None, "after": None, "takes": None, **c} for c in commitments],
        "measures": [{"baseline": None, "target": None, "unit": "", "by": None, "inspect": "",
                      **m} for m in _dicts(answers, "measures", source)],
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


def run(file: Path, *, answers_file: Path | None, force: bool) -> None:
    from ..check import check
    from ..load import loads

    if file.exists() and not force:
        raise BadInput("already exists", file=file,
                       hint="choose another name, or add --force to replace it")
    if answers_file is not None:
        try:
            raw = json.loads(answers_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BadInput("file not found", file=answers_file, hint="check the path") from None
        except json.JSONDecodeError as exc:
            raise BadInput(f"is not valid JSON ({exc.msg})", file=answers_file, line=exc.lineno,
                           hint="fix the JSON at that line") from None
        answers = shape(raw, answers_file)
        source = answers_file
    else:
        answers = shape(ask(), file)
        source = file
    text = render(answers, file.name)
    # Validate before writing anything: the answers become the file only if it loads.
    try:
        alliance = loads(text, file)
    except BadInput as exc:
        raise BadInput(exc.problem, file=source, key=exc.key, hint=exc.hint) from None
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, file)
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
