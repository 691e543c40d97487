"""`connectors.files.prefetch`: a sheet's blocks produced ahead in a thread keep their order, raise
the producer's error in the consumer, never run more than `depth` ahead, and stop when closed."""

from __future__ import annotations

import threading
import time

import pytest

from connectors.files.prefetch import ahead, background


def test_items_come_in_order_and_the_producer_stays_at_most_depth_ahead():
    made = []

    def make():
        for i in range(10):
            made.append(i)
            yield i

    items = ahead(make, depth=2)
    assert next(items) == 0
    time.sleep(0.3)  # the producer runs on until it is `depth` ahead, then waits
    assert len(made) <= 4  # 0 taken, 2 waiting, 1 made and waiting to be put
    assert list(items) == list(range(1, 10))


def test_an_error_in_the_producer_is_raised_to_the_consumer_after_the_items_before_it():
    def make():
        yield "a"
        raise ValueError("damaged block")

    items = ahead(make)
    assert next(items) == "a"
    with pytest.raises(ValueError, match="damaged block"):
        next(items)


def test_closing_the_iterator_stops_its_thread():
    def make():
        i = 0
        while True:
            yield i
            i += 1

    before = threading.active_count()
    items = ahead(make)
    next(items)
    items.close()
    assert threading.active_count() == before


def test_background_work_gives_its_result_or_raises_its_error():
    assert background(lambda: 42)() == 42

    def fail():
        raise KeyError("merges")

    with pytest.raises(KeyError):
        background(fail)()


def test_closing_a_stage_that_reads_another_stage_ahead_stops_both_threads():
    def numbers():
        i = 0
        while True:
            yield i
            i += 1

    def doubled():
        for n in ahead(numbers):
            yield 2 * n

    before = threading.active_count()
    items = ahead(doubled)
    assert [next(items) for _ in range(3)] == [0, 2, 4]
    items.close()
    assert threading.active_count() == before
