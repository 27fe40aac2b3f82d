"""Each class of bad input: exit 2, one line naming file, key and line, and nothing written."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from .conftest import ROOT

BAD = sorted((ROOT / "tests" / "bad_inputs").glob("*.toml"))


def _expectations(path: Path) -> tuple[str, str]:
    head = path.read_text(encoding="utf-8").splitlines()[:2]
    key = head[0].split(":", 1)[1].strip()
    fragment = head[1].split(":", 1)[1].strip()
    return key, fragment


def _written(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
@pytest.mark.parametrize("command", ["check", "setup", "plan", "show"])
def test_bad_input_is_one_clear_line_and_exit_2(path: Path, command: str, cli, isolated: Path,
                                                tmp_path: Path) -> None:
    key, fragment = _expectations(path)
    before = _written(tmp_path)
    result = cli(command, path)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert "Traceback" not in result.output
    assert str(path) in line
    assert fragment in line
    if key:
        assert f" {key}: " in line
        number = re.search(rf"{re.escape(str(path))}:(\d+):", line)
        if key != "goal":
            assert number, line
        if number:
            # The line named is where the key (or its table) is written.
            written = path.read_text().splitlines()[int(number.group(1)) - 1]
            leaf = re.sub(r"\[\d+\]", "", key).split(".")[-1]
            assert leaf in written or "[" in written, (line, written)
    assert " — " in line or "fix" in line  # says what to do
    # Nothing written anywhere: no output folder, no state database.
    assert _written(tmp_path) == before
    assert not (Path(os.environ["XDG_STATE_HOME"]) / "designed-alliance").exists()


def test_every_class_of_bad_input_has_a_file() -> None:
    names = {p.stem for p in BAD}
    for needed in ["unknown_key", "wrong_type", "bad_date", "unknown_timezone",
                   "deadline_before_start", "duplicate_member", "duplicate_commitment",
                   "owner_unknown", "after_unknown", "sequence_cycle", "invalid_rrule",
                   "bad_email", "newline_in_title", "toml_syntax", "legacy_timezone",
                   "fixed_offset_timezone", "misspelled_timezone", "misspelled_required_key",
                   "control_character", "next_line_character", "line_separator",
                   "year_out_of_range", "huge_duration", "huge_cadence", "sub_daily_rrule",
                   "rrule_never_happens", "too_many_occurrences", "huge_number"]:
        assert needed in names


def test_missing_file_is_bad_input(cli) -> None:
    result = cli("check", "nope.toml")
    assert result.exit_code == 2
    assert "nope.toml: file not found" in result.stderr


def test_bad_config_is_bad_input(cli, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[caldav]\nurl = "https://dav.example.com/"\npassword = "hunter2"\n')
    result = cli("--config", config, "plan", ROOT / "examples" / "household.toml")
    assert result.exit_code == 2
    assert "caldav.password: holds a secret in plain text" in result.stderr
    assert "hunter2" not in result.output
    config.write_text("[defaults]\ntargets = [\"ics\"]\nnotfy = \"all\"\n")
    result = cli("--config", config, "plan", ROOT / "examples" / "household.toml")
    assert result.exit_code == 2
    assert f"{config}:3: defaults.notfy: is not a known key — did you mean `notify`?" in (
        result.stderr)


def test_config_with_a_byte_order_mark_loads(cli, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b"\xef\xbb\xbf" + (ROOT / "config.example.toml").read_bytes())
    result = cli("--config", config, "plan", ROOT / "examples" / "household.toml")
    assert result.exit_code == 0, result.output
