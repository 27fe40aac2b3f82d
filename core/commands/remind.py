"""`alliance agenda` and `alliance remind`: the mail that keeps the alliance alive between
edits — the next meeting's agenda, and nudges to the members whose part is near.

Both compose in core (`core/agenda.py`), plan the messages like every other item (each key
is delivered once per target; a file or draft that can be rewritten is updated when its
content changed), and deliver them through the mail targets: `.eml` files by default, Gmail
or Outlook drafts, or real mail over SMTP with `--send`. `remind` is safe to run every hour.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ..agenda import agenda, meeting_days, nudges
from ..config import Config
from ..errors import AllianceError, BadInput
from ..items import Message
from ..journal import load_journal
from ..load import load
from ..model import Alliance
from ..plan import Plan
from ..run import apply_plan, make_targets, plan_mail, require_success
from ..state import State
from .setup import _options, mailers


def parse_moment(alliance: Alliance, text: str | None) -> datetime:
    """`--on` as a date (its 08:00) or a date-time, in the alliance's zone; default: now."""
    zone = ZoneInfo(alliance.timezone)
    if text is None:
        return datetime.now(zone)
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{text!r} is not a date or a date-time", key="--on",
                       hint="write it like 2027-01-15 or 2027-01-15T08:00") from None
    if len(value) == 10:  # a plain date: the morning of that day
        moment = moment.replace(hour=8)
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)


def due_messages(alliance: Alliance, at: datetime, days_before: int,
                 links: dict[str, str] | None = None) -> list[Message]:
    """What `remind` sends at `at`: the agenda the day before each meeting, and the nudges."""
    journal = load_journal(alliance).as_of(at.date())
    out: list[Message] = []
    tomorrow = at.date() + timedelta(days=1)
    if tomorrow in meeting_days(alliance):
        message = agenda(alliance, journal, tomorrow, links)
        if message is not None:
            out.append(message)
    out.extend(nudges(alliance, journal, at, days_before=days_before))
    if alliance.celebration is not None and at.date() == alliance.celebration_date:
        from ..celebrate import celebration_message
        from ..schedule import organizer_for

        out.append(celebration_message(alliance, journal, organizer_for(alliance)))
    return out


def meeting_links(alliance: Alliance, config: Config, state: State) -> dict[str, str]:
    """Item key → the join link a calendar service made (Meet, Teams), as the targets in the
    config recorded it at setup: read from the state, never asked of the service."""
    from ..target import available_targets, load_target

    links: dict[str, str] = {}
    options = _options(alliance, config, None, None, False)
    for name in sorted(set(config.sections) & set(available_targets())):
        try:
            cls = load_target(name)  # only the configured ones: no adapter is imported idly
            if not cls.is_remote:
                continue
            instance = cls(config, options).instance  # reads the config only
        except AllianceError:
            continue  # a section that does not load is reported where it is used
        for key, record in state.records(alliance.id, instance).items():
            if record.active and record.summary.get("video_url"):
                links.setdefault(key, str(record.summary["video_url"]))
    return links


def _targets(alliance: Alliance, config: Config, to: list[str] | None, out: Path | None,
             send: bool) -> list:
    names = [n for n in (to or config.defaults.targets)]
    if send:
        names += [n for n in mailers(config) if n not in names]
    options = _options(alliance, config, out, None, send)
    targets = [t for t in make_targets(names, config, options) if "message" in t.handles]
    if not targets:
        raise BadInput("none of these targets delivers mail", key="--to",
                       hint="use eml (files), google or outlook (drafts), or --send (smtp)")
    for target in targets:
        target.check_ready()
    return targets


def deliver(alliance: Alliance, messages: list[Message], config: Config,
            to: list[str] | None, out: Path | None, *, send: bool, dry_run: bool,
            as_json: bool) -> Plan:
    targets = _targets(alliance, config, to, out, send)
    state = State()
    for target in targets:
        # What each has recorded (e.g. the sent kickoff, whose thread an agenda replies in).
        target.recall(alliance.id, state.records(alliance.id, target.instance))
    plan = plan_mail(alliance, messages, targets, state)
    if dry_run or not plan.has_changes:
        return plan
    state.ensure_writable()
    require_success(apply_plan(alliance, None, plan, targets, state))
    return plan


def _report(plan: Plan, *, as_json: bool, dry_run: bool, empty: str) -> str:
    if as_json:
        return json.dumps(plan.as_dict(), indent=2, ensure_ascii=False) + "\n"
    if not any(c.kind == "message" for t in plan.targets for c in t.changes):
        return empty + "\n"
    text = plan.render(color=sys.stdout.isatty())
    return text + ("\n\nDry run: nothing was written or sent.\n" if dry_run else "\n")


def run_agenda(file: Path, config: Config, *, on: str | None, to: list[str] | None,
               out: Path | None, send: bool, dry_run: bool, as_json: bool) -> str:
    alliance = load(file)
    day = parse_moment(alliance, on).date()
    message = agenda(alliance, load_journal(alliance), day,
                     meeting_links(alliance, config, State()))
    if message is None:
        return "No check-in or review is left on or after that day.\n"
    plan = deliver(alliance, [message], config, to, out, send=send, dry_run=dry_run,
                   as_json=as_json)
    return _report(plan, as_json=as_json, dry_run=dry_run, empty="")


def run_remind(file: Path, config: Config, *, on: str | None, to: list[str] | None,
               out: Path | None, send: bool, dry_run: bool, as_json: bool,
               days_before: int) -> str:
    alliance = load(file)
    at = parse_moment(alliance, on)
    messages = due_messages(alliance, at, days_before, meeting_links(alliance, config, State()))
    plan = deliver(alliance, messages, config, to, out, send=send, dry_run=dry_run,
                   as_json=as_json)
    return _report(plan, as_json=as_json, dry_run=dry_run,
                   empty=f"Nothing to send at {at:%Y-%m-%d %H:%M} ({alliance.timezone}).")
