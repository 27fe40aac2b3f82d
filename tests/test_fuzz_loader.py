"""Property tests of the loader: whatever the file holds, the only failure is a BadInput —
one line, naming the file — and nothing is ever written."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designed_alliance.core.check import check
from designed_alliance.core.errors import BadInput
from designed_alliance.core.load import diagnoses, loads
from designed_alliance.core.schedule import schedule

from .conftest import alliance_examples

TRIED = {"documents": 0, "mutations": 0, "aimed": 0, "cli": 0}
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


# Hostile values: control characters anywhere in a text, years TOML allows but calendars do
# not, durations and counts big enough to overflow dates, rules that recur too often or never.
CONTROLS = "\x00\x01\x08\t\n\r\x0b\x1b\x7f\x85\x9b\u2028\u2029"
controlled_text = st.text(alphabet=st.one_of(st.sampled_from(CONTROLS), st.characters()),
                          min_size=1, max_size=20)
big_years = st.one_of(st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
                      st.sampled_from([dt.date(9999, 12, 31), dt.date(1, 1, 1),
                                       dt.date(2101, 1, 1), dt.date(1899, 12, 31)]))
huge_numbers = st.one_of(st.integers(0, 10**30), st.sampled_from([0, 2**31, 2**63, 10**400]))
huge_durations = st.builds(lambda n, unit: f"{n} {unit}", huge_numbers,
                           st.sampled_from(["weeks", "days", "hours", "minutes", "months"]))
rules = st.builds(
    lambda freq, extra: f"FREQ={freq}{extra}",
    st.one_of(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]),
              st.sampled_from(["SECONDLY", "MINUTELY", "HOURLY"])),
    st.sampled_from(["", ";INTERVAL=99999999999", ";COUNT=1000000", ";UNTIL=99991231",
                     ";BYHOUR=1,2", ";BYMONTH=2;BYMONTHDAY=30", ";INTERVAL=0",
                     ";UNTIL=18000101T000000Z", ";BYDAY=5MO;BYMONTH=2",
                     ";UNTIL=20270331", ";UNTIL=20270115T120000;BYDAY=MO,FR"]))
hostile = st.one_of(controlled_text, big_years, huge_durations, rules,
                    st.sampled_from(["EST", "Etc/GMT+2", "CET", "Europe/Londn", "UTC",
                                     "\ufeffweek", "day", "99999999 weeks"]))
scalars = st.one_of(
    st.text(max_size=30), st.integers(-10**6, 10**6), st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1)),
    st.sampled_from(["week", "2 weeks", "monday", "09:30", "30 minutes", "America/New_York",
                     "a@example.com", "deadline", "FREQ=WEEKLY;BYDAY=MO", "<placeholder>"]),
    hostile,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(KEYS), inner, max_size=6)),
    max_leaves=25)
documents = st.dictionaries(st.sampled_from(KEYS), values, max_size=10)


def assert_one_clean_line(message: str) -> None:
    assert message.startswith("fuzz.toml")
    # One line, and no control character reaches the terminal (user text comes escaped).
    assert not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", message), repr(message)


def assert_clean_failure(text: str) -> None:
    """Only BadInput comes out; `diagnose` agrees with `loads`; what loads, schedules."""
    try:
        alliance = loads(text, "fuzz.toml")
    except BadInput as exc:
        assert_one_clean_line(str(exc))
        alliance = None
    again, errors = diagnoses(text, "fuzz.toml")
    assert (again is None) == (alliance is None) and (errors == []) == (alliance is not None)
    for error in errors:
        assert_one_clean_line(str(error))
    if alliance is not None:
        # What the loader accepts must not crash later stages ("passes check, crashes setup").
        check(alliance, today=dt.date(2027, 1, 1))
        schedule(alliance)


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
        kind = draw(st.sampled_from(["delete", "duplicate", "value", "garbage", "swap",
                                     "hostile"]))
        line = lines[index]
        if kind == "delete":
            del lines[index]
        elif kind == "duplicate":
            lines.insert(index, line)
        elif kind == "value" and "=" in line:
            key = line.split("=", 1)[0]
            lines[index] = f"{key}= {toml_value(draw(values))}"
        elif kind == "hostile" and "=" in line:
            key = line.split("=", 1)[0]
            lines[index] = f"{key}= {toml_value(draw(hostile))}"
        elif kind == "garbage":
            lines[index] = draw(st.text(max_size=40))
        elif kind == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], line
        if not lines:
            break
    return "\n".join(lines)


# Which hostile values go where: each into keys that expect that kind of value, so they get
# past the type checks and reach the code that used to overflow or pass them on.
# Half of them at the edge of what is allowed instead: those load, and must then schedule.
edge_durations = st.sampled_from(["520 weeks", "24 hours", "1 minute", "1440 minutes",
                                  "3640 days", "14 days", "366 days", "53 weeks", "12 months",
                                  "day", "weekday"])
edge_dates = st.one_of(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
                       st.sampled_from([dt.date(1900, 1, 1), dt.date(2100, 12, 31)]))
edge_rules = st.sampled_from([
    "FREQ=DAILY;COUNT=2000", "FREQ=WEEKLY;UNTIL=20270331", "FREQ=WEEKLY;BYDAY=MO;UNTIL=21001231",
    "FREQ=YEARLY", "FREQ=MONTHLY;BYDAY=-1FR", "FREQ=DAILY;INTERVAL=366",
    "FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=WEEKLY;UNTIL=20270115T120000;BYDAY=MO,FR",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"])
durations_aimed = st.one_of(huge_durations, edge_durations)
dates_aimed = st.one_of(big_years, edge_dates)
AIMED = {
    "takes": durations_aimed, "duration": durations_aimed, "every": durations_aimed,
    "review_every": durations_aimed, "due": dates_aimed, "starts": dates_aimed,
    "deadline": dates_aimed, "by": dates_aimed, "on": dates_aimed,
    "rrule": st.one_of(rules, edge_rules),
    "timezone": hostile, "title": controlled_text, "name": controlled_text,
    "what": controlled_text, "why": controlled_text, "how": controlled_text,
    "where": controlled_text, "statement": controlled_text, "needs": st.lists(controlled_text,
                                                                            max_size=2),
}


@st.composite
def aimed(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(EXAMPLE_TEXTS))
    if draw(st.booleans()):
        # Check-ins as a raw rule, so that `rrule` values are read too.
        text = re.sub(r'every = "week"\n(day = .*\n)?',
                      lambda _: f"rrule = {toml_value(draw(edge_rules))}\n", text)
    lines = text.splitlines()
    targets = [i for i, line in enumerate(lines)
               if "=" in line and line.split("=", 1)[0].strip() in AIMED]
    for index in draw(st.lists(st.sampled_from(targets), min_size=1, max_size=3)):
        key = lines[index].split("=", 1)[0].strip()
        lines[index] = f"{key} = {toml_value(draw(AIMED[key]))}"
    return "\n".join(lines)


@FUZZ
@given(aimed())
def test_hostile_values_in_their_own_keys_fail_only_with_bad_input(text: str) -> None:
    TRIED["aimed"] += 1
    assert_clean_failure(text)


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
            lines = result.stderr.strip().splitlines()
            # check reports every error, one line each; the other commands stop at the first.
            assert len(lines) >= 1 if command == "check" else len(lines) == 1
            assert all(line.startswith(f"alliance: {path}") for line in lines)
            assert "Traceback" not in result.output
    assert written() == before


def test_report_examples_tried() -> None:
    print(f"\nfuzz examples tried: {TRIED}")
    if all(TRIED.values()):
        assert TRIED["documents"] >= 300 and TRIED["mutations"] >= 300
        assert TRIED["aimed"] >= 300


@pytest.mark.parametrize("text", ["", "[alliance]", "\x00", "[[members]]\n[[members]]"])
def test_degenerate_files(text: str) -> None:
    assert_clean_failure(text)
