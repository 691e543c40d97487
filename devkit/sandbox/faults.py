"""Fault switches a test flips on a sandbox: each counts down per request, so a fault hits N requests.

The connector must come out of every one of them with the warehouse equal to the sandbox's data.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class Faults:
    latency_seconds: float = 0.0  # added to every response
    http_5xx: int = 0  # next N data requests answer 503
    http_429: int = 0  # next N data requests answer 429 with Retry-After
    envelope_error: int = 0  # next N answer HTTP 200 with the dialect's retryable error code
    reset: int = 0  # next N close the connection without answering
    truncate: int = 0  # next N send half the body
    update_while_paging: int = 0  # after a first page is served, touch N records (updated now)
    duplicate_across_pages: bool = False  # every page also repeats the previous page's last record
    expire_token_after: int | None = None  # oauth: tokens die after this many uses
    max_in_flight: int | None = None  # a gateway's limit: more requests at once get the dialect's throttle answer
    retry_after_seconds: float = 0.05
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, name: str) -> bool:
        """Consume one occurrence of fault `name`; True when this request should suffer it."""
        with self._lock:
            left = getattr(self, name)
            if left > 0:
                setattr(self, name, left - 1)
                return True
            return False
