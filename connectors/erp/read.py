"""Read an ERP source (`signed-json`, `oauth-cursor`, `legacy-xml`, `rest`): every stream, one window.

A read freezes its window end when it starts and reads every stream from the stored watermark minus a
lookback (default 10 minutes) up to that end. It returns an `Extract`: the pages as frames, each raw
response body, and the new state (the streams' watermarks, never moved back, and the connector's own
state rows). `tourlink.flow` maps, validates and merges it in ONE transaction together with that
state: a sync killed at any point loads nothing; its re-run starts again from the previous watermark,
and the merge (by natural key, newest `updated_at` wins) makes rows that are read twice load once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from connectors import dialects
from connectors.declarative.tombstones import bare_tombstone
from connectors.erp.client import build_client
from connectors.erp.dialects import Dialect
from connectors.erp.pages import ROWS_PER_FRAME, Pages, StreamRead, distinct_pages, grouped_frames, read_stream
from connectors.http.errors import SourceError
from connectors.reading import Extract, RawBody, Window, connector_state, watermarks_of
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
    """Every stream of `source` in the window, from `state` (what the warehouse holds for it)."""
    end = (window.until or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)  # frozen for the whole read
    lookback = timedelta(minutes=float(source.option("lookback_minutes", 10)))
    stored = watermarks_of(state)
    marks = {} if (window.full_refresh or window.since) else stored
    extract = Extract(source=source.name, mapping=source.mapping or source.dialect.replace("-", "_"))
    reads: dict[str, StreamRead] = {}
    with build_client(source) as client:
        dialect = vendor_of(source, client, connector_state(state))
        for stream in source.streams or tuple(dialect.streams):
            if stream not in dialect.streams:
                raise SourceError(f"{source.name}: unknown stream {stream!r} for dialect {source.dialect}")
            reads[stream] = read_stream(dialect, stream, _start(stream, marks, window, lookback), end)
        extract.requests = client.requests
    rows_per_frame = int(source.option("rows_per_frame", ROWS_PER_FRAME))
    for stream, got in reads.items():
        extract.raw += [RawBody(name, body) for name, _, body in got.pages]
        mapped: Pages = []
        for name, records, rows in distinct_pages([(n, r) for n, r, _ in got.pages], dialect.key(stream)):
            kept = [(r, n) for r, n in zip(records, rows, strict=True) if not bare_tombstone(r)]
            mapped.append((name, [r for r, _ in kept], [n for _, n in kept]))
        extract.frames += grouped_frames(mapped, dialect.list_columns, rows_per_frame)
        extract.streams[stream] = got.records
        extract.pages += len(got.pages)
    for stream, got in reads.items():
        previous = stored.get(stream)  # never moves back, not even after a backfill or full refresh
        latest = got.max_updated.isoformat() if got.max_updated else previous
        if latest and previous and latest < previous:
            latest = previous
        if latest:
            extract.state[stream] = latest
    extract.state.update(dialect.state_out)  # committed with the rows, like the watermarks
    return extract


def check(source: SourceConfig) -> dict[str, int]:
    """Credentials and reachability: one authenticated first page per stream, nothing loaded.

    Returns the records on each stream's first page (at most 1)."""
    probe = dataclasses.replace(source, options={**source.options, "page_size": 1})
    seen: dict[str, int] = {}
    with build_client(probe) as client:
        dialect = vendor_of(probe, client)
        end = datetime.now(UTC).replace(microsecond=0)
        for stream in source.streams or tuple(dialect.streams):
            first = next(iter(dialect.pages(stream, None, end)), None)
            seen[stream] = len(first.records) if first else 0
    return seen
