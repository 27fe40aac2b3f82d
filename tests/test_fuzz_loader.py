"""Property tests of the loader: whatever the file holds, the only failure is a BadInput —
one line, naming the file — and nothing is ever written."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designed_alliance.core.errors import BadInput
from designed_alliance.core.load import loads

from .conftest import alliance_examples

TRIED = {"documents": 0, "mutations": 0, "cli": 0}
KEYS = ["alliance", "goal", "members", "measures", "commitments", "communication", "checkins",
        "celebration", "review", "reflection", "id", "title", "timezone", "starts", "deadline",
        "review_every", "statement", "why", "pain", "name", "email", "needs", "offers", "owner",
        "what", "due", "after", "takes", "use", "avoid", "channel", "for", "every", "day",
        "time", "duration", "where", "questions", "how", "on", "rrule", "baseline", "target",
        "by", "unit", "inspect", "respond_within", "role", "notes", "x-unknown"]
EXAMPLE_TEXTS = [p.read_text() for p in alliance_examples()]
FUZZ = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if not isinstance(value, float) or value == value else "nan"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


scalars = st.one_of(
    st.text(max_size=30), st.integers(-10**6, 10**6), st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1)),
    st.sampled_from(["week", "2 weeks", "monday", "09:30", "30 minutes", "America/New_York",
                     "a@example.com", "deadline", "FREQ=WEEKLY;BYDAY=MO", "<placeholder>"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(KEYS), inner, max_size=6)),
    max_leaves=25)
documents = st.dictionaries(st.sampled_from(KEYS), values, max_size=10)


def assert_clean_failure(text: str) -> None:
    try:
        loads(text, "fuzz.toml")
    except BadInput as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith("fuzz.toml")


@FUZZ
@given(documents)
def test_arbitrary_documents_fail_only_with_bad_input(document: dict) -> None:
    TRIED["documents"] += 1
    text = "\n".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in document.items())
    assert_clean_failure(text)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(EXAMPLE_TEXTS)).splitlines()
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "value", "garbage", "swap"]))
        line = lines[index]
        if kind == "delete":
            del lines[index]
        elif kind == "duplicate":
            lines.insert(index, line)
        elif kind == "value" and "=" in line:
            key = line.split("=", 1)[0]
            lines[index] = f"{key}= {toml_value(draw(values))}"
        elif kind == "garbage":
            lines[index] = draw(st.text(max_size=40))
        elif kind == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], line
        if not lines:
            break
    return "\n".join(lines)


@FUZZ
@given(mutated())
def test_mutated_examples_fail_only_with_bad_input(text: str) -> None:
    TRIED["mutations"] += 1
    assert_clean_failure(text)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutated())
def test_cli_check_on_mutations_is_exit_0_or_2_and_writes_nothing(cli, tmp_path: Path,
                                                                 text: str) -> None:
    TRIED["cli"] += 1
    path = tmp_path / "fuzz.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    def written() -> list[str]:
        # Compiled templates in the user cache dir are the one allowed side effect of a
        # valid plan; everything else (output folders, state) must stay untouched.
        return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")
                      if ".cache" not in p.parts)

    before = written()
    for command in ("check", "plan"):
        result = cli(command, path)
        assert result.exit_code in (0, 2), result.output
        if result.exit_code == 2:
            assert len(result.stderr.strip().splitlines()) == 1
            assert "Traceback" not in result.output
    assert written() == before


def test_report_examples_tried() -> None:
    print(f"\nfuzz examples tried: {TRIED}")
    if all(TRIED.values()):
        assert TRIED["documents"] >= 300 and TRIED["mutations"] >= 300


@pytest.mark.parametrize("text", ["", "[alliance]", "\x00", "[[members]]\n[[members]]"])
def test_degenerate_files(text: str) -> None:
    assert_clean_failure(text)
