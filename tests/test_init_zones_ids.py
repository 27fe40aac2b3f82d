"""The wizard's zone default and member ids come from the loader's own helpers."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from designed_alliance.core.commands.init import local_zone
from designed_alliance.core.load import load

from .test_init import ANSWERS


@pytest.mark.parametrize(("tz", "meant"), [
    ("US/Eastern", "America/New_York"), ("EST5EDT", "America/New_York"),
    (":Europe/Berlin", "Europe/Berlin"), ("Japan", "Asia/Tokyo"),
    ("GMT", "Europe/London"),
])
def test_the_system_zone_becomes_a_name_the_loader_accepts(monkeypatch, tz: str,
                                                           meant: str) -> None:
    monkeypatch.setenv("TZ", tz)
    assert local_zone() == meant


def test_a_posix_rule_in_tz_falls_back_to_a_loadable_zone(monkeypatch) -> None:
    from designed_alliance.core.zones import is_accepted

    monkeypatch.setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3")
    assert is_accepted(local_zone())


def test_the_template_with_a_legacy_tz_loads(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TZ", "US/Eastern")
    text = cli("template").output
    assert tomllib.loads(text)["alliance"]["timezone"] == "America/New_York"


def test_non_latin_names_get_readable_distinct_ids(cli, tmp_path: Path) -> None:
    answers = dict(ANSWERS)
    answers["members"] = [
        {"name": "Дмитрий Иванов", "email": "dima@example.com", "needs": ["Notes"],
         "offers": ["Chapters"]},
        {"name": "美咲", "email": "misaki@example.com", "needs": ["Chapters"],
         "offers": ["Notes"]},
        {"name": "健太", "email": "kenta@example.com", "needs": ["Notes"], "offers": ["Art"]},
    ]
    answers["commitments"] = [{"what": "Outline", "owner": "美咲", "due": "2027-01-22"}]
    answers["measures"] = []
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers, ensure_ascii=False))
    target = tmp_path / "book.toml"
    result = cli("init", target, "--from-answers", path)
    assert result.exit_code == 0, result.output
    ids = [m["id"] for m in tomllib.loads(target.read_text())["members"]]
    assert ids[0] == "dmitriy"
    assert all(re.fullmatch(r"m-[0-9a-f]{4}", i) for i in ids[1:]) and ids[1] != ids[2]
    alliance = load(target)
    assert alliance.commitments[0].owner == ids[1]
