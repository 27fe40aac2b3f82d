"""The `alliance` command: parses options and hands over to core/commands. Nothing else.

Imports that cost are done inside each command, so `alliance --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from designed_alliance import __version__

from .errors import AllianceError

FORMATS = ("md", "html", "json")
# One path type for every option: click looks its name up in gettext's catalogues each time
# one is made (a few stats apiece), which was 20 lookups at import of this module.
PATH = click.Path(path_type=Path)


class AllianceGroup(click.Group):
    """Catches the one user-error type once, prints one line, exits 1 or 2."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except AllianceError as exc:
            click.echo(f"alliance: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("alliance: interrupted; what was done is recorded — run it again to "
                       "finish", err=True)
            ctx.exit(130)
        except click.Abort as exc:
            # click turns Ctrl-C at a prompt into Abort ("Aborted!", exit 1); keep Ctrl-C's 130.
            if not isinstance(exc.__context__, KeyboardInterrupt):
                raise
            click.echo("alliance: interrupted; nothing more was done", err=True)
            ctx.exit(130)


def _targets(value: tuple[str, ...]) -> list[str] | None:
    names = [n.strip() for chunk in value for n in chunk.split(",") if n.strip()]
    return names or None


@click.group(cls=AllianceGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="alliance")
@click.option("--config", "config_path", type=PATH,
              help="User configuration file (default: config.toml in the user config dir).")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Turn a designed alliance into calendar invites and email that keep it alive.

    \b
    Start here:
      alliance template > alliance.toml     # or: alliance init (asks the questions)
      alliance check alliance.toml          # what a coach would question
      alliance plan alliance.toml           # what would be created, changed, cancelled
      alliance setup alliance.toml          # .ics invites + kickoff.eml in alliance-out/
                                            # beside the file (or a folder: setup team/)
    """
    ctx.obj = {"config_path": config_path}
    if os.environ.get("NO_COLOR"):
        ctx.color = False  # https://no-color.org: honoured on a terminal too


def _config(ctx: click.Context):
    from .config import load_config

    path = ctx.obj.get("config_path")
    return load_config(path, explicit=path is not None)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=PATH)
@click.option("--strict", is_flag=True, help="Exit 1 when there are warnings.")
@click.option("--json", "as_json", is_flag=True, help="Print findings as JSON.")
def check(files: tuple[Path, ...], strict: bool, as_json: bool) -> None:
    """Validate alliance files and raise the assumption busters.

    \b
    Example:
      alliance check alliance.toml --strict
    """
    from .commands.check import run

    sys.exit(run(list(files), strict=strict, as_json=as_json))


@cli.command()
@click.argument("file", type=PATH)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="md", show_default=True)
@click.pass_context
def show(ctx: click.Context, file: Path, fmt: str) -> None:
    """Print the agreement as a readable document.

    \b
    Example:
      alliance show alliance.toml --format html > alliance.html
    """
    from .commands.show import run

    click.echo(run(file, fmt, _config(ctx) if ctx.obj.get("config_path") else None), nl=False)


@cli.command()
@click.option("--full", is_flag=True, help="Every key the file may hold, each explained.")
def template(full: bool) -> None:
    """Print a blank, commented alliance file to fill in.

    \b
    Examples:
      alliance template > alliance.toml
      alliance template --full          # the reference: every key, commented
    """
    from .commands.template import run, run_full

    click.echo(run_full() if full else run(), nl=False)


def _run_options(func):
    func = click.option("--to", "to", multiple=True,
                        help="Targets, comma separated: ics, eml, google, outlook, caldav, "
                        "smtp (default from config, else ics,eml).")(func)
    func = click.option("--out", "out", type=PATH,
                        help="Output folder for ics/eml (default: [defaults] output_dir, "
                        "else alliance-out/<id> beside the alliance file).")(func)
    return func


@cli.command()
@click.argument("file", metavar="FILE|DIR", type=PATH)
@_run_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--check-remote", is_flag=True,
              help="Also read the calendars: show what was changed or deleted there since "
              "the last setup (one request per calendar).")
@click.pass_context
def plan(ctx: click.Context, file: Path, to: tuple[str, ...], out: Path | None,
         as_json: bool, check_remote: bool) -> None:
    """Show what setup would create, update, cancel or keep. Changes nothing.

    DIR plans every alliance file in it (*.toml, not the *.progress.toml journals).

    \b
    Examples:
      alliance plan alliance.toml --to ics,eml
      alliance plan alliances/
      alliance plan alliance.toml --to google --check-remote
    """
    from .commands.setup import plan_only

    sys.exit(plan_only(file, _config(ctx), _targets(to), out, as_json=as_json,
                       check_remote=check_remote))


@cli.command()
@click.argument("file", metavar="FILE|DIR", type=PATH)
@_run_options
@click.option("--notify", type=click.Choice(["all", "external", "none"]),
              help="Whom remote calendars notify of changes (default: all).")
@click.option("--send", is_flag=True, help="Really send the kickoff / change email (smtp).")
@click.option("--resend", is_flag=True,
              help="With --send: send again to members for whom an earlier run could not "
              "tell whether the mail arrived (check their mailbox first); with a draft "
              "target (google, outlook): draft a kickoff again that could not be told sent.")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking (needed without a "
              "terminal, e.g. in cron: else nothing is applied and the exit is 1).")
@click.option("--dry-run", is_flag=True, help="Print the plan and stop (exit 0).")
@click.option("--force", is_flag=True, help="Allow a plan that cancels more than a third, "
              "an id that another file set up under another title (a rename), or one that "
              "overwrites what was changed in the calendar since the last setup.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report (no progress).")
@click.pass_context
def setup(ctx: click.Context, file: Path, to: tuple[str, ...], out: Path | None,
          notify: str | None, send: bool, resend: bool, yes: bool, dry_run: bool,
          force: bool, as_json: bool) -> None:
    """Create or update everything the alliance needs, and only what changed.

    DIR sets up every alliance file in it (*.toml, not the *.progress.toml journals), one
    plan each, and ends with one summary line; a bad file does not stop the others. Exit 2
    if any file was bad input, 1 if any failed.

    \b
    Examples:
      alliance setup alliance.toml                 # alliance-out/<id>/ beside the file
      alliance setup alliances/ --yes              # every alliance in the folder
      alliance setup alliance.toml --to google --dry-run
      alliance setup alliance.toml --to caldav,smtp --send
    """
    from .commands.setup import run

    sys.exit(run(file, _config(ctx), _targets(to), out, notify=notify, send=send, yes=yes,
                 dry_run=dry_run, force=force, as_json=as_json, resend=resend))


@cli.command()
@click.argument("file", metavar="FILE|DIR", type=PATH)
@_run_options
@click.option("--notify", type=click.Choice(["all", "external", "none"]))
@click.option("--send", is_flag=True, help="Really send the cancellation email (smtp).")
@click.option("--yes", "-y", is_flag=True, help="Do it without asking.")
@click.option("--dry-run", is_flag=True, help="Print the plan and stop.")
@click.option("--force", is_flag=True,
              help="Even when another file set this id up under another title; and needed "
              "by --remove-calendar.")
@click.option("--remove-calendar", is_flag=True,
              help='Then delete the calendar setup made for the alliance (calendar = '
              '"dedicated") whole; refused for a primary or chosen calendar.')
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def teardown(ctx: click.Context, file: Path, to: tuple[str, ...], out: Path | None,
             notify: str | None, send: bool, yes: bool, dry_run: bool, force: bool,
             remove_calendar: bool, as_json: bool) -> None:
    """Cancel everything setup created for this alliance (or each alliance in DIR).

    \b
    Examples:
      alliance teardown alliance.toml --yes
      alliance teardown alliance.toml --to google --remove-calendar --force --yes
    """
    from .commands.setup import run

    sys.exit(run(file, _config(ctx), _targets(to), out, notify=notify, send=send, yes=yes,
                 dry_run=dry_run, force=True, as_json=as_json, teardown=True,
                 force_owner=force, remove_calendar=remove_calendar))


@cli.command()
@click.argument("file", type=PATH, default="alliance.toml")
@click.option("--from-answers", "answers", type=PATH,
              help="Take the answers from a JSON file instead of asking (see below).")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.option("--resume", is_flag=True,
              help="Continue from the answers saved when the wizard was interrupted.")
def init(file: Path, answers: Path | None, force: bool, resume: bool) -> None:
    """Ask the designed-alliance questions and write an alliance file that loads.

    \b
    Examples:
      alliance init                       # asks, writes ./alliance.toml
      alliance init team.toml --from-answers answers.json
      alliance init --resume              # after Ctrl-C or a failure

    Each answer is checked as you type it; type < (or back) to go back one question.
    Answers are saved as you go (a 0600 file in the user state dir).

    The answers file is JSON with the keys title, goal, why, pain, timezone, starts,
    deadline, review_every, members, measures, commitments, use, avoid, checkins and
    celebration (the wizard asks for each); see `python -m pydoc
    designed_alliance.core.commands.init` for the full shape.
    """
    from .commands.init import run

    run(file, answers_file=answers, force=force, resume=resume)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Check the configuration, credentials, servers and time zone data; say what to fix.

    \b
    Example:
      alliance --config ~/alliance.toml doctor
    """
    from .commands.doctor import run

    sys.exit(run(ctx.obj.get("config_path"), as_json=as_json))


