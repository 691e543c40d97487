"""Walk a vendor's pages, and refuse to finish quietly when the pages do not add up.

The classic connector failure is pagination that stops early or loops and silently loses rows. Every
walker here fails loudly instead: a page identical to the previous one (the server ignored the page
parameter), a cursor seen before (a loop), rows read that differ from the announced total, or a
total that changes between pages (records moved while we paged: the caller re-reads the stream).

Numbered pages (page number or offset, with a total) and dependent resources may be fetched with
several requests in flight (`concurrency`): the first page is read alone (it announces the total),
the pages it implies are fetched by a bounded pool and handed on in page order, so the guards and
the page names are the same whatever order the answers arrive in. The vendor's rate limit is the
client's (`connectors.http.retry.RateLimiter`), shared by every thread.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from connectors.bodies import RawBody
from connectors.http.errors import PaginationError, TotalMismatch
from connectors.http.gate import carried


@dataclass
class Page:
    records: list[dict[str, Any]]
    body: bytes | RawBody  # the raw response (in memory or spilled), kept in the landing folder
    total: int | None = None  # announced total, when the vendor gives one
    next_cursor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # dependent bodies, keyed by parent id


KeyOf = Callable[[dict[str, Any]], Any]


def _page_signature(records: list[dict[str, Any]], key: KeyOf) -> tuple:
    return tuple(key(r) for r in records)


def _check_repeat(signature: tuple, previous: tuple | None, where: str) -> None:
    if signature and signature == previous:
        raise PaginationError(f"{where}: page repeats the previous one ({len(signature)} identical records); refusing to loop")


def page_number(
    fetch: Callable[[int], Page], *, page_size: int, key: KeyOf, where: str, max_pages: int = 100_000, concurrency: int = 1
) -> Iterator[Page]:
    """Pages 1, 2, … until `total` rows are read. Verifies that distinct keys read == total."""
    yield from _counted(lambda n: fetch(n + 1), page_size=page_size, key=key, where=where, max_pages=max_pages, concurrency=concurrency)


def offset_limit(
    fetch: Callable[[int], Page], *, page_size: int, key: KeyOf, where: str, max_pages: int = 100_000, concurrency: int = 1
) -> Iterator[Page]:
    """Offsets 0, limit, 2·limit, … until `total` rows are read."""
    yield from _counted(lambda n: fetch(n * page_size), page_size=page_size, key=key, where=where, max_pages=max_pages, concurrency=concurrency)


def in_order(fetch: Callable[[int], Page], numbers: Iterable[int], concurrency: int) -> Iterator[tuple[int, Page]]:
    """`(n, fetch(n))` for each n in order, with at most `concurrency` fetches in flight. Pending
    fetches are cancelled (running ones awaited) when the consumer stops or a fetch fails."""
    if concurrency <= 1:
        for n in numbers:
            yield n, fetch(n)
        return
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="page")
    fetch = carried(fetch)  # the pages' requests keep their stream's priority (`connectors.http.gate`)
    pending: deque[tuple[int, Future[Page]]] = deque()
    queue = iter(numbers)
    try:
        for n in queue:
            pending.append((n, pool.submit(fetch, n)))
            if len(pending) >= concurrency:
                break
        while pending:
            n, future = pending.popleft()
            page = future.result()
            following = next(queue, None)
            if following is not None:
                pending.append((following, pool.submit(fetch, following)))
            yield n, page
    finally:
        for _, future in pending:
            future.cancel()
        pool.shutdown(wait=True)


def _counted(
    fetch: Callable[[int], Page], *, page_size: int, key: KeyOf, where: str, max_pages: int, concurrency: int = 1
) -> Iterator[Page]:
    seen: set = set()
    total: int | None = None
    previous: tuple | None = None

    def accept(n: int, page: Page) -> None:  # the guards, applied in page order
        nonlocal total, previous
        if page.total is None:
            raise PaginationError(f"{where}: page {n + 1} announces no total")
        if total is None:
            total = page.total
        elif page.total != total:
            raise TotalMismatch(f"{where}: total changed from {total} to {page.total} at page {n + 1} (records changed while paging)")
        signature = _page_signature(page.records, key)
        _check_repeat(signature, previous, f"{where} page {n + 1}")
        previous = signature
        seen.update(signature)

    first = fetch(0)
    accept(0, first)
    yield first
    assert total is not None
    n, last = 0, first
    # the pages the total implies, several in flight; then one by one while records are still missing
    # (pages repeating records across their boundary hold fewer new ones than the page size)
    planned = min(max_pages, -(-total // max(page_size, 1)))
    if len(seen) < total and last.records:
        with closing(in_order(fetch, range(1, planned), concurrency)) as answers:
            for n, last in answers:
                accept(n, last)
                yield last
                if len(seen) >= total or not last.records:
                    break
    while len(seen) < total and last.records:
        n += 1
        if n >= max_pages:
            raise PaginationError(f"{where}: more than {max_pages} pages; refusing to continue")
        last = fetch(n)
        accept(n, last)
        yield last
    if len(seen) != total:
        raise TotalMismatch(f"{where}: read {len(seen)} distinct records but the source announced {total}")


def cursor(fetch: Callable[[str | None], Page], *, key: KeyOf, where: str, max_pages: int = 100_000) -> Iterator[Page]:
    """Follow `next_cursor` until null; a cursor seen twice is a loop, a repeated page too."""
    seen_cursors: set[str] = set()
    previous: tuple | None = None
    token: str | None = None
    for n in range(max_pages):
        page = fetch(token)
        signature = _page_signature(page.records, key)
        _check_repeat(signature, previous, f"{where} page {n + 1}")
        previous = signature
        yield page
        token = page.next_cursor
        if not token:
            return
        if token in seen_cursors:
            raise PaginationError(f"{where}: cursor returned twice at page {n + 1}; the vendor's pagination loops")
        seen_cursors.add(token)
    raise PaginationError(f"{where}: more than {max_pages} pages; refusing to continue")


def totalled(pages: Iterator[Page], key: KeyOf, where: str) -> Iterator[Page]:
    """Cursor pages whose rows must add up to the announced total (when the vendor announces one)."""
    seen: set[Any] = set()
    total: int | None = None
    for n, page in enumerate(pages, start=1):
        if page.total is not None:
            if total is not None and page.total != total:
                raise TotalMismatch(f"{where}: total changed from {total} to {page.total} at page {n} (records changed while paging)")
            total = page.total
        seen.update(key(r) for r in page.records)
        yield page
    if total is not None and len(seen) != total:
        raise TotalMismatch(f"{where}: read {len(seen)} distinct records but the source announced {total}")


def dependent(
    parents: list[dict[str, Any]], fetch_children: Callable[[dict[str, Any]], Any], *, parent_key: KeyOf, concurrency: int = 1
) -> dict[Any, Any]:
    """One request per parent (e.g. a group's members), `concurrency` in flight; children by parent key."""
    answers = in_order(lambda i: fetch_children(parents[i]), range(len(parents)), concurrency)
    return {parent_key(parents[i]): children for i, children in answers}
