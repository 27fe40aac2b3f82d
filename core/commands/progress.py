"""`alliance log`, `alliance done` and `alliance status`: the journal, written and read.

Every check happens before the journal is touched: a bad argument or a broken journal exits 2
with one line and leaves the journal's bytes as they were.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from .. import charts, readback
from ..check import Finding, journal_findings
from ..config import Config
from ..errors import AllianceError, BadInput
from ..journal import (
    Done,
    Invalid,
    Reading,
    append,
    check_commitment,
    check_day,
    check_member,
    check_value,
    find_measure,
    journal_path,
    load_journal,
)
from ..load import line_of, load
from ..model import Alliance
from ..plan import record_kind
from ..progress import Status, status
from ..target import Options

T = TypeVar("T")


def today(alliance: Alliance) -> date:
    """Today where the alliance lives: its deadlines are in its time zone."""
    return datetime.now(ZoneInfo(alliance.timezone)).date()


def parse_day(alliance: Alliance, text: str | None, option: str = "--on", *,
              within: bool = True) -> date:
    """`--on`, else today; `within`: it must lie in the alliance (journal entries must)."""
    if text is None and not within:
        return today(alliance)
    if text is None:
        day = today(alliance)
        try:
            return check_day(alliance, day)
        except Invalid as exc:
            raise BadInput(f"today ({exc.problem})", key=option,
                           hint=f"pass {option} DATE with a date inside the alliance") from None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"{text!r} is not a date", key=option,
                       hint="write it like 2027-01-15 (year-month-day)") from None
    return _arg(option, check_day, alliance, day) if within else day


def _arg(key: str, check: Callable[..., T], *args: object, file: Path | None = None,
         table: str | None = None, alliance: Alliance | None = None) -> T:
    """Run a journal check on a command-line argument; its `Invalid` becomes one line."""
    try:
        return check(*args)
    except Invalid as exc:
        line = None
        if alliance is not None and table:  # `[[measures]]` is indexed as measures[0]
            line = line_of(alliance, table) or line_of(alliance, f"{table}[0]")
        raise BadInput(exc.problem, file=file, key=key, line=line, hint=exc.hint) from None


def _who(alliance: Alliance, by: str | None) -> str | None:
    if by is None:
        return None
    return _arg("--by", check_member, alliance, by, file=alliance.source, table="members",
                alliance=alliance)


def log(file: Path, measure_ref: str, value: str, *, on: str | None, by: str | None,
        note: str | None) -> str:
    alliance = load(file)
    load_journal(alliance)  # a broken journal is reported before the arguments
    measure = _arg("MEASURE", find_measure, alliance, measure_ref, file=alliance.source,
                   table="measures", alliance=alliance)
    number = _arg("VALUE", check_value, value)
    day = parse_day(alliance, on)
    who = _who(alliance, by)
    reading = Reading(measure, number, day, who, (note or "").strip())
    path = journal_path(file)
    with _journal_lock(alliance):
        append(alliance, reading, path)
    unit = f" {measure.unit}" if measure.unit else ""
    return f"logged {measure.name} = {value.strip()}{unit} on {day} in {path}\n"


def done(file: Path, commitment_ref: str, *, on: str | None, by: str | None,
         note: str | None) -> str:
    alliance = load(file)
    path = journal_path(file)
    with _journal_lock(alliance):  # check "not done yet" and append as one step
        return _done(alliance, path, commitment_ref, on=on, by=by, note=note)


def _journal_lock(alliance: Alliance) -> contextlib.AbstractContextManager[None]:
    """Two journal commands at once could both find a commitment not done and both append:
    the check and the append hold one lock per alliance (beside the state file)."""
    from ..state import State

    return State().locked(alliance.id, scope="journal")


def _done(alliance: Alliance, path: Path, commitment_ref: str, *, on: str | None,
          by: str | None, note: str | None) -> str:
    journal = load_journal(alliance, path)
    commitment_id = _arg("COMMITMENT", check_commitment, alliance, commitment_ref,
                         file=alliance.source, table="commitments", alliance=alliance)
    earlier = journal.done_entry(commitment_id)
    if earlier is not None:
        raise BadInput(f"{commitment_id!r} is already done (on {earlier.on})", file=path,
                       line=earlier.line, key="COMMITMENT",
                       hint="a commitment is done once; nothing was written")
    dropped = journal.dropped_entry(commitment_id)
    if dropped is not None:
        raise BadInput(f"{commitment_id!r} was dropped on {dropped.on}", file=path,
                       line=dropped.line, key="COMMITMENT",
                       hint="a dropped commitment cannot be done; add a new commitment "
                       "to the alliance file instead")
    day = parse_day(alliance, on)
    who = _who(alliance, by)
    append(alliance, Done(commitment_id, day, who, (note or "").strip()), path)
    what = alliance.commitment(commitment_id).what
    return f"done: {commitment_id} ({what}) on {day} in {path}\n"


def show_status(file: Path, *, on: str | None, as_json: bool,
                to: Sequence[str] | None = None, config: Config | None = None) -> str:
    """Offline unless `to` names a calendar: then its answers are read back too."""
    alliance = load(file)
    journal = load_journal(alliance)
    day = parse_day(alliance, on, within=False)  # looking back after the deadline is fine
    result = status(alliance, journal, day)
    read = None
    if to:
        if len(to) != 1:
            raise BadInput(f"{len(to)} targets given", key="--to",
                           hint="status reads one calendar at a time: google, outlook or "
                           "caldav")
        read = read_calendar(alliance, config or Config(), to[0], day)
    links = meeting_links_offline(alliance, config)
    if as_json:
        out = result.as_dict()
        if read is not None:
            out.update(read.as_dict())
        if links:
            out["meeting_links"] = links
        return json.dumps(out, indent=2, ensure_ascii=False) + "\n"
    tty = sys.stdout.isatty()
    text = render(alliance, result, tty=tty, color=tty and not os.environ.get("NO_COLOR"),
                  findings=journal_findings(alliance, journal.as_of(day)))
    for key, url in links.items():
        text += f"Join the {'review' if key == 'review' else 'check-ins'}: {url}\n"
    if read is not None:
        text += readback.render(alliance, read)
    return text


def meeting_links_offline(alliance: Alliance, config: Config | None) -> dict[str, str]:
    """The join links setup recorded (Meet, Teams): read from the state, offline. Without
    a config given, the default one is read, quietly: status never fails for its sake."""
    from ..config import load_config
    from ..state import State
    from .remind import meeting_links

    try:
        found = meeting_links(alliance, config or load_config(None), State())
    except AllianceError:
        return {}
    return {k: v for k, v in found.items() if k in ("checkins", "review")}


def read_calendar(alliance: Alliance, config: Config, name: str, day: date
                  ) -> readback.ReadBack:
    """Read the members' answers from one calendar target, incrementally where the stored
    sync point allows, and keep the new sync point (a small write to the state file)."""
    from ..run import default_out_dir, desired, make_targets, records_from_remote
    from ..schedule import organizer_for
    from ..state import State
    from ..target import SyncPoint

    options = Options(out_dir=default_out_dir(alliance, config),
                      organizer=organizer_for(alliance, config.defaults.organizer))
    (target,) = make_targets([name], config, options)
    state = State()
    records = state.records(alliance.id, target.instance)
    target.recall(alliance.id, records)  # e.g. where its calendar of its own is
    if not records and target.can_lookup and target.is_remote:
        target.check_ready()
        records = records_from_remote(target, alliance.id)  # a lost state: find them by tag
    records = {k: r for k, r in records.items() if r.active and record_kind(r) == "event"}
    if not records:
        raise AllianceError(f"nothing of {alliance.id} is recorded for {target.instance} — "
                            f"run: alliance setup {alliance.source or 'FILE'} --to {name}")
    target.check_ready()
    events = desired(alliance, config).events
    # A record adopted from a lookup keeps only a title: who is invited, and when, come
    # from the alliance then.
    by_key = {e.key: e for e in events}
    records = {k: replace(r, summary={**by_key[k].summary, **r.summary}) if k in by_key else r
               for k, r in records.items()}
    stored = state.sync_point(alliance.id, target.instance)
    since = SyncPoint(*stored) if stored else None
    result = target.responses(alliance.id, records, since)
    state.put_sync_point(alliance.id, target.instance, result.sync.token, result.sync.cache)
    return readback.read_back(name, alliance, events, result, day)


def _value(value: float | int | None) -> str:
    if value is None:
        return "?"
    if isinstance(value, float):
        value = round(value, 1)
        if value.is_integer():
            return str(int(value))
    return str(value)


def render(alliance: Alliance, result: Status, *, tty: bool, color: bool,
           findings: Sequence[Finding] = ()) -> str:
    """Status as text: sparklines on a terminal, plain words in a pipe (or with NO_COLOR)."""
    lines = [f"{alliance.title}: status on {result.on}"
             + (f" (next check-in {result.next_checkin})" if result.next_checkin else "")]
    lines.append("")
    lines.append("Measures")
    if not result.measures:
        lines.append("  (none)")
    for m in result.measures:
        unit = f" {m.measure.unit}" if m.measure.unit else ""
        latest = m.latest
        words = [f"  {m.measure.name}:"]
        words.append(f"{_value(latest.value)}{unit} on {latest.on}" if latest
                     else "no reading yet")
        if m.expected is not None:
            words.append(f"· expected {_value(m.expected)}{unit} by now "
                         f"(target {_value(m.target)} by {m.by})")
        if m.on_track is not None:
            better = "higher" if m.higher_is_better else "lower"
            words.append(f"· {'on track' if m.on_track else 'behind'} ({better} is better)")
        lines.append(" ".join(words))
        if m.readings:
            if tty and color:
                line = charts.sparkline([r.value for r in m.readings], color=True,
                                        on_track=m.on_track)
                lines.append(f"    {line}")
            elif tty:
                lines.append(f"    {charts.sparkline([r.value for r in m.readings])}")
            else:
                lines.append(f"    readings: {charts.text_chart(m)}")
    lines.append("")
    lines.append("Commitments")
    if not result.commitments:
        lines.append("  (none)")
    width = max((len(c.commitment.id) for c in result.commitments), default=0)
    for c in result.commitments:
        owner = c.owner.name if c.owner else "no owner"
        due = f"due {c.due}" if c.due else "no due date"
        done_on = f", done {c.done_on}" if c.done_on else ""
        lines.append(f"  {c.commitment.id:<{width}}  {c.state:<8}  {owner}, {due}{done_on}")
    if result.sequences:
        lines.append("")
        lines.append("Sequences")
        for sequence in result.sequences:
            chain = " → ".join(s.commitment.id for s in sequence.chain)
            if not sequence.next:
                lines.append(f"  {chain}: nothing left to do")
                continue
            nexts = "; ".join(
                f"{s.owner.name if s.owner else 'no owner'} ({s.commitment.id}"
                + (f", due {s.due}" if s.due else "") + ")" for s in sequence.next)
            lines.append(f"  {chain}: next is {nexts}")
    if findings:
        lines.append("")
        lines.append("Warnings")
        for finding in findings:
            where = f"{alliance.source}:{finding.line}: " if finding.line else ""
            lines.append(f"  {where}{finding.key}: warning: {finding.message} [{finding.code}]")
    return "\n".join(lines) + "\n"
