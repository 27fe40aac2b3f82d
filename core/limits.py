"""What the loader accepts at most: one place for every limit, quoted in the errors' hints.

The limits are far beyond any real alliance. They exist so that a file which is valid TOML
but absurd (a year 9999, "99999999 weeks", a check-in every second, a million members) is
refused at load with a clear line, instead of passing `check` and crashing `setup` or
writing a calendar nobody can open.
"""

from __future__ import annotations

from datetime import timedelta

# Dates: calendars and time-zone data are only trustworthy in this range.
MIN_YEAR = 1900
MAX_YEAR = 2100

# Durations.
MAX_MEETING = timedelta(hours=24)  # a check-in or review longer than a day is a typo
MAX_CELEBRATION = timedelta(days=14)
MAX_TAKES = timedelta(weeks=520)  # one commitment taking more than ten years
MAX_CADENCE_DAYS = 366  # `every` / `review_every`: at most about a year apart
MAX_CADENCE_WEEKS = 53
MAX_CADENCE_MONTHS = 12

# Sizes.
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_MEMBERS = 500
MAX_COMMITMENTS = 5000
MAX_MEASURES = 500
MAX_LIST_ENTRIES = 200  # needs, offers, questions, reflection, channels
MAX_SEQUENCE_DEPTH = 200  # commitments each waiting on the previous one
MAX_OCCURRENCES = 2000  # per recurring series (check-ins, reviews)

# Check-in rules recurring more often than daily are refused: they would flood calendars.
REFUSED_FREQS = ("SECONDLY", "MINUTELY", "HOURLY")


def years_hint() -> str:
    return f"use a year from {MIN_YEAR} to {MAX_YEAR}"
