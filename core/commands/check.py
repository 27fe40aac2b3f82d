"""`alliance check`: every error of every file (exit 2), then the assumption busters.

Like a linter: a bad file does not hide the others' results, and a file's errors are all
reported, not only the first. Each valid file gets its warnings or its "ok" line. A folder
stands for its alliance files (see `alliance_files`) and gets a summary line; a progress
journal (`team.progress.toml`, as `check *.toml` passes it) is checked against the alliance
file beside it.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..check import check, journal_findings
from ..errors import BadInput
from ..load import diagnose

# The journal's own suffix (core/journal.py: SUFFIX), here so `check` does not import the
# journal module, which costs (it writes files) — only a journal passed in needs it.
SUFFIX = ".progress.toml"


def alliance_files(folder: Path) -> list[Path]:
    """The alliance files of a folder, sorted: `*.toml`, not the progress journals."""
    return sorted(p for p in folder.glob("*.toml")
                  if not p.name.endswith(SUFFIX) and p.is_file())


def _expand(paths: list[Path]) -> tuple[list[Path], bool]:
    """Folders replaced by their alliance files; and whether there was a folder."""
    files: list[Path] = []
    folder = False
    for path in paths:
        if path.is_dir():
            found = alliance_files(path)
            if not found:
                raise BadInput("has no alliance files (*.toml)", file=path,
                               hint="give an alliance file, or a folder that holds some")
            files += found
            folder = True
        else:
            files.append(path)
    return files, folder


def _check_journal(path: Path) -> tuple[str | None, list[BadInput], list]:
    """A progress journal: loaded as strictly as `log` and `status` load it, against the
    alliance file it sits beside; then what it busts (hard dues it made too tight)."""
    from ..journal import loads_journal

    owner = path.with_name(path.name[: -len(SUFFIX)] + ".toml")
    if not owner.is_file():
        return None, [BadInput(f"is a progress journal, but {owner.name} (its alliance "
                               "file) is not beside it", file=path,
                               hint="keep the journal next to its alliance file")], []
    alliance, problems = diagnose(owner)
    if alliance is None or problems:
        # Its errors are the alliance file's, reported with that file: one line here.
        return None, [BadInput(f"is the progress journal of {owner.name}, which does not "
                               "load", file=path,
                               hint=f"fix {owner} first (alliance check {owner})")], []
    try:
        journal = loads_journal(path.read_text(encoding="utf-8"), alliance, path)
    except BadInput as exc:
        return alliance.title, [exc], []
    except (OSError, UnicodeDecodeError) as exc:
        return alliance.title, [BadInput(f"cannot be read ({exc})", file=path,
                                         hint="save it as UTF-8 text")], []
    return alliance.title, [], journal_findings(alliance, journal)


def _error_dict(error: BadInput) -> dict:
    return {"file": error.file, "line": error.line, "key": error.key, "problem": error.problem,
            "hint": error.hint, "message": str(error)}


def run(paths: list[Path], *, strict: bool, as_json: bool) -> int:
    report = []
    errors = 0
    warnings = 0
    files, folder = _expand(paths)
    ok = bad = 0
    for path in files:
        if path.name.endswith(SUFFIX):
            title, journal_problems, busted = _check_journal(path)
            errors += len(journal_problems)
            warnings += len(busted)
            bad += bool(journal_problems)
            report.append({"file": str(path), "journal_of": title,
                           "errors": [_error_dict(e) for e in journal_problems],
                           "warnings": [f.as_dict() for f in busted]})
            if not as_json:
                for problem in journal_problems:
                    click.echo(f"alliance: {problem}", err=True)
                for finding in busted:
                    where = f"{path}:{finding.line}" if finding.line else str(path)
                    click.echo(f"{where}: {finding.key}: warning: {finding.message} "
                               f"[{finding.code}]")
                if not journal_problems and not busted:
                    click.echo(f"{path}: ok — the progress journal of {title!r}")
            continue
        alliance, problems = diagnose(path)
        bad += bool(problems)
        errors += len(problems)
        entry: dict = {"file": str(path), "alliance": alliance.id if alliance else None,
                       "errors": [_error_dict(e) for e in problems], "warnings": []}
        report.append(entry)
        if not as_json:
            for problem in problems:
                click.echo(f"alliance: {problem}", err=True)
        if alliance is None:
            continue
        findings = check(alliance)
        warnings += len(findings)
        entry["warnings"] = [f.as_dict() for f in findings]
        if not as_json:
            for finding in findings:
                where = f"{path}:{finding.line}" if finding.line else str(path)
                click.echo(f"{where}: {finding.key}: warning: {finding.message} "
                           f"[{finding.code}]")
            if not findings:
                click.echo(f"{path}: ok — {alliance.title!r} has no open questions")
        ok += not problems and not findings
    if folder and not as_json:
        total = len(files)
        click.echo(f"{total} {'file' if total == 1 else 'files'}: {ok} ok, "
                   f"{total - ok - bad} with warnings, {bad} bad input")
    if as_json:
        click.echo(json.dumps({"files": report, "errors": errors, "warnings": warnings},
                              indent=2))
    if errors:
        return 2
    return 1 if strict and warnings else 0
