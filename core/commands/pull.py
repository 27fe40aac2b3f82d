"""`alliance pull FILE --to TARGET`: bring what was changed in a calendar back into the file.

Reads what each recorded object looks like in that calendar now (one batched read, as
`plan --check-remote` does) and the occurrences changed one by one (the incremental read
`status --to` uses), maps what it can to keys of the alliance file (core/pull.py), shows
the change as a unified diff and writes it once the user agrees. The records of the objects
whose every change the file now says take the calendar's version marker: the next plan has
nothing to fight, and `setup` tells the members through the usual change summary.
"""

from __future__ import annotations

import difflib
import os
import stat
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import click

from ..config import Config
from ..errors import AllianceError, BadInput
from ..journal import load_journal
from ..load import load
from ..plan import record_kind
from ..pull import Pull, plan_pull
from ..run import default_out_dir, describe_drift
from ..schedule import organizer_for
from ..state import Record, State
from ..target import (
    NotSupported,
    Options,
    RemoteVersion,
    SyncPoint,
    Target,
    load_target,
    loadable_targets,
)


def readers() -> list[str]:
    """The installed targets that can read a calendar back (they implement the hook)."""
    return [name for name, cls in loadable_targets().items() if _reads_back(cls)]


def _reads_back(cls: type[Target]) -> bool:
    return cls.remote_versions is not Target.remote_versions


def run_pull(file: Path, config: Config, to: str, *, yes: bool, dry_run: bool = False) -> int:
    """The whole command; returns the exit code (errors are raised for the CLI).

    As `setup`: `dry_run` shows what would be written and exits 0 (a preview is no error);
    without a terminal to ask and without `yes`, nothing is written and the exit is 1 — a
    cron job meant to pull is told it did not (a refusal to act is)."""
    alliance = load(file)
    cls = load_target(to)
    if not _reads_back(cls):
        raise BadInput(f"the {to} target cannot read a calendar back", key="--to",
                       hint=f"pull from one of: {', '.join(readers()) or '(none installed)'}")
    options = Options(out_dir=default_out_dir(alliance, config),
                      organizer=organizer_for(alliance, config.defaults.organizer))
    target = cls(config, options)
    state = State()
    recorded = state.records(alliance.id, target.instance)
    target.recall(alliance.id, recorded)  # where its calendar of its own is: not looked up
    records = {k: r for k, r in recorded.items() if r.active and record_kind(r) == "event"}
    if not records:
        raise BadInput(f"nothing of {alliance.id} is recorded for {target.instance}",
                       file=file, key="--to",
                       hint=f"run setup first: alliance setup {file} --to {to}")
    text = _read(file)
    target.check_ready()
    with state.locked(alliance.id):
        remote = target.remote_versions(alliance.id, records)
        drifted: list[tuple[Record, RemoteVersion]] = []
        for key, record in records.items():
            found = remote.get(key, RemoteVersion(key, deleted=True))
            if describe_drift(record, found) is not None:
                drifted.append((record, found))
        exceptions = _exceptions(target, alliance.id, records, state)
        journal = load_journal(alliance)
        result = plan_pull(alliance, text, drifted, exceptions=exceptions, journal=journal,
                           organizer=config.defaults.organizer)
        if not drifted and not result.left:
            click.echo(f"Nothing was changed in the {to} calendar since the last setup: "
                       f"{file} already says what it shows.")
            return 0
        if not result.edits and not result.left:
            # Changed in the calendar, and the file was edited to say so already.
            _adopt(state, alliance.id, target.instance, records, remote, result)
            click.echo(f"{file} already says what the {to} calendar shows "
                       f"({', '.join(r.key for r, _ in drifted)} changed there): nothing to "
                       "write.")
            return 0
        _show(file, to, text, result)
        if not result.edits:
            return 0
        if dry_run:
            click.echo(f"\nNothing written (--dry-run). To write these changes: alliance pull "
                       f"{file} --to {to} --yes")
            return 0
        if not yes:
            if not _interactive():
                raise AllianceError(f"{file}: nothing written — there is no terminal to ask; "
                                    f"review the diff above, then add --yes to write it "
                                    f"(--dry-run only shows it)")
            if not click.confirm(f"\nWrite these changes to {file}?", default=False):
                click.echo("Nothing written.")
                return 0
        _write_atomically(file, result.text)
        _adopt(state, alliance.id, target.instance, records, remote, result)
    click.echo(f"Wrote {file} ({len(result.edits)} change(s)). Next: alliance plan {file} "
               f"shows the update; alliance setup {file} tells the members.")
    return 0


def _interactive() -> bool:
    """Whether someone is there to answer the question (stdin is a terminal)."""
    return sys.stdin.isatty()


def _read(file: Path) -> str:
    """The file exactly as it is (line endings and a byte-order mark kept)."""
    with open(file, encoding="utf-8", newline="") as handle:
        return handle.read()


def _exceptions(target: Target, alliance_id: str, records: dict[str, Record],
                state: State) -> dict[str, list[str]]:
    """Occurrences changed one by one, read incrementally from where `status --to` left
    off (and the new sync point kept, as status does)."""
    stored = state.sync_point(alliance_id, target.instance)
    try:
        read = target.responses(alliance_id, records, SyncPoint(*stored) if stored else None)
    except NotSupported:
        return {}
    state.put_sync_point(alliance_id, target.instance, read.sync.token, read.sync.cache)
    found = read.sync.cache.get("exceptions", {})
    return {str(k): [str(s) for s in v] for k, v in found.items() if k in records and v}


def _show(file: Path, to: str, text: str, result: Pull) -> None:
    if result.edits:
        diff = difflib.unified_diff(text.splitlines(keepends=True),
                                    result.text.splitlines(keepends=True),
                                    fromfile=f"{file}", tofile=f"{file} (from {to})")
        for line in diff:
            click.echo(line.rstrip("\r\n"))
    for line in result.also:
        click.echo(f"note: {line}")
    for line in result.left:
        click.echo(f"not brought back: {line}")
    if result.left:
        click.echo(f"  (edit the file by hand, or `alliance setup {file} --to {to} --force` "
                   "to put the calendar back)")


def _write_atomically(file: Path, text: str) -> None:
    """A temporary file beside it, then a rename: a crash leaves the old file or the new
    one, never half of one. The mode is kept; a symlink keeps pointing at the file."""
    path = file.resolve()
    mode = stat.S_IMODE(path.stat().st_mode)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise AllianceError(f"{file}: could not be written ({exc.strerror}) — nothing was "
                            "changed; check the folder's permissions") from None


def _adopt(state: State, alliance_id: str, instance: str, records: dict[str, Record],
           remote: dict[str, RemoteVersion], result: Pull) -> None:
    """The records of fully pulled objects take the calendar's fields and version: what we
    know is there. Their fingerprint stays, so the plan still updates them (SEQUENCE + 1)
    and the members hear of the new time through the change summary."""
    adopted = []
    for key in result.adopted:
        event, record, found = result.events.get(key), records.get(key), remote.get(key)
        if event is None or record is None or found is None:
            continue
        now = event.summary
        adopted.append(replace(record, summary={
            **record.summary, **{n: now.get(n) for n in ("start", "end", "rrule", "location")},
            "version": found.version}))
    if adopted:
        state.put_many(alliance_id, instance, adopted)
