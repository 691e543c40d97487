"""An iterator run ahead in a thread: the next blocks of a sheet are inflated and parsed while the
caller turns the current one into rows (stages chained, each ahead of the next).

Why a thread and not a process: inflating (zlib) and the numpy/polars kernels the parsing is made of
release the GIL, so on two cores the two halves overlap without copying blocks between processes.
At most `depth` items wait, so memory stays that of `depth + 1` blocks whatever the sheet's size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def ahead(make: Callable[[], Iterator[T]], depth: int = 2) -> Iterator[T]:
    """The items of `make()`, produced in a daemon thread at most `depth` ahead of the consumer; an
    exception raised there is raised here; closing this iterator stops the thread."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        items_made = make()
        try:
            for item in items_made:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            put(_Failed(exc))
            return
        finally:  # a stage that is itself read ahead stops its own thread now, not when collected
            close = getattr(items_made, "close", None)
            if close is not None:
                close()
        put(_DONE)

    thread = threading.Thread(target=produce, name="tourlink-sheet-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


def background(work: Callable[[], T]) -> Callable[[], T]:
    """Start `work()` in a daemon thread now; the returned function waits for its result (or raises
    its exception). For a second pass over a sheet (its merged ranges) while the first is read."""
    done: list = []

    def run() -> None:
        try:
            done.append((True, work()))
        except BaseException as exc:  # raised to whoever asks for the result
            done.append((False, exc))

    thread = threading.Thread(target=run, name="tourlink-sheet-pass", daemon=True)
    thread.start()

    def result() -> T:
        thread.join()
        ok, value = done[0]
        if not ok:
            raise value
        return value

    return result