@cli.group()
def config() -> None:
    """The user configuration file.

    \b
    Example:
      alliance config init --only caldav    # write the commented example
      alliance config path                  # where it is read from
    """


@config.command(name="init")
@click.option("--only", type=click.Choice(["google", "outlook", "caldav", "smtp"]),
              help="Only this section (added to an existing file that lacks it).")
@click.pass_context
def config_init(ctx: click.Context, only: str | None) -> None:
    """Write the commented example configuration (0600); never overwrites.

    \b
    Examples:
      alliance config init
      alliance config init --only outlook
    """
    from .config import init_config

    click.echo(init_config(ctx.obj.get("config_path"), only=only))


@config.command(name="path")
@click.pass_context
def config_path_command(ctx: click.Context) -> None:
    """Print the path of the configuration file (whether it exists or not).

    \b
    Example:
      $EDITOR "$(alliance config path)"
    """
    from .config import default_path

    click.echo(str(ctx.obj.get("config_path") or default_path()))


@config.command()
def schema() -> None:
    """Print the JSON Schema of the configuration file.

    \b
    Example:
      alliance config schema
    """
    import json

    from .config_schema import schema

    click.echo(json.dumps(schema(), indent=2))


@cli.command()
@click.argument("provider", metavar="PROVIDER")
@click.option("--browser/--no-browser", default=None,
              help="google: open the browser (default) or print the URL; outlook: use the "
              "browser instead of a device code.")
