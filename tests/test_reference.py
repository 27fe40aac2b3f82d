"""The file-format reference and `template --full` are generated from the loader itself."""

from __future__ import annotations

import re
import tomllib

from designed_alliance.core.load import loads
from designed_alliance.core.schema import DESCRIPTIONS, EXAMPLES, reference, schema

from .conftest import ROOT


def full_name(table: str, name: str) -> str:
    return f"{table}.{name}" if table else name


def test_docs_file_is_what_the_loader_generates() -> None:
    committed = (ROOT / "docs" / "alliance-file.md").read_text(encoding="utf-8")
    assert committed == reference(), (
        "docs/alliance-file.md is stale: python -m designed_alliance.core.schema > "
        "docs/alliance-file.md")


def test_every_key_the_loader_reads_is_described_and_nothing_else() -> None:
    keys = {full_name(k.table, k.name) for k in schema()}
    assert {k for k in keys if not DESCRIPTIONS.get(k)} == set(), "describe new keys"
    assert set(DESCRIPTIONS) - keys == set(), "a described key the loader no longer reads"
    # The keys the brief names are in the reference (found by tracing, not by a list).
    assert {"review", "review.time", "members[].role", "commitments[].notes",
            "measures[].unit", "measures[].owner", "celebration.where",
            "celebration.duration"} <= keys
    inline = {k for k in schema() if "." in k.table}  # inside another key's inline table
    assert {k for k in keys if "." in k or k == "reflection"} - set(EXAMPLES) == {
        full_name(k.table, k.name) for k in inline}
    for k in inline:
        assert f"{k.name} = " in EXAMPLES[k.table.removesuffix("[]")], k


def test_docs_table_rows_name_every_key() -> None:
    text = (ROOT / "docs" / "alliance-file.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([a-z_]+)` \|", text, re.M))
    assert {k.name for k in schema() if k.table} <= rows


def test_full_template_holds_every_key_and_loads_once_filled(cli) -> None:
    result = cli("template", "--full")
    assert result.exit_code == 0
    text = result.output
    # Every key appears, set or commented out, in its own table.
    table = ""
    seen: set[str] = set()
    for line in text.splitlines():
        header = re.match(r"^(?:# )?\[\[?([a-z_.]+)\]\]?$", line)
        if header:
            table = header.group(1)
            seen.add(table)
            continue
        key = re.match(r"^(?:# )?([a-z_]+) = ", line)
        if key:
            seen.add(full_name(table, key.group(1)))
    expected = {full_name(k.table, k.name) for k in schema() if not k.table.endswith("[]")}
    expected = {e.replace("[]", "") for e in expected}
    assert expected <= seen, expected - seen
    # Unfilled, the loader refuses it (placeholders); filled in, it loads.
    filled = re.sub(r"<([^<>]*)>", lambda m: "filled in" if "@" not in m.group(1)
                    else "ana@example.com", text)
    assert "<" not in filled
    parsed = tomllib.loads(filled)  # tomllib, not our loader, reads the layout
    assert parsed["checkins"]["every"] == "week" and "review" not in parsed
    alliance = loads(filled)
    assert alliance.members[0].email == "ana@example.com"
    assert cli("template", "--full").output != text  # a fresh id each time


def test_full_template_uncommented_options_are_valid_values() -> None:
    """Each commented example is a value the loader accepts for its key."""
    from designed_alliance.core.commands.template import run_full

    text = run_full()
    for line in text.splitlines():
        match = re.match(r"^# ([a-z_]+) = (.+)$", line)
        if match:
            tomllib.loads(f"{match.group(1)} = {match.group(2)}")
