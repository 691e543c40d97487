"""Walk a vendor's pages, and refuse to finish quietly when the pages do not add up.

The classic connector failure is pagination that stops early or loops and silently loses rows. Every
walker here fails loudly instead: a page identical to the previous one (the server ignored the page
parameter), a cursor seen before (a loop), rows read that differ from the announced total, or a
total that changes between pages (records moved while we paged: the caller re-reads the stream).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from connectors.http.errors import PaginationError, TotalMismatch


@dataclass
class Page:
    records: list[dict[str, Any]]
    body: bytes  # the raw response, kept in the landing folder
    total: int | None = None  # announced total, when the vendor gives one
    next_cursor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # dependent bodies, keyed by parent id


KeyOf = Callable[[dict[str, Any]], Any]


def _page_signature(records: list[dict[str, Any]], key: KeyOf) -> tuple:
    return tuple(key(r) for r in records)


def _check_repeat(signature: tuple, previous: tuple | None, where: str) -> None:
    if signature and signature == previous:
        raise PaginationError(f"{where}: page repeats the previous one ({len(signature)} identical records); refusing to loop")


def page_number(fetch: Callable[[int], Page], *, page_size: int, key: KeyOf, where: str, max_pages: int = 100_000) -> Iterator[Page]:
    """Pages 1, 2, … until `total` rows are read. Verifies that distinct keys read == total."""
    yield from _counted(lambda n: fetch(n + 1), page_size=page_size, key=key, where=where, max_pages=max_pages)


def offset_limit(fetch: Callable[[int], Page], *, page_size: int, key: KeyOf, where: str, max_pages: int = 100_000) -> Iterator[Page]:
    """Offsets 0, limit, 2·limit, … until `total` rows are read."""
    yield from _counted(lambda n: fetch(n * page_size), page_size=page_size, key=key, where=where, max_pages=max_pages)


def _counted(fetch: Callable[[int], Page], *, page_size: int, key: KeyOf, where: str, max_pages: int) -> Iterator[Page]:
    seen: set = set()
    total: int | None = None
    previous: tuple | None = None
    for n in range(max_pages):
        page = fetch(n)
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
        yield page
        if len(seen) >= total or not page.records:
            break
    else:
        raise PaginationError(f"{where}: more than {max_pages} pages; refusing to continue")
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


def dependent(parents: list[dict[str, Any]], fetch_children: Callable[[dict[str, Any]], Any], *, parent_key: KeyOf) -> dict[Any, Any]:
    """One request per parent (e.g. a group's members); returns children by parent key."""
    return {parent_key(p): fetch_children(p) for p in parents}
