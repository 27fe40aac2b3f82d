"""Backoff for remote APIs: exponential with full jitter, honouring Retry-After, bounded."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass
class Pending:
    """One change still to be written, with what the last attempt said."""

    change: Any
    attempt: int = 0
    last_error: str = ""
    retry_after: str | None = None


def wait_for_round(retry: list[Pending], backoff: Backoff) -> bool:
    """Wait before retrying these changes together; False when the budget is spent."""
    attempt = max(e.attempt for e in retry) + 1
    # The longest Retry-After any of them was given is the one to honour.
    told = [e.retry_after for e in retry if e.retry_after]
    retry_after = max(told, key=_seconds) if told else None
    for entry in retry:
        entry.attempt = attempt
        entry.retry_after = None
    return backoff.wait(attempt, retry_after)


def _seconds(value: str) -> float:
    return retry_after_seconds(value) or 0.0


@dataclass
class Backoff:
    """One budget per apply: the total time spent waiting never exceeds `max_total`."""

    max_total: float = 120.0
    base: float = 0.5
    cap: float = 32.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    waited: float = 0.0
    attempts: int = 0

    def wait(self, attempt: int, retry_after: str | None = None) -> bool:
        """Sleep before retry number `attempt` (1-based). False when the budget is spent."""
        told = retry_after_seconds(retry_after)
        if told is not None:
            # The server said when; add a little jitter so parallel clients do not stampede.
            delay = told + self.rng.uniform(0, min(1.0, self.base))
        else:
            delay = self.rng.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))
        if self.waited + delay > self.max_total:
            return False
        self.sleep(delay)
        self.waited += delay
        self.attempts += 1
        return True
