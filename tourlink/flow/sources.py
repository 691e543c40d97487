"""One sync of a source, without Airflow: state from the warehouse → reader → one batch with the new state.

`sync` is what `tourlink sync` and the sandboxes' syncs run: it reads the source's state
(`flow.state`), calls the dialect's reader (`connectors.dialects`) with its config, that state and
the window, and loads what the reader returned as ONE batch (`flow.batch.load_batch`): frames
mapped, validated and merged, raw bodies kept in the landing folder, the new state committed with the
rows, then what the warehouse derives from them. A drop folder (`sftp-drop`) is the flow's other
shape: each settled file its own batch (`flow.drop`).

A reader that hands its streams on as they are read (`read_parts`, the ERP dialects) is loaded as
they arrive: each stream's drift is observed, then its frames mapped and validated while the other
streams are still fetched (`_LateBatch`: on PostgreSQL merged into the batch's transaction, open from
the start, and its raw bodies landed as they come; on SQLite the parts wait and the transaction opens
once every raw body is in). The batch, its raw inputs and its state are the same as when the read
came first. A read that fails loads nothing.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors import dialects
from connectors.bodies import discard, temp_folder
from connectors.reading import Extract, RawBody, Window
from connectors.registry import SourceConfig, get_source
from tourlink.flow.batch import after_commit, load_batch, raw_files
from tourlink.flow.drift import observe as observe_drift
from tourlink.flow.inputs import record_inputs
from tourlink.flow.merge import BatchResult, StreamedBatch
from tourlink.flow.outage import as_failure, database_errors
from tourlink.flow.staging import stage, warehouse_of
from tourlink.flow.state import stored_state
from tourlink.frames import SourceFrame
from tourlink.metrics import emit_batch


@dataclass
class SyncResult:
    """What one sync did: per-stream record counts, per-entity load counts, and the traffic it cost."""

    source: str
    batch_id: str | int | None
    streams: dict[str, int] = field(default_factory=dict)
    entities: dict[str, Any] = field(default_factory=dict)
    pages: int = 0
    requests: int = 0
    watermarks: dict[str, str] = field(default_factory=dict)
    pushback: int = 0  # answers of the vendor asking to slow down (`Extract.pushback`)
    in_flight: tuple[int, int] | None = None  # (requests in flight at the end, configured) after pushback

    def to_json(self) -> str:
        def default(value: Any) -> Any:
            if hasattr(value, "__dataclass_fields__"):
                return asdict(value)
            if isinstance(value, datetime | Path):
                return str(value)
            return repr(value)

        return json.dumps(asdict(self), ensure_ascii=False, default=default, sort_keys=True)


def config_of(source: SourceConfig | str, registry: Path | str | None = None) -> SourceConfig:
    return get_source(source, registry) if isinstance(source, str) else source


def read(source: SourceConfig, state: Mapping[str, str], window: Window) -> Extract:
    """What the dialect's reader returns for `source` (nothing loaded)."""
    return dialects.reader(source.dialect)(source, dict(state), window)


def nothing_to_commit(extract: Extract) -> bool:
    """No rows, no raw body and no new state: a batch would record nothing (an idle feed)."""
    return not extract.frames and not extract.raw and not extract.state


def read_parts(source: SourceConfig, state: Mapping[str, str], window: Window) -> Iterator[Extract] | None:
    """The dialect reader's parts (each stream as soon as it is read, then the connector's state),
    or None when its reader hands back one `Extract` only."""
    module, _, _ = dialects.spec(source.dialect).reader.partition(":")
    parts = getattr(importlib.import_module(module), "read_parts", None)
    return None if parts is None else parts(source, dict(state), window)


