"""The client's in-flight slots (`connectors.http.gate`): a freed slot goes to the earliest stream
waiting, never idles while a request waits, and a stream's page threads keep its priority; the vendor
throttling halves them, once per round, and normal answers give them back slowly."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from connectors.http.gate import REGROW_AFTER, InFlightGate, carried, request_priority


def _wait_for(condition, seconds: float = 5.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_freed_slot_goes_to_the_waiting_request_of_the_earliest_stream():
    gate, order, release = InFlightGate(1), [], threading.Event()

    def holder() -> None:
        with gate:
            release.wait(5)

    def request(priority: int, name: str) -> None:
        with request_priority(priority), gate:
            order.append(name)

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    _wait_for(lambda: gate._free == 0)
    for priority, name in ((1, "second stream, first asked"), (1, "second stream, next"), (0, "first stream")):
        threads.append(threading.Thread(target=request, args=(priority, name)))
        threads[-1].start()
        _wait_for(lambda n=len(threads) - 1: len(gate._waiting) == n)
    release.set()
    for t in threads:
        t.join(5)
    assert order == ["first stream", "second stream, first asked", "second stream, next"]


def test_no_slot_stays_idle_while_a_request_waits():
    gate, lock, inside, most = InFlightGate(3), threading.Lock(), [0], [0]

    def request(priority: int) -> None:
        with request_priority(priority), gate:
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.02)
            with lock:
                inside[0] -= 1

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(carried(request), [i % 2 for i in range(24)]))
    assert most[0] == 3 and gate._free == 3 and gate._waiting == []


def test_a_streams_page_threads_keep_its_priority():
    seen = []
    with request_priority(2), ThreadPoolExecutor(max_workers=2) as pool:
        from connectors.http.gate import _PRIORITY

        futures = [pool.submit(carried(lambda: seen.append(_PRIORITY.get()))) for _ in range(4)]
        [f.result() for f in futures]
    assert seen == [2, 2, 2, 2]


def test_a_throttled_round_halves_the_slots_once_and_normal_answers_give_them_back_one_by_one():
    gate = InFlightGate(8)
    sent = gate.epoch  # a burst of requests all sent before any answer came back
    assert gate.throttled(sent) == 4
    assert gate.throttled(sent) is None and gate.limit == 4, "the same burst's other 429s cut nothing more"
    assert gate.throttled(gate.epoch) == 2 and gate.throttled(gate.epoch) == 1
    assert gate.throttled(gate.epoch) is None and gate.limit == 1, "never below one request"
    for _ in range(REGROW_AFTER - 1):
        gate.succeeded()
    assert gate.limit == 1
    gate.succeeded()
    assert gate.limit == 2
    for _ in range(2 * REGROW_AFTER + 3 * REGROW_AFTER + 4 * REGROW_AFTER + 100 * 8 * REGROW_AFTER):
        gate.succeeded()
    assert gate.limit == gate.ceiling == 8 and gate._free == 8, "back to the configured concurrency, no further"
    assert gate.throttled(gate.epoch) == 4 and gate.throttled(gate.epoch) == 2 and gate.throttled(gate.epoch) == 1


def test_after_a_cut_no_one_enters_until_the_holders_are_below_the_new_limit():
    gate, entered = InFlightGate(4), threading.Event()
    release = [threading.Event() for _ in range(4)]

    def holder(i: int) -> None:
        with gate:
            release[i].wait(5)

    holders = [threading.Thread(target=holder, args=(i,)) for i in range(4)]
    for t in holders:
        t.start()
    _wait_for(lambda: gate._free == 0)
    assert gate.throttled(gate.epoch) == 2 and gate._free == -2

    def late() -> None:
        with gate:
            entered.set()

    waiter = threading.Thread(target=late)
    waiter.start()
    for i in range(2):
        release[i].set()
    _wait_for(lambda: gate._free == 0)
    assert not entered.wait(0.1), "two holders left: still at the new limit of 2"
    release[2].set()
    assert entered.wait(5), "one below the limit: the waiting request goes"
    release[3].set()
    for t in [*holders, waiter]:
        t.join(5)
    assert gate._free == 2
