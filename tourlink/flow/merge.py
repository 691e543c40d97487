"""Commit a batch: ONE warehouse transaction that keeps the raw inputs in the landing folder, merges
the good parts (parents before children), quarantines the bad ones, records findings and the
source's state, and commits whole or not at all.

Two ways, one result: `commit` loads a staged batch's parts from its hand-over (Airflow's merge
step); `StreamedBatch` holds the transaction open in a writer thread and merges each part while the
next chunk is read, mapped and validated (every direct path: the CLI, a sync, an SFTP drop, a replay);
a sync opens it while its read is still fetched and hands it the raw inputs once the read is whole
(`StreamedBatch.keep`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from tourlink import crash_points, schema
from tourlink.flow.handover import StagedBatch
from tourlink.flow.staging import warehouse_of

if TYPE_CHECKING:
    from warehouse.load import StorableRows


@dataclass
class EntityCounts:
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    unchanged: int = 0


@dataclass
class BatchResult:
    batch_id: str | None
    source: str
    files: list[str] = field(default_factory=list)
    entities: dict[str, EntityCounts] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)  # filled by `validate_files`
    # Files a committed batch already holds, left out (`import_files(skip_loaded=True)`): file, sha256, batch_id.
    skipped: list[dict[str, str]] = field(default_factory=list)
    # Workbook sheets, read or skipped with the reason: file, sheet, read, reason (Chinese).
    sheets: list[dict[str, Any]] = field(default_factory=list)
    # What the warehouse derived after the commit (`warehouse.derived`), e.g. {"travel_agency": {"folded": 4}}.
    derived: dict[str, dict[str, int]] = field(default_factory=dict)
    # Where the rejected rows are: batch id -> open quarantine entries holding them (this batch's, and an
    # earlier batch's that already held the same row with the same rules: a file imported again).
    quarantine_entries: dict[str, int] = field(default_factory=dict)

    def counts(self, entity: str) -> EntityCounts:
        return self.entities.setdefault(entity, EntityCounts())

    def to_json(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "source": self.source,
            "files": self.files,
            "entities": {name: vars(c) for name, c in self.entities.items()},
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "skipped": self.skipped,
            "sheets": self.sheets,
            "derived": self.derived,
            "quarantine_entries": self.quarantine_entries,
        }


def commit(staged: StagedBatch, *, warehouse: Any = None, raw_files: Sequence[Path] = ()) -> BatchResult:
    """Load a staged batch from its hand-over in ONE transaction: raw inputs kept, parents merged
    before children, bad rows quarantined, findings and state recorded. Commits whole or not at all;
    the parts are dropped from the hand-over once committed."""
    assert staged.handover is not None, "a streamed batch has no parts to commit"
    wh = warehouse_of(warehouse)
    handover = staged.handover
    result = BatchResult(batch_id=staged.batch_id, source=staged.source, timings=dict(staged.timings))
    started = time.perf_counter()
    order = list(schema.entities())
    parts = sorted(staged.parts, key=lambda p: (order.index(p[0]), p[1] != "good", p[2]))
    raw = [handover.local_path(name) for name in staged.raw_files]
    with wh.batch(staged.source) as b:
        _keep_inputs(b, result, staged.files, [*raw, *raw_files])
        for entity, kind, name in parts:
            _write_part(b, result, entity, kind, handover.read_frame(name))
        result.timings["merge"] = time.perf_counter() - started
        _finish_batch(b, result, staged)
    handover.remove("parts")
    return result


def _keep_inputs(b: Any, result: BatchResult, files: Sequence[tuple[str, str]], raw_files: Sequence[Path | str]) -> None:
    result.batch_id = b.batch_id
    b.add_files((Path(local), name) for local, name in files)
    result.files += [name for _, name in files]
    result.files += [record.name for record in b.add_files((Path(raw), None) for raw in raw_files)]


def _write_part(
    b: Any, result: BatchResult, entity: str, kind: str, frame: pl.DataFrame, prepared: StorableRows | None = None
) -> None:
    """Merge a part of good rows (and record their findings), or quarantine a part of bad ones.
    `prepared`: the good rows' `warehouse.load.storable`, if made already."""
    counts = result.counts(entity)
    if kind == "good":
        merged = b.merge(entity, frame, prepared=prepared)
        counts.loaded += merged.loaded
        counts.unchanged += merged.unchanged
        b.findings(entity, frame)
        crash_points.reached(f"merged:{entity}")
    else:
        counts.quarantined += b.quarantine(entity, frame, source=result.source)
        crash_points.reached(f"quarantined:{entity}")


def _finish_batch(b: Any, result: BatchResult, staged: StagedBatch) -> None:
    for entity, read in staged.read.items():
        result.counts(entity).read = read
    for stream, value in staged.state.items():  # the source's state, in the rows' transaction
        b.set_watermark(stream, value)
    if staged.sheets:
        b.record_sheets(staged.sheets)
    result.quarantine_entries = dict(b.quarantine_entries)
    b.record_counts({e: vars(c) for e, c in result.entities.items()}, result.timings)
    crash_points.reached("before-commit")


