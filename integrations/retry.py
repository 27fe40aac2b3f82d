"""Backoff for remote APIs: exponential with full jitter, honouring Retry-After, bounded."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from designed_alliance.core.records import dataclass

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
