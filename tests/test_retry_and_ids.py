"""Backoff honours Retry-After within a budget; remote ids are stable and well-formed."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from designed_alliance.integrations.google.events import event_id
from designed_alliance.integrations.outlook.target import transaction_id
from designed_alliance.integrations.retry import Backoff, retry_after_seconds


def test_retry_after_forms() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (retry_after_seconds(later) or 0) <= 31


def test_backoff_honours_retry_after_and_stops_at_the_budget() -> None:
    slept: list[float] = []
    backoff = Backoff(max_total=10, sleep=slept.append, rng=random.Random(1))
    assert backoff.wait(1, "4")
    assert 4.0 <= slept[0] <= 4.5
    assert backoff.wait(2)  # exponential with jitter: at most base * 2
    assert slept[1] <= 1.0
    assert not backoff.wait(3, "60")  # would blow the budget: give up instead of sleeping
    assert len(slept) == 2 and backoff.waited <= 10


def test_google_event_ids_are_base32hex_stable_and_distinct() -> None:
    first = event_id("website-relaunch-7f3k", "checkins")
    assert first == event_id("website-relaunch-7f3k", "checkins")
    assert re.fullmatch(r"[0-9a-v]{5,1024}", first)
    ids = {event_id(a, k) for a in ("a", "b") for k in ("checkins", "review", "commitment:x")}
    assert len(ids) == 6


def test_outlook_transaction_ids_change_with_the_sequence() -> None:
    assert transaction_id("a", "checkins", 0) == transaction_id("a", "checkins", 0)
    assert transaction_id("a", "checkins", 0) != transaction_id("a", "checkins", 1)
