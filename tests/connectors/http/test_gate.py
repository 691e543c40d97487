"""The client's in-flight slots (`connectors.http.gate`): a freed slot goes to the earliest stream
waiting, never idles while a request waits, and a stream's page threads keep its priority."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from connectors.http.gate import InFlightGate, carried, request_priority


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
