"""The requests a client lets on the wire at once, and which waiting request goes next.

A read's streams share one client (`connectors.erp.read.read_parts`: one thread per stream) and so
its `max_in_flight` slots. Were the slots handed out first come, first served, every stream would
finish at about the same moment, and everything the flow does with a stream (map, validate, merge)
would come after the last page: all of it on top of the fetch. `InFlightGate` gives a freed slot to
the waiting request of the lowest priority (a stream's place in the source's order, first come
first served within one): the first stream is read whole early and is mapped, validated and merged
while the others are fetched. No slot is ever left idle while a request waits, so the fetch as a
whole takes as long as before.

The vendor decides how fast is too fast: a rate-limited answer (`RateLimited`: HTTP 429, or an
envelope's throttle code such as signed-json's 42900) or an overloaded one (`Overloaded`: HTTP 503
or 504, or a busy code such as legacy-xml's 9999 系统繁忙) halves the slots (`throttled`), once per
round: the answers to requests sent before that cut do not cut again. Each run of `REGROW_AFTER`
normal answers per slot gives one slot back, up to the configured `max_concurrency` (additive
increase, multiplicative decrease, as TCP does): a source may be configured with many requests in
flight and still settle at what its vendor takes, probing for one more now and then.

The priority is a context variable (`request_priority`) set by the stream's thread; threads a
stream starts for its pages and dependents take it along (`carried`).
"""

from __future__ import annotations

import contextvars
import heapq
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

REGROW_AFTER = 8  # normal answers per slot in flight before one more slot is tried again

_PRIORITY: contextvars.ContextVar[int] = contextvars.ContextVar("tourlink_request_priority", default=0)


@contextmanager
def request_priority(priority: int) -> Iterator[None]:
    """Requests made in this block (and in the threads it starts through `carried`) wait for a slot
    behind those of a lower `priority` only."""
    token = _PRIORITY.set(priority)
    try:
        yield
    finally:
        _PRIORITY.reset(token)


def carried(fn: Callable[..., T]) -> Callable[..., T]:
    """`fn` to run in another thread (a pool's worker) with this thread's request priority."""
    context = contextvars.copy_context()

    def run(*args: Any, **kwargs: Any) -> T:
        return context.copy().run(fn, *args, **kwargs)

    return run


class InFlightGate:
    """At most `limit` holders at once (`slots` to begin with, fewer while the vendor throttles); a
    freed slot goes to the waiting holder of the lowest priority, first come first served among
    equals. A context manager, like a semaphore."""

    def __init__(self, slots: int):
        self.ceiling = max(1, slots)
        self.limit = self.ceiling
        self.epoch = 0  # cuts so far: a throttled request sent before the last cut does not cut again
        self._streak = 0  # normal answers since the limit last changed
        self._free = self.limit  # below zero after a cut, until enough holders leave
        self._waiting: list[tuple[int, int]] = []  # a heap of (priority, arrival)
        self._arrivals = itertools.count()
        self._changed = threading.Condition()

    def __enter__(self) -> None:
        ticket = (_PRIORITY.get(), next(self._arrivals))
        with self._changed:
            heapq.heappush(self._waiting, ticket)
            try:
                while self._free <= 0 or self._waiting[0] != ticket:
                    self._changed.wait()
            except BaseException:
                self._waiting.remove(ticket)
                heapq.heapify(self._waiting)
                self._changed.notify_all()
                raise
            heapq.heappop(self._waiting)
            self._free -= 1
            if self._free > 0 and self._waiting:
                self._changed.notify_all()  # the next in line may take another free slot

    def __exit__(self, *exc: object) -> None:
        with self._changed:
            self._free += 1
            self._changed.notify_all()

    def throttled(self, epoch: int) -> int | None:
        """A request sent at `epoch` was rate limited: half the slots (rounded up, at least one),
        unless a cut since it was sent already answered the same burst. Returns the new limit when it cut."""
        with self._changed:
            if epoch != self.epoch or self.limit == 1:
                return None
            cut = (self.limit + 1) // 2
            self._free -= self.limit - cut
            self.limit, self._streak = cut, 0
            self.epoch += 1
            return cut

    def succeeded(self) -> None:
        """A normal answer: after `REGROW_AFTER` per slot in a row, one slot more, up to the ceiling."""
        with self._changed:
            if self.limit >= self.ceiling:
                return
            self._streak += 1
            if self._streak >= self.limit * REGROW_AFTER:
                self.limit, self._streak = self.limit + 1, 0
                self._free += 1
                self._changed.notify_all()