def sync(
    source: SourceConfig | str,
    *,
    full_refresh: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    warehouse: Any = None,
) -> SyncResult:
    """Sync one source (by name or config) into the warehouse as one batch, its new state included."""
    config = config_of(source)
    if dialects.reads_files(config.dialect):
        from tourlink.flow.drop import sync_drop

        return sync_drop(config, warehouse=warehouse)
    wh = warehouse_of(warehouse)
    window, state = Window(since, until, full_refresh), stored_state(config.name, wh)
    parts = read_parts(config, state, window)
    if parts is not None:
        return _sync_arriving(config.name, parts, wh)
    extract = read(config, state, window)
    try:  # spilled raw bodies are deleted once the batch landed them, or failed
        observe_drift(extract, wh)  # alerted before any row can be quarantined over a renamed field
        result = _result(extract)
        if nothing_to_commit(extract):
            result.entities.update(_derive_idle(wh, extract))
            return result
        batch = load_batch(
            record_inputs(extract.frames, extract.mapping), source=config.name, warehouse=wh, raw=extract.raw,
            state=extract.state,
        )
    finally:
        discard(extract.raw)
    result.batch_id = batch.batch_id
    result.entities = {name: vars(counts) for name, counts in batch.entities.items()}
    result.entities.update(batch.derived)
    return result


def _result(extract: Extract) -> SyncResult:
    return SyncResult(
        source=extract.source, batch_id=None, streams=dict(extract.streams), pages=extract.pages,
        requests=extract.requests, watermarks=extract.watermarks, pushback=extract.pushback, in_flight=extract.in_flight,
    )


def _derive_idle(wh: Any, extract: Extract) -> dict[str, Any]:
    """An idle feed: what a commit would derive still runs (catch-up)."""
    from mappings.engine import load_mapping

    return after_commit(wh, source=extract.source, entities=load_mapping(extract.mapping).entities)


class _LateBatch:
    """The sink of a batch staged while its read goes on. Its raw inputs are kept once every raw
    body is in (`open`), so a read that fails lands none, and its state once staging ends.

    On PostgreSQL the batch's transaction (`StreamedBatch`) opens at once, so its connection, batch
    row and first merges overlap the fetch (the tail after the last page is what the sync costs
    beyond its fetch); the parts are merged as they are staged and the raw bodies kept after them.
    SQLite has one writer: a transaction open from the start would hold its write lock while drift
    sightings are written, so there the parts wait and the transaction opens once the read is whole."""

    def __init__(self, wh: Any, source: str, folder: Path):
        self._wh, self._source, self._folder = wh, source, folder
        self._waiting: list[tuple[str, str, Any]] = []
        self.opened = False  # every raw body is in: the batch has something to commit
        self.streamed: StreamedBatch | None = None
        self._landing: ThreadPoolExecutor | None = None
        self._landed: list[Future[list[Path]]] = []
        if getattr(wh, "dialect", None) == "postgresql":
            self.streamed = StreamedBatch(wh, source, [], [])
            self._landing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tourlink-landing")

    def arrived(self, raw: list[RawBody]) -> None:
        """A part's raw bodies, in while the read goes on: on PostgreSQL they are saved and landed now
        (`warehouse.landing`: by content hash, each fsynced) in a thread of their own, and recorded in
        the batch once the read is whole. A read that fails records none (the landing folder may hold
        them, as it holds the inputs of any batch that failed after keeping them)."""
        if self._landing is None or not raw:
            return
        folder = self._folder / f"{len(self._landed):03d}"
        self._landed.append(self._landing.submit(_landed, folder, list(raw), self._wh.landing_dir))

    def put(self, entity: str, kind: str, frame: Any) -> None:
        if self.streamed is None:
            self._waiting.append((entity, kind, frame))
        else:
            self.streamed.put(entity, kind, frame)

    def open(self, raw: list[RawBody]) -> None:
        self.opened = True
        if self.streamed is not None:
            landed = self._landed
            self.streamed.keep(lambda: [path for future in landed for path in future.result()])
            return
        self.streamed = StreamedBatch(self._wh, self._source, [], raw_files(self._folder, raw))
        waiting, self._waiting = self._waiting, []
        for part in waiting:
            self.streamed.put(*part)

    def abort(self) -> None:
        """The read failed, or is idle: the batch is withdrawn (no batch row, nothing kept)."""
        if self.streamed is not None:
            self.streamed.abort()

    def close(self) -> None:
        """The landing thread ends (before the raw bodies' temp folder goes)."""
        if self._landing is not None:
            self._landing.shutdown(wait=True, cancel_futures=True)