class StreamedBatch:
    """One batch whose transaction merges each part while the next chunk is read, mapped and validated.

    The direct paths (`tourlink.flow.batch.load_batch`) have no task boundary to cross, so they need no
    Parquet parts: a writer thread holds the batch's transaction and takes each part as it is handed
    over (`put` returns once the parts waiting for it hold at most `WAITING_BYTES`: a file's chunk
    waits alone, so at most two are alive, the one being written and the next), and the database's
    work overlaps the Python stages. Parts
    arrive chunk by chunk, parents before children within each chunk. Still ONE transaction: if
    staging fails (a rejected input), the writer withdraws the batch — rolled back, no batch row, as
    when staging ran first — and staging's error reaches the caller.
    """

    _END = ("end", "", None, None)
    # Parts handed over may wait for the writer while they add up to at most this many bytes: a
    # sync's parts (a few MB each) queue and the next stream is mapped while the writer merges the
    # last one's; a file's 100,000-row chunk (~23 MB) is bigger, so its hand-over still returns only
    # once the writer has it (at most two chunks alive: peak memory).
    WAITING_BYTES = 8 << 20

    def __init__(self, wh: Any, source: str, files: Sequence[tuple[str, str]], raw_files: Sequence[Path | str]):
        self._queue: queue.Queue[tuple[tuple[str, str, pl.DataFrame | None, StorableRows | None], int]] = queue.Queue()
        self._taken = threading.Condition()
        self._waiting_bytes = 0  # of the parts queued and not yet taken by the writer
        self._aborted = False  # staging failed: the parts still queued are not merged
        self._staged: StagedBatch | None = None
        self._error: BaseException | None = None
        self.result = BatchResult(batch_id=None, source=source)
        self._thread = threading.Thread(
            target=self._write, args=(wh, source, files, raw_files), name="tourlink-batch-writer", daemon=True
        )
        self._thread.start()

    def put(self, entity: str, kind: str, frame: pl.DataFrame) -> None:
        """Hand a part to the writer (waits until it takes it); raises the writer's error, if any.

        Good rows are made storable here, in the reading thread: the writer's thread is the one
        the database waits on."""
        from warehouse.load import storable

        prepared = storable(entity, frame) if kind == "good" else None
        size = frame.estimated_size() + (prepared.stored.estimated_size() if prepared is not None else 0)
        self._hand_over((entity, kind, frame, prepared), size)
        if self._error is not None:
            raise self._error

    def keep(self, raw_files: Callable[[], Sequence[Path | str]]) -> None:
        """Keep more raw inputs in this batch: `raw_files()` (the files to land) is called in the
        writer's thread, in the transaction, after the parts handed over before it. A sync opens its
        batch before its read is whole and keeps the bodies once it is: a read that fails lands none."""
        self._hand_over(("files", "", None, raw_files))  # type: ignore[arg-type]
        if self._error is not None:
            raise self._error

    def finish(self, staged: StagedBatch) -> BatchResult:
        """Every part is handed over: let the writer commit, and wait for it."""
        self._staged = staged
        self._hand_over(self._END)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.result

    def abort(self) -> None:
        """Staging failed: the writer rolls the batch back (without merging what is still queued)."""
        self._aborted = True
        self._hand_over(("abort", "", None, None))
        self._thread.join()

    def _hand_over(self, item: tuple[str, str, pl.DataFrame | None, StorableRows | None], size: int = 0) -> None:
        """Queue `item` (`size` bytes) and return once the parts still waiting for the writer hold at
        most `WAITING_BYTES`, or the writer has ended (it ends only by committing, withdrawing or
        failing). Parts alive are then the one being written and those waiting: a file's chunk
        (~23 MB at 100 k rows: its strings are views into the chunk's read buffers) waits alone,
        as two queued chunks and one waiting to queue held ~70 MB more at the same speed, since the
        writer is the slower side of a file import either way."""
        with self._taken:
            self._waiting_bytes += size
        self._queue.put((item, size))
        with self._taken:
            while self._waiting_bytes > self.WAITING_BYTES and self._thread.is_alive():
                self._taken.wait(0.2)

    def _next(self) -> tuple[str, str, pl.DataFrame | None, StorableRows | None]:
        """The writer takes the next part: a hand-over waiting for room goes on."""
        item, size = self._queue.get()
        with self._taken:
            self._waiting_bytes -= size
            self._taken.notify_all()
        return item

    def _write(self, wh: Any, source: str, files: Sequence[tuple[str, str]], raw_files: Sequence[Path | str]) -> None:
        from warehouse.load import BatchWithdrawn

        busy = 0.0
        try:
            with wh.batch(source) as b:
                _keep_inputs(b, self.result, files, raw_files)
                while True:
                    entity, kind, frame, prepared = self._next()
                    if entity == "abort" or self._aborted:
                        raise BatchWithdrawn()
                    if entity == "files":
                        _keep_inputs(b, self.result, (), prepared())  # type: ignore[misc, operator]
                        continue
                    if frame is None:
                        break
                    started = time.perf_counter()
                    _write_part(b, self.result, entity, kind, frame, prepared)
                    busy += time.perf_counter() - started
                    del frame, prepared  # written: not held while waiting for the next part
                assert self._staged is not None
                self.result.timings = {**self._staged.timings, "merge": busy}
                _finish_batch(b, self.result, self._staged)
        except BatchWithdrawn:
            pass
        except BaseException as exc:  # raised again in the caller's thread
            self._error = exc