@click.option("--forget", is_flag=True, help="Remove the stored sign-in instead.")
@click.pass_context
def auth(ctx: click.Context, provider: str, browser: bool | None, forget: bool) -> None:
    """Sign in to a calendar provider once (google, outlook, or any installed target with a
    sign-in); the token is kept in the keyring (or a 0600 file).

    \b
    Examples:
      alliance auth google                 # browser sign-in, loopback redirect
      alliance auth outlook                # device code: works over SSH
      alliance auth outlook --browser
    """
    from .commands.auth import run

    click.echo(run(provider, _config(ctx), browser=browser, forget=forget))


_ENTRY_OPTIONS = (
    click.option("--on", "on", metavar="DATE",
                 help="The day it happened, like 2027-01-15 (default: today in the alliance's "
                 "time zone)."),
    click.option("--by", "by", metavar="MEMBER", help="Who did it: a member id."),
    click.option("--note", "note", metavar="TEXT", help="A note kept with the entry."),
)


def _entry_options(func):
    for option in reversed(_ENTRY_OPTIONS):
        func = option(func)
    return func


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("file", type=PATH)
@click.argument("measure")
@click.argument("value")
@_entry_options
def log(file: Path, measure: str, value: str, on: str | None, by: str | None,
        note: str | None) -> None:
    """Add a reading of a measure to the progress journal (FILE's .progress.toml).

    MEASURE is the measure's name (any case) or its `id`; VALUE a number.

    \b
    Example:
      alliance log team.toml "Pages migrated" 12 --by ben --note "templates are in"
    """
    from .commands.progress import log as run

    click.echo(run(file, measure, value, on=on, by=by, note=note), nl=False)


@cli.command()
@click.argument("file", type=PATH)
@click.argument("commitment")
@_entry_options
def done(file: Path, commitment: str, on: str | None, by: str | None,
         note: str | None) -> None:
    """Record in the progress journal that a commitment is done.

    What waits on it (`after` + `takes`) moves to count from that day.

    \b
    Example:
      alliance done team.toml design --on 2027-01-06 --by ben
    """
    from .commands.progress import done as run

    click.echo(run(file, commitment, on=on, by=by, note=note), nl=False)


@cli.command()
@click.argument("file", type=PATH)
@click.option("--on", "on", metavar="DATE", help="Status as of this day (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option("--to", "to", multiple=True,
              help="Also read the members' answers back from this calendar: google, outlook "
              "or caldav (without it, status stays offline).")
@click.pass_context
def status(ctx: click.Context, file: Path, on: str | None, as_json: bool,
           to: tuple[str, ...]) -> None:
    """Measures against their target line, commitments against their dates, who is next.

    \b
    Examples:
      alliance status team.toml
      alliance status team.toml --on 2027-02-01 --json
      alliance status team.toml --to google        # who accepted, who declined what
    """
    from .commands.progress import show_status

    names = _targets(to)
    click.echo(show_status(file, on=on, as_json=as_json, to=names,
                           config=_config(ctx) if names or ctx.obj.get("config_path")
                           else None), nl=False)


