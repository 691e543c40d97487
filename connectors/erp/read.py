"""Read an ERP source (`signed-json`, `oauth-cursor`, `legacy-xml`, `rest`): every stream, one window.

A read freezes its window end when it starts and reads every stream from the stored watermark minus a
lookback (default 10 minutes) up to that end. It returns an `Extract`: the pages as frames, each raw
response body, and the new state (the streams' watermarks, never moved back, and the connector's own
state rows). `tourlink.flow` maps, validates and merges it in ONE transaction together with that
state: a sync killed at any point loads nothing; its re-run starts again from the previous watermark,
and the merge (by natural key, newest `updated_at` wins) makes rows that are read twice load once.

The streams are read side by side (`read_parts`, one thread each; the client's `max_concurrency`
bounds the requests in flight over all of them), and each stream is handed on as soon as its pages
are complete and add up, so the flow maps and validates one stream while the next is still fetched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta

from connectors import dialects
from connectors.bodies import as_raw
from connectors.declarative.tombstones import bare_tombstone
from connectors.erp.client import build_client
from connectors.erp.dialects import Dialect
from connectors.erp.pages import ROWS_PER_FRAME, Pages, StreamRead, distinct_pages, grouped_frames, read_stream
from connectors.http.errors import SourceError
from connectors.http.gate import request_priority
from connectors.reading import Extract, Window, connector_state, watermarks_of
from connectors.registry import SourceConfig


def vendor_of(source: SourceConfig, client, state: Mapping[str, str] | None = None) -> Dialect:  # noqa: ANN001
    return dialects.vendor(source.dialect)(source, client, state)


def _start(stream: str, marks: Mapping[str, str], window: Window, lookback: timedelta) -> datetime | None:
    if window.since is not None:
        return window.since.astimezone(UTC)
    if stream in marks:
        return datetime.fromisoformat(marks[stream]) - lookback
    return None


def read(source: SourceConfig, state: Mapping[str, str], window: Window = Window()) -> Extract:
    """Every stream of `source` in the window, from `state` (what the warehouse holds for it): the
    parts of `read_parts` put together, in the order of the source's streams."""
    parts = list(read_parts(source, state, window))
    order = {name: i for i, name in enumerate(parts[-1].streams)}  # the last part lists them in order
    streams = sorted(parts[:-1], key=lambda part: order[next(iter(part.streams))])
    extract = Extract(source=source.name, mapping=parts[-1].mapping)
    for part in [*streams, parts[-1]]:
        extract.frames += part.frames
        extract.take(part)
    return extract


def read_parts(source: SourceConfig, state: Mapping[str, str], window: Window = Window()) -> Iterator[Extract]:
    """The streams of one read of `source`, each as its own `Extract` (its frames, raw bodies and
    watermark) as soon as it is read whole, in the order they finish; then a last one with no rows:
    the connector's own state (tombstones), the requests made, and every stream's record count in
    the source's order. The streams are read side by side, one thread each, within the client's
    limits (`max_concurrency` in flight, `requests_per_second`), which all of them share. A stream
    that fails ends the read with its error once the others stop."""
    end = (window.until or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)  # frozen for the whole read
    lookback = timedelta(minutes=float(source.option("lookback_minutes", 10)))
    stored = watermarks_of(state)
    marks = {} if (window.full_refresh or window.since) else stored
    mapping = source.mapping or source.dialect.replace("-", "_")
    with build_client(source) as client:
        dialect = vendor_of(source, client, connector_state(state))
        streams = list(source.streams or tuple(dialect.streams))
        for stream in streams:
            if stream not in dialect.streams:
                raise SourceError(f"{source.name}: unknown stream {stream!r} for dialect {source.dialect}")
        rows_per_frame = int(source.option("rows_per_frame", ROWS_PER_FRAME))
        counts: dict[str, int] = {}
        pool = ThreadPoolExecutor(max_workers=max(1, len(streams)), thread_name_prefix="stream")
        try:
            def one(stream: str) -> Extract:  # in the stream's thread: its pages, then its frames
                with request_priority(streams.index(stream)):  # the first stream ends first (`http.gate`)
                    got = read_stream(dialect, stream, _start(stream, marks, window, lookback), end)
                return _stream_part(source.name, mapping, stream, got, dialect, stored, rows_per_frame)

            running: dict[Future[Extract], str] = {pool.submit(one, s): s for s in streams}
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    stream = running.pop(future)
                    part = future.result()
                    counts[stream] = part.streams[stream]
                    yield part
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        last = Extract(source=source.name, mapping=mapping, requests=client.requests, pushback=client.pushback)
        last.in_flight = client.in_flight if client.pushback else None
        last.streams = {s: counts[s] for s in streams}
    last.state.update(dialect.state_out)  # committed with the rows, like the watermarks
    yield last


def _stream_part(
    source: str, mapping: str, stream: str, got: StreamRead, dialect: Dialect, stored: Mapping[str, str], rows_per_frame: int
) -> Extract:
    """One stream read whole: its frames (each record once, bare tombstones left out), its raw
    bodies, and its watermark (never moved back, not even after a backfill or full refresh)."""
    part = Extract(source=source, mapping=mapping, raw=[as_raw(body, name) for name, _, body in got.pages])
    mapped: Pages = []
    for name, records, rows in distinct_pages([(n, r) for n, r, _ in got.pages], dialect.key(stream)):
        kept = [(r, n) for r, n in zip(records, rows, strict=True) if not bare_tombstone(r)]
        mapped.append((name, [r for r, _ in kept], [n for _, n in kept]))
    part.frames = list(grouped_frames(mapped, dialect.list_columns, rows_per_frame, got.frames))
    part.streams[stream] = got.records
    part.pages = len(got.pages)
    previous = stored.get(stream)
    latest = got.max_updated.isoformat() if got.max_updated else previous
    if latest and previous and latest < previous:
        latest = previous
    if latest:
        part.state[stream] = latest
    return part


def check(source: SourceConfig) -> dict[str, int]:
    """Credentials and reachability: one authenticated first page per stream, nothing loaded.

    Returns the records on each stream's first page (at most 1)."""
    probe = dataclasses.replace(source, options={**source.options, "page_size": 1})
    seen: dict[str, int] = {}
    with build_client(probe) as client:
        dialect = vendor_of(probe, client)
        end = datetime.now(UTC).replace(microsecond=0)
        try:
            for stream in source.streams or tuple(dialect.streams):
                first = next(iter(dialect.pages(stream, None, end)), None)
                seen[stream] = len(first.records) if first else 0
        finally:
            client.discard_spilled()  # nothing is landed: no page's temp file is kept
    return seen
