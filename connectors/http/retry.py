"""When to try a request again, and when to stop: capped exponential backoff with jitter, and a budget.

Vendors throttle and their gateways hiccup; a nightly sync should ride that out, but never hammer a
vendor without end: the per-source request budget stops the sync before the vendor blocks us.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from connectors.http.errors import BudgetExceeded


@dataclass
class RetryPolicy:
    """Attempt n (0-based) waits min(cap, base * 2**n) scaled by a random factor in [0.5, 1]."""

    max_attempts: int = 6
    base_seconds: float = 0.2
    cap_seconds: float = 20.0
    max_retry_after: float = 60.0
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.cap_seconds, self.base_seconds * (2**attempt))
        return ceiling * (0.5 + self.rng.random() / 2)


class RequestBudget:
    """At most `limit` requests per sync (retries included); thread-safe."""

    def __init__(self, limit: int | None):
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def spend(self, what: str) -> None:
        with self._lock:
            if self.limit is not None and self.used >= self.limit:
                raise BudgetExceeded(f"request budget of {self.limit} spent before {what}")
            self.used += 1


class RateLimiter:
    """At most `per_second` requests (a vendor's published limit) in any one second, shared across threads.

    Runs 10% under the limit: vendors count over sliding windows with their own clock, and a
    request exactly on the boundary comes back 429. Requests are also spaced evenly; but spacing
    alone is not a bound: a thread that wakes late (a busy machine) lands beside the next slot, so
    the window of the requests actually let through is what is checked, at the moment each goes."""

    def __init__(
        self, per_second: float | None, clock: Callable[[], float] = time.monotonic, margin: float = 0.9,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.capacity = max(1, int(per_second * margin)) if per_second else 0
        self.interval = 1.0 / (per_second * margin) if per_second else 0.0
        self._sent: deque[float] = deque()
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.capacity:
            return
        while True:
            with self._lock:
                delay = self._delay(self._clock())
                if delay <= 1e-9:  # float sums of intervals land a hair short
                    self._sent.append(self._clock())
                    return
            self._sleep(delay)

    def _delay(self, now: float) -> float:
        """Seconds until one more request may go: a free place in the last second, and its spacing."""
        while self._sent and now - self._sent[0] >= 1.0 - 1e-9:
            self._sent.popleft()
        if len(self._sent) >= self.capacity:
            return self._sent[0] + 1.0 - now
        return self._sent[-1] + self.interval - now if self._sent else 0.0
