"""`alliance check`: load (errors exit 2), then print the assumption busters."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..check import check
from ..load import load


def run(files: list[Path], *, strict: bool, as_json: bool) -> int:
    # Load everything first: one bad file fails the command before anything is printed.
    loaded = [(path, load(path)) for path in files]
    report = []
    total = 0
    for path, alliance in loaded:
        findings = check(alliance)
        total += len(findings)
        report.append({"file": str(path), "alliance": alliance.id,
                       "warnings": [f.as_dict() for f in findings]})
        if not as_json:
            for finding in findings:
                where = f"{path}:{finding.line}" if finding.line else str(path)
                click.echo(f"{where}: {finding.key}: warning: {finding.message} "
                           f"[{finding.code}]")
            if not findings:
                click.echo(f"{path}: ok — {alliance.title!r} has no open questions")
    if as_json:
        click.echo(json.dumps({"files": report, "warnings": total}, indent=2))
    return 1 if strict and total else 0
