"""`alliance plan`, `setup` and `teardown`: build the plan, show it, apply it when asked.

Each takes one alliance file or a folder of them (`setup team/`): then every `*.toml` in it
that is not a progress journal is applied in turn, a bad or failing one is reported in one
line and the others still go on, and one summary line ends the run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import field, replace
from pathlib import Path
from typing import Any

import click

from designed_alliance.core.records import dataclass

from ..config import Config
from ..errors import AllianceError, BadInput, NeedsForce
from ..items import Message
from ..journal import load_journal
from ..load import load
from ..model import Alliance
from ..plan import Action, Plan, record_kind
from ..run import (
    Report,
    apply_plan,
    check_no_overwrite,
    check_owner,
    check_safe,
    claim,
    default_out_dir,
    desired,
    exception_notes,
    make_plan,
    make_targets,
    remember,
    require_success,
)
from ..run import check_remote as check_remote_drift
from ..schedule import organizer_for
from ..state import State
from ..target import Options, Target

PAST = {"create": "created", "update": "updated", "cancel": "cancelled", "failed": "failed"}


def _options(alliance: Alliance, config: Config, out: Path | None, notify: str | None,
             send: bool, progress: Callable[[str], None] | None = None,
             resend: bool = False, remove_calendar: bool = False) -> Options:
    return Options(out_dir=out or default_out_dir(alliance, config),
                   notify=notify or config.defaults.notify, send=send, resend=resend,
                   organizer=organizer_for(alliance, config.defaults.organizer),
                   progress=progress, remove_calendar=remove_calendar)


def _recall(alliance: Alliance, targets: list[Target], state: State, config: Config) -> None:
    """Hand each target its recorded rows (a dedicated calendar's id), and refuse to plan
    where the alliance's events are recorded under the target's other calendar setting:
    writing them here too would leave every event twice. No I/O beyond the state file."""
    for target in targets:
        records = state.records(alliance.id, target.instance)
        target.recall(alliance.id, records)
        if any(r.active and record_kind(r) == "event" for r in records.values()):
            continue
        for other in target.earlier_instances():
            held = [k for k, r in state.records(alliance.id, other).items()
                    if r.active and record_kind(r) == "event"]
            if held:
                raise BadInput(
                    f"{len(held)} event(s) of this alliance are in {other}, and "
                    f"[{target.name}] now writes to {target.instance}: setting it up there "
                    "too would leave every event twice", file=config.path,
                    key=f"{target.name}.calendar",
                    hint=f"to move them: put the old setting back, run alliance teardown "
                    f"{alliance.source or 'FILE'} --to {target.name}, then set the new one "
                    "and run setup; or keep the old setting")


def _keep_own_records(alliance: Alliance, targets: list[Target], state: State) -> None:
    """What a target keeps of its own (the calendar it made, found or renamed)."""
    for target in targets:
        rows = target.own_records()
        if rows:
            state.put_many(alliance.id, target.instance, rows)


# -- one file or a folder of them ------------------------------------------------------------

@dataclass
class Outcome:
    """What became of one alliance file in a folder run."""

    file: Path
    status: str  # "changed" | "unchanged" | "failed" | "bad"
    document: dict[str, Any] | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"file": str(self.file), "status": self.status, "error": self.error,
                **(self.document or {})}


@dataclass
class Batch:
    """The outcomes of `setup DIR/`: one per alliance file, summed up at the end."""

    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def exit_code(self) -> int:
        if self.count("bad"):
            return 2
        return 1 if self.count("failed") else 0

    def summary(self, changed: str = "changed") -> str:
        total = len(self.outcomes)
        line = (f"{total} {'alliance' if total == 1 else 'alliances'}: "
                f"{self.count('changed')} {changed}, {self.count('unchanged')} unchanged, "
                f"{self.count('failed')} failed")
        bad = self.count("bad")
        return line + (f", {bad} bad input" if bad else "")

    def as_dict(self) -> dict[str, Any]:
        return {"alliances": [o.as_dict() for o in self.outcomes],
                "summary": {s: self.count(s) for s in ("changed", "unchanged", "failed",
                                                          "bad")},
                "ok": self.exit_code == 0}


def _each(folder: Path, as_json: bool, step: Callable[[Path], Outcome],
          changed: str = "changed") -> int:
    """Run `step` for every alliance file in `folder`; one line per bad or failed file."""
    from .check import alliance_files  # `check` and its findings only for a folder

    files = alliance_files(folder)
    if not files:
        raise BadInput("has no alliance files (*.toml)", file=folder,
                       hint="give an alliance file, or a folder that holds some")
    batch = Batch()
    for i, path in enumerate(files):
        if i and not as_json:
            click.echo("")
        try:
            outcome = step(path)
        except BadInput as exc:
            outcome = Outcome(path, "bad", error=str(exc))
        except AllianceError as exc:
            outcome = Outcome(path, "failed", error=str(exc))
        if outcome.error and not as_json:
            click.echo(f"alliance: {outcome.error}", err=True)
        batch.outcomes.append(outcome)
    if as_json:
        click.echo(json.dumps(batch.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(f"\n{batch.summary(changed)}")
    return batch.exit_code


# -- plan ------------------------------------------------------------------------------------

def _plan_targets(targets: list[Target], config: Config) -> None:
    """What `setup` would refuse before planning, `plan` refuses too: a remote target whose
    config section is missing. Only then is check_ready called, and every target checks its
    section before anything else, so this never reaches a network (a plan must not)."""
    for target in targets:
        if (target.is_remote and type(target).config_schema() is not None
                and target.name not in config.sections):
            target.check_ready()


def _plan_one(file: Path, config: Config, to: list[str] | None, out: Path | None, *,
              as_json: bool, check_remote: bool = False) -> Plan:
    alliance = load(file)
    targets = make_targets(to or list(config.defaults.targets), config,
                           _options(alliance, config, out, None, False))
    _plan_targets(targets, config)
    state = State()
    _recall(alliance, targets, state, config)
    want = desired(alliance, config, load_journal(alliance), state=state)
    plan = exception_notes(make_plan(alliance, want, targets, state), state)
    if check_remote:
        # Reads (never writes) the calendars for what was changed there since the last setup.
        for target in targets:
            if target.is_remote:
                target.check_ready()
        plan = check_remote_drift(plan, targets, state)
    if not as_json:
        click.echo(plan.render(color=sys.stdout.isatty()))
        try:
            check_owner(alliance, state, force=False)
        except AllianceError as exc:
            click.echo(f"alliance: setup would refuse: {exc}", err=True)
    return plan


def plan_only(file: Path, config: Config, to: list[str] | None, out: Path | None, *,
              as_json: bool, check_remote: bool = False) -> int:
    """Plan from recorded state only: no network, no file written. Returns the exit code."""
    if file.is_dir():
        def step(path: Path) -> Outcome:
            plan = _plan_one(path, config, to, out, as_json=as_json,
                             check_remote=check_remote)
            return Outcome(path, "changed" if plan.has_changes else "unchanged",
                           {"plan": plan.as_dict()})

        return _each(file, as_json, step, changed="with changes")
    plan = _plan_one(file, config, to, out, as_json=as_json, check_remote=check_remote)
    if as_json:
        click.echo(json.dumps(plan.as_dict(), indent=2, ensure_ascii=False))
    return 0


# -- setup and teardown ----------------------------------------------------------------------

def mailers(config: Config) -> list[str]:
    """The targets that send mail: those configured, else every installed one (so its own
    check says what is missing)."""
    from ..target import loadable_targets

    senders = [name for name, cls in loadable_targets().items() if cls.sends_mail]
    configured = [name for name in senders if name in config.sections]
    return configured or senders


def _progress_printer(enabled: bool) -> Callable[[str], None] | None:
    if not enabled:
        return None

    def show(text: str) -> None:
        click.echo(f"\r\x1b[2K  {text}", err=True, nl=False)

    return show


@dataclass
class SetupResult:
    """One alliance set up (or not): whether anything changed, the JSON document, the report
    whose failures the caller turns into an error."""

    changed: bool
    document: dict[str, Any]
    report: Report | None = None


def run(file: Path, config: Config, to: list[str] | None, out: Path | None, *,
        notify: str | None, send: bool, yes: bool, dry_run: bool, force: bool,
        as_json: bool, teardown: bool = False, force_owner: bool | None = None,
        resend: bool = False, remove_calendar: bool = False) -> int:
    """`setup`/`teardown` of one file, or of every alliance file in a folder. Returns the
    exit code (a single file's errors are raised, for the CLI to print)."""
    if resend and not send:
        _check_resend(to or config.defaults.targets)

    def one(path: Path) -> SetupResult:
        return _apply_one(path, config, to, out, notify=notify, send=send, yes=yes,
                          dry_run=dry_run, force=force, as_json=as_json, teardown=teardown,
                          force_owner=force if force_owner is None else force_owner,
                          resend=resend, remove_calendar=remove_calendar)

    if file.is_dir():
        def step(path: Path) -> Outcome:
            done = one(path)
            failures = done.report.failures if done.report else []
            if failures:
                target, first = failures[0]
                return Outcome(path, "failed", done.document,
                               f"{path}: {len(failures)} change(s) failed, first: {target} "
                               f"{first.change.key}: {first.reason}")
            return Outcome(path, "changed" if done.changed else "unchanged", done.document)

        return _each(file, as_json, step)
    done = one(file)
    if as_json:
        click.echo(json.dumps(done.document, indent=2, ensure_ascii=False))
    if done.report is not None:
        require_success(done.report)
    return 0


def _check_resend(names: Sequence[str]) -> None:
    """--resend without --send means something only to a target that drafts mail remotely
    (a kickoff it could not tell sent is drafted again); otherwise it is refused before
    anything is read or written."""
    from ..target import load_target

    drafts = [n for n in names if (cls := load_target(n)).is_remote and "message" in
              cls.handles and cls.updates_kickoff]
    if not drafts:
        raise BadInput("--resend only makes sense with --send, or with a target that drafts "
                       "mail on a server", key="--resend",
                       hint="add --send, or leave --resend out")


def _apply_one(file: Path, config: Config, to: list[str] | None, out: Path | None, *,
               notify: str | None, send: bool, yes: bool, dry_run: bool, force: bool,
               as_json: bool, teardown: bool, force_owner: bool,
               resend: bool = False, remove_calendar: bool = False) -> SetupResult:
    alliance = load(file)
    state = State()
    if dry_run:
        return _plan_and_apply(alliance, file, config, to, out, state, notify=notify,
                               send=send, yes=yes, dry_run=dry_run, force=force,
                               as_json=as_json, teardown=teardown, force_owner=force_owner,
                               resend=resend, remove_calendar=remove_calendar)
    # Plan and apply under one lock per alliance: two runs that both plan from the same
    # state would both send the kickoff to every member.
    with state.locked(alliance.id):
        return _plan_and_apply(alliance, file, config, to, out, state, notify=notify,
                               send=send, yes=yes, dry_run=dry_run, force=force,
                               as_json=as_json, teardown=teardown, force_owner=force_owner,
                               resend=resend, remove_calendar=remove_calendar)


def _plan_and_apply(alliance: Alliance, file: Path, config: Config, to: list[str] | None,
                    out: Path | None, state: State, *, notify: str | None, send: bool,
                    yes: bool, dry_run: bool, force: bool, as_json: bool, teardown: bool,
                    force_owner: bool, resend: bool,
                    remove_calendar: bool = False) -> SetupResult:
    if not dry_run:
        # Before any target connects: a copy that would rename another alliance stops here.
        check_owner(alliance, state, force_owner)
    interactive = sys.stderr.isatty() and not as_json
    options = _options(alliance, config, out, notify, send, _progress_printer(interactive),
                       resend=resend, remove_calendar=remove_calendar and teardown)
    names = list(to or config.defaults.targets)
    if send:
        names += [n for n in mailers(config) if n not in names]  # --send: "and mail it"
    targets = make_targets(names, config, options)
    _recall(alliance, targets, state, config)
    # teardown --remove-calendar: refused (exit 2, nothing written) where a target has no
    # calendar of the alliance's own; else each plan part says which calendar goes.
    removals = {t.instance: t.check_remove_calendar() for t in targets} if (
        options.remove_calendar) else {}
    for target in targets:
        target.check_ready()
    want = desired(alliance, config, load_journal(alliance), state=state)
    plan = make_plan(alliance, want, targets, state, teardown=teardown,
                     reconcile=not dry_run)
    plan = exception_notes(plan, state)
    if removals:
        plan = replace(plan, targets=tuple(
            replace(p, notes=(*p.notes, removals[p.instance])) if removals.get(p.instance)
            else p for p in plan.targets))
    if not teardown:
        # What someone changed in the calendar since our last write is not overwritten
        # silently: one read per target (shown by the plan), then a refusal unless --force.
        plan = check_remote_drift(plan, targets, state, writing_only=True)

    if dry_run:
        if not as_json:
            click.echo(plan.render(color=sys.stdout.isatty()))
            click.echo("\nDry run: nothing was written or sent.")
        return SetupResult(plan.has_changes, plan.as_dict())
    if not teardown:
        check_no_overwrite(plan, force)
    check_safe(plan, force)
    if removals and not force_owner:
        # Deleting a calendar whole takes with it whatever else someone put in it.
        raise NeedsForce("teardown --remove-calendar deletes the alliance's own calendar "
                         "whole, with anything added to it by hand — check the plan "
                         "(--dry-run), then run again with --force")
    if not as_json:
        click.echo(plan.render(color=sys.stdout.isatty()))
    if not plan.has_changes and not removals:
        if not teardown:
            claim(alliance, state)  # e.g. a rename that changed nothing else (--force)
            remember(alliance, want, state)
            _keep_own_records(alliance, targets, state)  # a calendar found after lost state
        return SetupResult(False, {"plan": plan.as_dict(), "applied": [], "ok": True})
    # Before anything reaches anyone: a state that cannot record what is done would make the
    # next run do (and send) it all again.
    state.ensure_writable()
    remote = [t.name for t in targets if t.is_remote]
    if (remote or teardown) and not yes:
        if not sys.stdin.isatty():
            raise AllianceError(
                f"this {'teardown' if teardown else 'setup'} reaches "
                f"{', '.join(remote) or 'your files'}; review the plan above, then add --yes "
                "to go ahead")
        click.confirm("\nApply this plan?", abort=True, err=True)
    if not teardown:
        claim(alliance, state)
        remember(alliance, want, state)  # the next unchanged run renders nothing
    try:
        report = apply_plan(alliance, want, plan, targets, state, progress=options.progress)
    finally:
        _keep_own_records(alliance, targets, state)
    removed = _remove_calendars(alliance, [t for t in targets if removals.get(t.instance)],
                                state) if removals and not report.failures else []
    if interactive:
        click.echo("\r\x1b[2K", err=True, nl=False)
    if not as_json:
        click.echo("")
        for line in summary_lines(report, targets, options.out_dir):
            click.echo(line)
        for name, calendar in removed:
            click.echo(f"{name}: deleted the calendar {calendar!r}" if calendar else
                       f"{name}: no calendar of this alliance's own was found to delete")
    document = report.as_dict()
    if removals:
        document["removed_calendars"] = [{"target": n, "calendar": c} for n, c in removed]
    return SetupResult(True, document, report)


def _remove_calendars(alliance: Alliance, targets: list[Target], state: State
                      ) -> list[tuple[str, str]]:
    """teardown --remove-calendar, after the events were cancelled: each target deletes the
    calendar it made for the alliance (only one that carries our tag); recorded at once."""
    removed: list[tuple[str, str]] = []
    for target in targets:
        record = target.remove_calendar(alliance.id)
        if record is not None:
            state.put(alliance.id, target.instance, record)
        removed.append((target.name, str(record.summary.get("title", "")) if record else ""))
    return removed


def summary_lines(report: Report, targets: list[Target], out_dir: Path) -> list[str]:
    """What was done per target, and what the user must send: the mail drafts and invite
    files this run wrote (a file target writes them; only the user can send them)."""
    kinds = {t.name: t for t in targets}
    lines = []
    for name, counts in report.counts().items():
        target = kinds.get(name)
        if target is not None and target.sends_mail:
            # "7 created" would count the events the mail announced; what happened is a mail.
            people = {p.email.lower() for t, a in report.applied
                      if t == name and a.ok and isinstance(a.change.item, Message)
                      for p in a.change.item.to}
            line = f"{name}: sent to {len(people)} {'person' if len(people) == 1 else 'people'}"
            if counts.get("failed"):
                line += f", {counts['failed']} failed"
            lines.append(line)
            continue
        lines.append(f"{name}: " + ", ".join(f"{n} {PAST[action]}"
                                             for action, n in counts.items()))
    local = {t.name for t in targets if t.writes_files}
    drafts: list[str] = []
    invites: list[str] = []
    for name, applied in report.applied:
        if (name not in local or not applied.ok or applied.change.action is Action.KEEP
                or not applied.remote_id or not (out_dir / applied.remote_id).is_file()):
            continue
        if applied.change.kind == "message" and applied.change.action is not Action.CREATE:
            continue  # a rewritten copy (the kickoff after an edit): the members have it
        bucket = drafts if applied.change.kind == "message" else invites
        if applied.remote_id not in bucket:
            bucket.append(applied.remote_id)
    if drafts or invites:
        lines.append(f"Files are in {out_dir}")
    if drafts:
        lines.append(f"Send {', '.join(drafts)} from your mail program: "
                     f"{'it is a draft' if len(drafts) == 1 else 'they are drafts'} with the "
                     "invites attached.")
    if invites:
        lines.append(("Or send the invites alone: " if drafts else "Send the members: ")
                     + ", ".join(invites) + " (each opens in their calendar).")
    return lines
