"""Human durations ("30 minutes", "2 weeks") and cadences ("week", "4 weeks", "month")."""

from __future__ import annotations

import re
from datetime import timedelta

from designed_alliance.core.records import dataclass

_UNITS = {
    "minute": "minutes", "minutes": "minutes", "min": "minutes", "mins": "minutes",
    "hour": "hours", "hours": "hours", "h": "hours", "hr": "hours", "hrs": "hours",
    "day": "days", "days": "days", "d": "days",
    "week": "weeks", "weeks": "weeks", "w": "weeks",
    "month": "months", "months": "months",
}
_PATTERN = re.compile(r"^\s*(\d+)?\s*([a-z]+)\s*$")


def _split(text: str) -> tuple[int, str] | None:
    match = _PATTERN.match(text.lower())
    if not match:
        return None
    number, unit = match.groups()
    if unit == "fortnight":
        return (int(number or 1) * 2, "weeks")
    if unit not in _UNITS:
        return None
    return (int(number) if number else 1, _UNITS[unit])


def parse_duration(text: str, *, allow: tuple[str, ...] = ("minutes", "hours", "days", "weeks")
                   ) -> timedelta:
    """Parse "30 minutes", "2 hours", "2 weeks". Raise ValueError with what is accepted."""
    parsed = _split(text)
    if parsed is None or parsed[1] not in allow or parsed[0] <= 0:
        examples = {"minutes": '"30 minutes"', "hours": '"2 hours"', "days": '"3 days"',
                    "weeks": '"2 weeks"'}
        accepted = ", ".join(examples[unit] for unit in allow if unit in examples)
        raise ValueError(f"{text!r} is not a duration; write it like {accepted}")
    number, unit = parsed
    return timedelta(**{unit: number})


@dataclass(frozen=True)
class Cadence:
    """How often something recurs: FREQ and INTERVAL of an RRULE, plus the user's words."""

    freq: str  # DAILY, WEEKLY or MONTHLY
    interval: int
    text: str
    weekdays_only: bool = False

    def step(self) -> timedelta | None:
        """The interval as a timedelta, or None for months (they have no fixed length)."""
        if self.freq == "DAILY":
            return timedelta(days=self.interval)
        if self.freq == "WEEKLY":
            return timedelta(weeks=self.interval)
        return None

    def describe(self) -> str:
        unit = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month"}[self.freq]
        if self.weekdays_only:
            return "every weekday"
        if self.interval == 1:
            return f"every {unit}"
        return f"every {self.interval} {unit}s"


def parse_cadence(text: str) -> Cadence:
    """Parse "week", "2 weeks", "month", "day", "weekday", "fortnight"."""
    lowered = text.strip().lower()
    for prefix in ("every ", "each "):
        if lowered.startswith(prefix):
            lowered = lowered[len(prefix):]
    if lowered in ("weekday", "weekdays", "workday", "workdays"):
        return Cadence("DAILY", 1, text, weekdays_only=True)
    parsed = _split(lowered)
    freqs = {"days": "DAILY", "weeks": "WEEKLY", "months": "MONTHLY"}
    if parsed is None or parsed[1] not in freqs or parsed[0] <= 0:
        raise ValueError(
            f"{text!r} is not a cadence; write it like \"week\", \"2 weeks\", \"month\" or \"day\""
        )
    return Cadence(freqs[parsed[1]], parsed[0], text)


def describe_duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % (60 * 24 * 7) == 0:
        n, unit = minutes // (60 * 24 * 7), "week"
    elif minutes % (60 * 24) == 0:
        n, unit = minutes // (60 * 24), "day"
    elif minutes % 60 == 0:
        n, unit = minutes // 60, "hour"
    else:
        n, unit = minutes, "minute"
    return f"{n} {unit}{'s' if n != 1 else ''}"