def _landed(folder: Path, raw: list[RawBody], landing_dir: Path) -> list[Path]:
    """`raw` saved under `folder` and landed (copied by content hash, fsynced): the batch's
    `add_file` then finds each one landed and only records it."""
    from warehouse.landing import land

    paths = raw_files(folder, raw)
    for path in paths:
        land(path, landing_dir)
    return paths


class _Arrival:
    """A read's parts as they arrive: `frames` yields each part's frames once its drift is observed
    (alerted before any of its rows can be quarantined over a renamed field); `whole` gathers
    everything else, and `on_whole` is called with it once the read is complete."""

    def __init__(self, parts: Iterator[Extract], whole: Extract, wh: Any, on_whole: Callable[[Extract], None],
                 on_part: Callable[[list[RawBody]], None]):  # fmt: skip
        self._parts, self.whole, self._wh, self._on_whole, self._on_part = parts, whole, wh, on_whole, on_part
        self.had_frames = False

    def empty(self) -> bool:
        """No rows, no raw body and no new state: a batch would record nothing (an idle feed)."""
        return not self.had_frames and nothing_to_commit(self.whole)

    def frames(self) -> Iterator[SourceFrame]:
        whole = self.whole
        for part in self._parts:
            observe_drift(part, self._wh)
            self._on_part(part.raw)
            whole.take(part)
            self.had_frames = self.had_frames or bool(part.frames)
            frames, part.frames = part.frames, []
            yield from frames
        self._on_whole(whole)


def _sync_arriving(source: str, parts: Iterator[Extract], wh: Any) -> SyncResult:
    """One batch loaded from a read's parts as they arrive (see the module docstring). The warehouse
    failing anywhere (a cut connection) is told as what it left (`flow.outage`), as by `load_batch`."""
    started = time.perf_counter()
    late: _LateBatch | None = None
    whole = Extract(source=source, mapping="")
    try:
        with temp_folder("raw") as tmp:
            late = _LateBatch(wh, source, Path(tmp))  # on PostgreSQL its transaction opens while the read goes on
            try:
                arrived = parts
                try:
                    first = next(parts)
                    arrived = _chain(first, parts)
                    whole.mapping = first.mapping
                    arrival = _Arrival(arrived, whole, wh,
                                       lambda whole: None if arrival.empty() else late.open(whole.raw),
                                       late.arrived)  # fmt: skip
                    staged, _ = stage(record_inputs(arrival.frames(), first.mapping), source=source, warehouse=wh,
                                      sink=late.put)  # fmt: skip
                except BaseException:
                    late.abort()
                    arrived.close()  # the streams still being read stop with the read
                    raise
                result = _result(arrival.whole)
                if not late.opened:  # an idle feed: no batch
                    late.abort()
                    result.entities.update(_derive_idle(wh, arrival.whole))
                    return result
                staged.state = dict(arrival.whole.state)
                assert late.streamed is not None
                batch: BatchResult = late.streamed.finish(staged)
            finally:
                late.close()
        batch.derived = after_commit(wh, source=source, entities=staged.entities)
    except database_errors() as exc:
        streamed = late.streamed if late is not None else None
        raise as_failure(wh, exc, streamed.result.batch_id if streamed else None) from exc
    finally:  # spilled raw bodies: landed by now, or the batch failed
        discard(whole.raw)
    # counts (and the vendor's pushback) to StatsD / Prometheus (docs/metrics.md)
    emit_batch({**batch.to_json(), "pushback": result.pushback}, time.perf_counter() - started)
    result.batch_id = batch.batch_id
    result.entities = {name: vars(counts) for name, counts in batch.entities.items()}
    result.entities.update(batch.derived)
    return result


def _chain(first: Extract, rest: Iterator[Extract]) -> Iterator[Extract]:
    yield first
    yield from rest


def check(source: SourceConfig | str, registry: Path | str | None = None) -> dict[str, int]:
    """Credentials and reachability (`tourlink sources check`): the dialect's check, nothing loaded."""
    config = config_of(source, registry)
    return dialects.checker(config.dialect)(config)