@cli.command()
@click.argument("file", type=PATH)
@click.option("--to", "to", required=True, metavar="TARGET",
              help="The calendar to read back: google, outlook or caldav.")
@click.option("--yes", is_flag=True, help="Write the changes without asking (needed "
              "without a terminal, e.g. in cron).")
@click.option("--dry-run", is_flag=True, help="Show the diff and stop (exit 0).")
@click.pass_context
def pull(ctx: click.Context, file: Path, to: str, yes: bool, dry_run: bool) -> None:
    """Bring what was changed in a calendar back into the alliance file.

    Someone moved the check-ins to 10:00 in Google, or gave them another room: pull reads
    what the calendar says now and writes it into the keys that say it (check-in time,
    day, duration and place; review time and duration; the celebration's date, time and
    place; a commitment's hard `due`). It shows the change as a diff and asks first;
    comments and layout stay as you wrote them. What no key can say (a new title, a
    deleted event, one occurrence moved) is listed instead. Then `setup` tells the members.

    As with `setup`: without a terminal to ask (cron, CI) and without --yes, nothing is
    written and the exit is 1, so a job meant to pull notices it did not; --dry-run is the
    preview, exit 0. Nothing to bring back is exit 0 either way.

    \b
    Examples:
      alliance pull team.toml --to google          # shows the diff, asks before writing
      alliance pull team.toml --to google --dry-run   # shows the diff only
      alliance pull team.toml --to caldav --yes    # writes without asking
      alliance setup team.toml --to google         # then: the change summary
    """
    from .commands.pull import run_pull

    ctx.exit(run_pull(file, _config(ctx), to.strip(), yes=yes, dry_run=dry_run))


def _mail_options(func):
    func = click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")(func)
    func = click.option("--dry-run", is_flag=True,
                        help="Show what would be written or sent; write nothing.")(func)
    func = click.option("--send", is_flag=True,
                        help="Really send it by email (smtp), once per member.")(func)
    return _run_options(func)


@cli.command()
@click.argument("file", type=PATH)
@click.option("--on", "on", metavar="DATE",
              help="The agenda of the next check-in or review on or after DATE (default: "
              "today).")
@_mail_options
@click.pass_context
def agenda(ctx: click.Context, file: Path, on: str | None, to: tuple[str, ...],
           out: Path | None, send: bool, dry_run: bool, as_json: bool) -> None:
    """Write the next meeting's agenda: the agreed questions, each measure against its
    target line, what is overdue or due soon, what was done since the last check-in.

    \b
    Writes agenda-YYYY-MM-DD.eml (or a draft with --to google/outlook); running it again for
    the same meeting updates it, never duplicates it. Examples:
      alliance agenda team.toml
      alliance agenda team.toml --on 2027-02-01 --send
    """
    from .commands.remind import run_agenda

    click.echo(run_agenda(file, _config(ctx), on=on, to=_targets(to), out=out, send=send,
                          dry_run=dry_run, as_json=as_json), nl=False)


@cli.command()
@click.argument("file", type=PATH)
@click.option("--on", "on", metavar="WHEN",
              help="Act as if it were this date or date-time (default: now), e.g. "
              "2027-02-01T08:00.")
@click.option("--days-before", default=2, show_default=True, type=click.IntRange(0, 30),
              help="Nudge a member this many days before their own deadline.")
@_mail_options
@click.pass_context
def remind(ctx: click.Context, file: Path, on: str | None, days_before: int,
           to: tuple[str, ...], out: Path | None, send: bool, dry_run: bool,
           as_json: bool) -> None:
    """The hourly job: the agenda the day before each meeting, and nudges to each member
    whose deadline is near or whose reading is missing. Each goes out once.

    \b
    Examples:
      alliance remind team.toml --dry-run          # what would go out now
      alliance remind team.toml --on 2027-02-01T08:00
    Safe to run every hour. cron (crontab -e):
      0 * * * *  alliance remind /path/to/team.toml --send
    systemd (a user timer):
      ~/.config/systemd/user/alliance-remind.service:
        [Service]
        Type=oneshot
        ExecStart=%h/.local/bin/alliance remind %h/team.toml --send
      ~/.config/systemd/user/alliance-remind.timer:
        [Timer]
        OnCalendar=hourly
        Persistent=true
        [Install]
        WantedBy=timers.target
      systemctl --user enable --now alliance-remind.timer
    """
    from .commands.remind import run_remind

    click.echo(run_remind(file, _config(ctx), on=on, to=_targets(to), out=out, send=send,
                          dry_run=dry_run, as_json=as_json, days_before=days_before), nl=False)


def main() -> None:
    cli(prog_name="alliance")
