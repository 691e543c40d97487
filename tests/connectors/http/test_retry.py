"""connectors/http/retry.py: the rate limiter bounds the requests let through in any one second."""

from __future__ import annotations

import random

from connectors.http.retry import RateLimiter


class _Clock:
    """A clock that sleeping moves on, and that a late wake-up moves on further."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _busiest_second(times: list[float]) -> int:
    times = sorted(times)
    most, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0 - 1e-6:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_requests_are_spaced_evenly_under_the_limit():
    clock = _Clock()
    limiter = RateLimiter(20, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(40):
        limiter.wait()
        sent.append(clock.now)
    gaps = {round(b - a, 6) for a, b in zip(sent, sent[1:], strict=False)}
    assert gaps == {round(1 / 18, 6)}
    assert _busiest_second(sent) == 18


def test_late_wake_ups_never_put_more_than_the_limit_in_one_second():
    """A busy machine wakes threads late, then several at once: the window still holds."""
    clock, rng = _Clock(), random.Random(7)
    limiter = RateLimiter(20, clock=clock, sleep=lambda s: clock.sleep(s + rng.choice([0.0, 0.0, 0.4])))
    sent = []
    for _ in range(300):
        if rng.random() < 0.2:
            clock.now += rng.random() * 0.3  # the caller itself was descheduled
        limiter.wait()
        sent.append(clock.now)
    assert _busiest_second(sent) <= 18


def test_no_limit_never_waits():
    clock = _Clock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        limiter.wait()
    assert clock.now == 0.0
