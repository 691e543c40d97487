"""The ways a vendor request can fail, sorted by what the sync should do about it.

Messages name the endpoint and the vendor's code, never a secret: exceptions end up in logs, in
Airflow task output and in the stewards' reports.
"""

from __future__ import annotations


class SourceError(RuntimeError):
    """A source could not be read; the sync loads nothing."""


class AuthError(SourceError):
    """Credentials rejected (bad signature, invalid token, clock skew): retrying cannot help."""


class ParameterError(SourceError):
    """The vendor rejected our request parameters: a bug or a misconfiguration, fail at once."""


class RetryableError(SourceError):
    """Rate limit, 5xx, timeout, reset, truncated body: worth another attempt after a pause."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(RetryableError):
    """The vendor says we ask too fast (HTTP 429, or its envelope's throttle code): retried after a
    pause, and the client lets fewer requests in flight (`connectors.http.gate.InFlightGate.throttled`)."""


OVERLOADED_STATUSES = frozenset({503, 504})  # service unavailable, gateway timeout: ask less at once


class Overloaded(RetryableError):
    """The vendor's service is overloaded (HTTP 503 or 504, or its envelope's busy code such as
    legacy-xml's 9999 系统繁忙): retried after a pause, with fewer requests in flight, as for `RateLimited`."""


class Unauthorized(RetryableError):
    """HTTP 401 / an expired token: refresh the credentials, then retry once."""


class BodyTooLarge(SourceError):
    """A response body over the source's `max_body_bytes`: refused before it exhausts memory."""


class BodyRefused(SourceError):
    """A complete body we will not read (an entity reference, nesting too deep, broken structure, a
    mislabelled encoding): the same request gets the same body, so it is not retried."""


class BudgetExceeded(SourceError):
    """The per-source request budget is spent: stop before the vendor blocks us."""


class PaginationError(SourceError):
    """Pagination did not add up (a repeated page, a cursor loop, rows ≠ announced total)."""


class TotalMismatch(PaginationError):
    """Rows read differ from the announced total (records changed while paging): re-read the stream."""
