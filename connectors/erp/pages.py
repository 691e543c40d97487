"""A stream's pages: read them all (re-reading a stream whose total moved), then shape them as frames.

Mapping and validation cost a fixed ~0.5 s per frame whatever its size, so the pages of a stream are
grouped into frames of about `ROWS_PER_FRAME` records; each row keeps its page's name (`__file`) and
its position on that page (`__row`), so quarantine still points at the exact raw body and record.
Each page's records become a frame as the page arrives, while the next pages are in flight; once the
stream is read whole its frames are put together, so the flow is not kept waiting for a frame built
from every record of the stream (0.29 s for 5,000 signed-json teams).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connectors.bodies import RawBody, as_raw, discard
from connectors.http.decoding import decode_json
from connectors.http.errors import TotalMismatch
from tourlink.frames import PAGE_FILE, ROW, SourceFrame

if TYPE_CHECKING:
    from connectors.erp.dialects import Dialect

log = logging.getLogger(__name__)
STREAM_RETRIES = 3  # re-reads of a stream whose total moved while paging
ROWS_PER_FRAME = 5000  # records mapped and validated together (pages are 100-500 records)


@dataclass
class StreamRead:
    """What reading one stream produced: records per page, raw bodies, the max update time seen."""

    pages: list[tuple[str, list[dict[str, Any]], RawBody]] = field(default_factory=list)  # (file, records, body)
    # Each page's records as a frame, made as the page arrives while the next pages are in flight, so
    # the stream's frames are put together, not built from every record, once it is read whole.
    frames: dict[str, Any] = field(default_factory=dict)  # file -> polars DataFrame
    records: int = 0
    max_updated: datetime | None = None


def read_stream(dialect: Dialect, stream: str, start: datetime | None, end: datetime) -> StreamRead:
    """All pages of one stream in [start, end]; re-read (bounded) when the total moved while paging."""
    for attempt in range(STREAM_RETRIES + 1):
        read = StreamRead()
        try:
            for n, page in enumerate(dialect.pages(stream, start, end), start=1):
                # the name a steward sees on a quarantined row is the raw body's name in `batch_file`
                name = f"{stream}-page-{n:04d}.{dialect.extension}"
                body = as_raw(page.body)
                if page.extra:  # dependent bodies travel with their page, so the raw input replays
                    whole = {"page": decode_json(body, name), "dependent": page.extra}
                    body.discard()  # re-encoded below: a spilled page's file is not kept
                    body = RawBody(body=json.dumps(whole, ensure_ascii=False).encode())
                read.pages.append((name, page.records, body))
                read.frames[name] = records_frame(page.records)
                read.records += len(page.records)
                moment = dialect.latest(page.records)
                if moment is not None and (read.max_updated is None or moment > read.max_updated):
                    read.max_updated = moment
            dialect.finish(stream, read, end)
            return read
        except TotalMismatch as exc:
            discard(body for _, _, body in read.pages)  # this attempt's pages are read again
            if attempt == STREAM_RETRIES:
                raise
            log.warning("%s; re-reading the stream (attempt %d)", exc, attempt + 2)
    raise AssertionError("unreachable")


Pages = list[tuple[str, list[dict[str, Any]], list[int]]]  # (page name, records, their positions on the page)


def page_frame(records: list[dict[str, Any]], file: str, list_columns: tuple[str, ...]) -> SourceFrame:
    """One API page as a SourceFrame: the records as received, `__row` = position on the page."""
    return pages_frame([(file, records, list(range(1, len(records) + 1)))], list_columns)


def records_frame(records: list[dict[str, Any]]) -> Any:
    """Records as a polars DataFrame, every record read for the column types."""
    import polars as pl

    return pl.DataFrame(records, infer_schema_length=None) if records else pl.DataFrame()


def _from_page_frames(pages: Pages, built: Mapping[str, Any]) -> Any:
    """The pages' kept records from their frames made as they arrived (`StreamRead.frames`), or None
    when their columns do not put together as one frame built from the records would have them."""
    import polars as pl

    parts = []
    for name, _, positions in pages:
        frame = built.get(name)
        if frame is None:
            return None
        if not positions:
            continue
        if len(positions) != frame.height:  # a record repeated on a later page, or a bare tombstone
            frame = frame[[n - 1 for n in positions]]
        parts.append(frame)
    if not parts:
        return pl.DataFrame()
    kinds: dict[str, set[bool]] = {}
    for frame in parts:
        for column, dtype in frame.schema.items():
            if dtype != pl.Null and dtype != pl.List(pl.Null):
                kinds.setdefault(column, set()).add(dtype.is_nested())
    if any(len(seen) > 1 for seen in kinds.values()):  # a list or object on one page, a value on another:
        return None  # relaxed concatenation would write the object as text; made from the records, it fails
    try:  # the types each page inferred, widened as inference over all records widens them
        return pl.concat(parts, how="diagonal_relaxed")
    except (pl.exceptions.PolarsError, TypeError):
        return None


def pages_frame(pages: Pages, list_columns: tuple[str, ...], built: Mapping[str, Any] | None = None) -> SourceFrame:
    """Several API pages as ONE SourceFrame: each row keeps its page's name (`__file`) and its
    position on that page (`__row`), so quarantine still points at the exact raw body and record.
    `built`: the pages' frames made as they arrived, put together instead of the records."""
    import polars as pl

    data = _from_page_frames(pages, built) if built else None
    if data is None:
        data = records_frame([r for _, page, _ in pages for r in page])
    for column in list_columns:
        if column not in data.columns:
            data = data.with_columns(pl.lit(None, pl.List(pl.String)).alias(column))
    files = [name for name, page, _ in pages for _ in page]
    rows = [n for _, _, positions in pages for n in positions]
    data = data.with_columns(pl.Series(ROW, rows, dtype=pl.Int64), pl.Series(PAGE_FILE, files, dtype=pl.String))
    return SourceFrame(data=data, file=pages[0][0] if len(pages) == 1 else f"{pages[0][0]} … {pages[-1][0]}")


def distinct_pages(pages: list[tuple[str, list[dict[str, Any]]]], key: Callable[[dict[str, Any]], Any]) -> Pages:
    """The pages of one stream with every record kept once: its LAST occurrence (a record repeated
    across pages, or re-served after it changed while we paged, is the same record; the later copy is
    the newer). The pages stay whole in the landing folder; this only decides what gets mapped."""
    last: dict[Any, tuple[int, int]] = {}
    for p, (_, records) in enumerate(pages):
        for i, r in enumerate(records):
            last[key(r)] = (p, i)
    out: Pages = []
    for p, (name, records) in enumerate(pages):
        kept = [(i, r) for i, r in enumerate(records) if last[key(r)] == (p, i)]
        out.append((name, [r for _, r in kept], [i + 1 for i, _ in kept]))
    return out


def grouped_frames(
    pages: Pages, list_columns: tuple[str, ...], rows_per_frame: int, built: Mapping[str, Any] | None = None
) -> Iterator[SourceFrame]:
    """The pages of one stream grouped into frames of about `rows_per_frame` records."""
    chunk: Pages = []
    size = 0
    for page in pages:
        chunk.append(page)
        size += len(page[1])
        if size >= rows_per_frame:
            yield pages_frame(chunk, list_columns, built)
            chunk, size = [], 0
    if chunk and size:
        yield pages_frame(chunk, list_columns, built)
