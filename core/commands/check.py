"""`alliance check`: every error of every file (exit 2), then the assumption busters.

Like a linter: a bad file does not hide the others' results, and a file's errors are all
reported, not only the first. Each valid file gets its warnings or its "ok" line.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..check import check
from ..errors import BadInput
from ..load import diagnose


def _error_dict(error: BadInput) -> dict:
    return {"file": error.file, "line": error.line, "key": error.key, "problem": error.problem,
            "hint": error.hint, "message": str(error)}


def run(files: list[Path], *, strict: bool, as_json: bool) -> int:
    report = []
    errors = 0
    warnings = 0
    for path in files:
        alliance, problems = diagnose(path)
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
    if as_json:
        click.echo(json.dumps({"files": report, "errors": errors, "warnings": warnings},
                              indent=2))
    if errors:
        return 2
    return 1 if strict and warnings else 0
