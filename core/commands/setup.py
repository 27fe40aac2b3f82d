"""`alliance plan`, `setup` and `teardown`: build the plan, show it, apply it when asked."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..config import Config
from ..errors import AllianceError
from ..load import load
from ..run import (
    apply_plan,
    check_no_overwrite,
    check_safe,
    default_out_dir,
    desired,
    exception_notes,
    make_plan,
    make_targets,
    require_success,
)
from ..run import check_remote as check_remote_drift
from ..schedule import organizer_for
from ..state import State
from ..target import Options

PAST = {"create": "created", "update": "updated", "cancel": "cancelled", "failed": "failed"}


def _options(alliance, config: Config, out: Path | None, notify: str | None, send: bool,
             progress=None) -> Options:
    return Options(out_dir=out or default_out_dir(alliance, config),
                   notify=notify or config.defaults.notify, send=send,
                   organizer=organizer_for(alliance, config.defaults.organizer),
                   progress=progress)


def plan_only(file: Path, config: Config, to: list[str] | None, out: Path | None, *,
              as_json: bool, check_remote: bool = False) -> None:
    """Plan from recorded state only: no network, no file written — unless `check_remote`,
    which reads (never writes) the calendars for what was changed there."""
    alliance = load(file)
    targets = make_targets(to or list(config.defaults.targets), config,
                           _options(alliance, config, out, None, False))
    state = State()
    plan = exception_notes(make_plan(alliance, desired(alliance, config), targets, state),
                           state)
    if check_remote:
        for target in targets:
            if target.is_remote:
                target.check_ready()
        plan = check_remote_drift(plan, targets, state)
    if as_json:
        click.echo(json.dumps(plan.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(plan.render(color=sys.stdout.isatty()))


def mailers(config: Config) -> list[str]:
    """The targets that send mail: those configured, else every installed one (so its own
    check says what is missing)."""
    from ..target import loadable_targets

    senders = [name for name, cls in loadable_targets().items() if cls.sends_mail]
    configured = [name for name in senders if name in config.sections]
    return configured or senders


def _progress_printer(enabled: bool):
    if not enabled:
        return None

    def show(text: str) -> None:
        click.echo(f"\r\x1b[2K  {text}", err=True, nl=False)

    return show


def run(file: Path, config: Config, to: list[str] | None, out: Path | None, *,
        notify: str | None, send: bool, yes: bool, dry_run: bool, force: bool,
        as_json: bool, teardown: bool = False) -> None:
    alliance = load(file)
    interactive = sys.stderr.isatty() and not as_json
    options = _options(alliance, config, out, notify, send, _progress_printer(interactive))
    names = list(to or config.defaults.targets)
    if send:
        names += [n for n in mailers(config) if n not in names]  # --send: "and mail it"
    targets = make_targets(names, config, options)
    for target in targets:
        target.check_ready()
    want = desired(alliance, config)
    state = State()
    plan = make_plan(alliance, want, targets, state, teardown=teardown,
                     reconcile=not dry_run)
    plan = exception_notes(plan, state)
    if not teardown:
        # What someone changed in the calendar since our last write is not overwritten
        # silently: one read per target (shown by the plan), then a refusal unless --force.
        plan = check_remote_drift(plan, targets, state, writing_only=True)

    if dry_run:
        if as_json:
            click.echo(json.dumps(plan.as_dict(), indent=2, ensure_ascii=False))
        else:
            click.echo(plan.render(color=sys.stdout.isatty()))
            click.echo("\nDry run: nothing was written or sent.")
        return
    if not teardown:
        check_no_overwrite(plan, force)
    check_safe(plan, force)
    if not as_json:
        click.echo(plan.render(color=sys.stdout.isatty()))
    if not plan.has_changes:
        if as_json:
            click.echo(json.dumps({"plan": plan.as_dict(), "applied": [], "ok": True},
                                  indent=2))
        return
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
    report = apply_plan(alliance, want, plan, targets, state, progress=options.progress)
    if interactive:
        click.echo("\r\x1b[2K", err=True, nl=False)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo("")
        for name, counts in report.counts().items():
            parts = ", ".join(f"{n} {PAST[action]}" for action, n in counts.items())
            click.echo(f"{name}: {parts}")
        local = {t.instance for t in targets if t.writes_files}
        if any(part.instance in local and part.has_changes for part in plan.targets):
            click.echo(f"Files are in {options.out_dir}")
    require_success(report)
