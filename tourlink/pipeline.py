"""One batch: read → map → validate → merge, the path every row takes.

This is the only module that knows the order of the stages; the CLI, the connectors' syncs and the
Airflow DAGs all call it. A batch runs in two halves:

- `stage`: read each input, map it to canonical entities and validate it, chunk by chunk, writing
  the good and the bad rows of each chunk as Parquet parts in a staging folder. Nothing is written
  to the warehouse (this is also all `tourlink validate` does).
- `commit`: one warehouse transaction that keeps the raw inputs in the landing folder, merges the
  good parts (parents first), quarantines the bad ones, records findings and the source's
  watermarks, and commits whole or not at all.

Airflow runs the halves as separate tasks. `import_files` and `load_frames` run both at once
(`_StreamedBatch`): each chunk is merged in the open transaction while the next one is read.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from tourlink import crash_points, schema, settings
from tourlink.frames import ISSUES, RAW, SourceFrame

if TYPE_CHECKING:
    from warehouse.load import StorableRows

log = logging.getLogger(__name__)


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
        }


class UnreadableInput(Exception):
    """A raw input cannot be read at all: the batch loads nothing."""

    def __init__(self, file: str, reason: str, reason_zh: str | None = None):
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason
        self.reason_zh = reason_zh or reason


class ForeignAgencyRows(Exception):
    """A file in one agency's folder carries another agency's filings: an agency cannot file for another."""

    def __init__(self, file: str, owner: str, rows: list[tuple[int, str]]):
        shown = "、".join(f"第{row}行（{uscc}）" for row, uscc in rows[:10])
        super().__init__(f"{file}: {len(rows)} rows belong to another agency than {owner}: {rows[:10]}")
        self.file = file
        self.owner = owner
        self.rows = rows
        self.reason_zh = f"文件中有其他旅行社的团队或合同，不能代其他旅行社报送：{shown}。请只上传本社（{owner}）的数据。"


# --------------------------------------------------------------------------- inputs


@dataclass
class Input:
    """Frames of one raw input with the mapping that turns them into canonical entities."""

    mapping: Any
    frames: Iterator[SourceFrame]
    name: str | None = None  # the file's name as a steward knows it
    path: Path | None = None  # kept in the landing folder at commit
    sheet: str | None = None  # the workbook sheet these frames come from
    # Per workbook (on its first input): every sheet, read or skipped, with the reason (Chinese).
    sheets: list[dict[str, Any]] = field(default_factory=list)


def _open(path: Path, name: str, chunk_rows: int, sheet: str | None = None) -> Iterator[SourceFrame]:
    """The reader's frames of `path` (for a workbook a `WorkbookFrames`, which names its sheets)."""
    from connectors.files import UnreadableFile, read_source
    from mappings.engine import known_headers

    try:
        return read_source(path, known_headers=known_headers(), chunk_rows=chunk_rows, sheet=sheet)
    except UnreadableFile as exc:
        raise UnreadableInput(name, exc.reason, exc.reason_zh) from exc


def _read(frames: Iterator[SourceFrame], name: str) -> Iterator[SourceFrame]:
    from connectors.files import UnreadableFile

    try:
        for frame in frames:
            frame.file = name
            yield frame
    except UnreadableFile as exc:
        raise UnreadableInput(name, exc.reason, exc.reason_zh) from exc


def _per_sheet(path: Path, name: str, chunk_rows: int) -> tuple[list[Iterator[SourceFrame]], list[dict[str, Any]]]:
    """The frames of each input of one file: one per matching sheet of a workbook (each gets its own
    mapping), else the file's; and the workbook's sheets, read or skipped with the reason."""
    from connectors.files import WorkbookFrames

    frames = _open(path, name, chunk_rows)
    if not isinstance(frames, WorkbookFrames):
        return [_read(frames, name)], []
    sheets = [{"file": name, "sheet": c.name, "read": c.read, "reason": c.reason_zh} for c in frames.sheets]
    read = [c.name for c in frames.sheets if c.read]
    if len(read) == 1:
        return [_read(frames, name)], sheets
    frames.close()
    return [_read(_open(path, name, chunk_rows, sheet), name) for sheet in read], sheets


# A file's first chunk is mapped and validated in two parts, the first a quarter of a chunk: a streamed
# batch's writer (whose database work is the longer half of a load) starts that much earlier.
FIRST_PART_SHARE = 4


def file_inputs(
    paths: Sequence[Path], names: Sequence[str], *, entity: str | None = None, mapping: str | None = None,
    chunk_rows: int = 100_000,
) -> list[Input]:
    """Open every file and choose its mapping from its headers (or the one given)."""
    from mappings.engine import NoMappingFound, detect_mapping, load_mapping

    inputs = []
    for path, name in zip(paths, names, strict=True):
        readers, sheets = _per_sheet(path, name, chunk_rows)
        for index, chunks in enumerate(readers):
            first = next(chunks, None)
            if first is None:
                raise UnreadableInput(name, "the file holds no data rows", "文件中没有数据行")
            try:
                chosen = load_mapping(mapping) if mapping else detect_mapping(first.headers, entity=entity)
            except NoMappingFound as exc:
                raise UnreadableInput(name, str(exc), f"无法识别文件格式，表头与导入模板不符：{exc}") from exc
            frames = _chain(first, chunks, max(chunk_rows // FIRST_PART_SHARE, 1))
            # The raw file is kept once, with its first input.
            inputs.append(Input(chosen, frames, name, path if index == 0 else None, first.sheet,
                                sheets if index == 0 else []))
    return inputs


def _chain(first: SourceFrame, rest: Iterator[SourceFrame], first_rows: int) -> Iterator[SourceFrame]:
    if first.data.height > first_rows:
        yield first.slice(0, first_rows)
        yield first.slice(first_rows)
    else:
        yield first
    yield from rest


# --------------------------------------------------------------------------- stage


@dataclass
class StagedBatch:
    """The validated rows of one batch, as Parquet parts, waiting for `commit`."""

    dir: Path
    batch_id: str
    source: str
    received_at: datetime
    files: list[tuple[str, str]] = field(default_factory=list)  # (local path, name)
    parts: list[tuple[str, str, str]] = field(default_factory=list)  # (entity, "good" | "bad", parquet path)
    read: dict[str, int] = field(default_factory=dict)
    watermarks: dict[str, str] = field(default_factory=dict)
    raw_files: list[str] = field(default_factory=list)  # API bodies kept in the landing folder at commit
    timings: dict[str, float] = field(default_factory=dict)

    def save(self) -> Path:
        """Write the manifest with paths relative to `dir`: the run folder may be handed over to
        another worker (tourlink.storage) and land there under another absolute path."""
        manifest = self.dir / "manifest.json"
        rel = lambda path: os.path.relpath(path, self.dir)  # noqa: E731
        payload = {
            **vars(self), "dir": ".", "received_at": self.received_at.isoformat(),
            "files": [(rel(local), name) for local, name in self.files],
            "parts": [(entity, kind, rel(path)) for entity, kind, path in self.parts],
            "raw_files": [rel(raw) for raw in self.raw_files],
        }
        manifest.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        return manifest

    @classmethod
    def load(cls, dir: Path | str) -> StagedBatch:
        """The batch staged in `dir` (wherever the folder is now)."""
        dir = Path(dir).resolve()
        payload = json.loads((dir / "manifest.json").read_text(encoding="utf-8"))
        at = lambda path: str((dir / path).resolve())  # noqa: E731
        payload["dir"] = dir
        payload["received_at"] = datetime.fromisoformat(payload["received_at"])
        payload["files"] = [(at(local), name) for local, name in payload["files"]]
        payload["parts"] = [(entity, kind, at(path)) for entity, kind, path in payload["parts"]]
        payload["raw_files"] = [at(raw) for raw in payload["raw_files"]]
        return cls(**payload)


class _ParentKeys:
    """Keys of the parents (tour_group, e_contract) staged as good so far, for the ORPHAN rule."""

    def __init__(self, warehouse: Any):
        self._warehouse = warehouse
        self._staged: dict[str, list[pl.DataFrame]] = {}
        self._parents = {e.parent for e in schema.entities().values() if e.parent}

    def add(self, entity: str, good: pl.DataFrame) -> None:
        """Keep the keys of an entity some other entity hangs from (a roster's keys would only grow)."""
        if entity in self._parents and not good.is_empty():
            key = list(schema.entity(entity).natural_key)
            self._staged.setdefault(entity, []).append(good.select(key).unique())

    def existing(self, parent: str, keys: pl.DataFrame) -> pl.DataFrame:
        found = [self._warehouse.existing_keys_readonly(parent, keys)]
        found += [keys.join(staged, on=keys.columns, how="semi") for staged in self._staged.get(parent, [])]
        return pl.concat([f.select(keys.columns) for f in found], how="vertical_relaxed").unique()


def _ordered(frames: dict[str, pl.DataFrame]) -> list[tuple[str, pl.DataFrame]]:
    order = list(schema.entities())
    return sorted(frames.items(), key=lambda item: order.index(item[0]))


def _check_owner(frames: dict[str, pl.DataFrame], owner: str, file: str, heads: dict[str, str]) -> None:
    foreign: set[tuple[int, str]] = set()
    for entity, frame in frames.items():
        column = schema.entity(entity).owner  # whose data a row is (the entity's schema YAML)
        if column is None or frame.is_empty():
            continue
        rows = frame.filter(pl.col(column).is_not_null() & (pl.col(column) != owner)).select("_row", column)
        foreign.update((row, uscc) for row, uscc in rows.iter_rows() if heads.get(uscc) != owner)
    if foreign:
        raise ForeignAgencyRows(file, owner, sorted(foreign))


def stage(
    inputs: Iterable[Input],
    *,
    source: str,
    warehouse: Any = None,
    owner_uscc: str | None = None,
    staging_dir: Path | None = None,
    batch_id: str | None = None,
    progress: bool = False,
    keep_failures: bool = False,
    sink: Callable[[str, str, pl.DataFrame], None] | None = None,
) -> tuple[StagedBatch, list[dict[str, Any]]]:
    """Map and validate every input, chunk by chunk, into Parquet parts. Writes nothing to the warehouse.

    With a `sink`, each part (entity, "good" | "bad", rows) is handed to it instead of written to disk
    (`_StreamedBatch`: the batch's transaction merges it while the next chunk is read)."""
    from validators import split, validate_batch

    wh = _warehouse(warehouse)
    batch_id = batch_id or str(uuid.uuid4())
    directory = staging_dir or settings.home() / "staging" / batch_id
    if sink is None:  # a streamed batch writes no parts and no manifest
        directory.mkdir(parents=True, exist_ok=True)
    staged = StagedBatch(dir=directory, batch_id=batch_id, source=source, received_at=datetime.now(UTC))
    parents = _ParentKeys(wh)
    heads = _branches_of(wh, owner_uscc) if owner_uscc else {}
    failures: list[dict[str, Any]] = []
    timings: dict[str, float] = {}
    today = date.today()

    def clock(stage_name: str, started: float) -> None:
        timings[stage_name] = timings.get(stage_name, 0.0) + time.perf_counter() - started

    for item in inputs:
        if item.path is not None:
            staged.files.append((str(item.path), item.name or item.path.name))
        started = time.perf_counter()
        for frame in _progress(item.frames, item.name or source, progress):
            clock("read", started)
            started = time.perf_counter()
            mapped = item.mapping.apply(frame, received_at=staged.received_at, source=source)
            clock("map", started)
            if owner_uscc:
                _check_owner(mapped, owner_uscc, frame.file, heads)
            started = time.perf_counter()
            checked = validate_batch(mapped, existing_keys=parents.existing, today=today)
            clock("validate", started)
            started = time.perf_counter()
            for entity, df in _ordered(checked):
                staged.read[entity] = staged.read.get(entity, 0) + df.height
                good, bad = split(df)
                good = good.drop(RAW, strict=False)  # the source row is kept for quarantine only
                parents.add(entity, good)
                for kind, part in (("good", good), ("bad", bad)):
                    if part.is_empty():
                        continue
                    if sink is not None:
                        sink(entity, kind, part)
                        continue
                    path = directory / f"{len(staged.parts):05d}-{entity}-{kind}.parquet"
                    part.write_parquet(path, compression="lz4")
                    staged.parts.append((entity, kind, str(path)))
                if keep_failures:
                    failures += _failures(entity, df.filter(pl.col(ISSUES).list.len() > 0))
            clock("stage", started)
            started = time.perf_counter()
    staged.timings = timings
    if sink is None:
        staged.save()
    return staged, failures


def _failures(entity: str, rows: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {"file": file, "row": row, "entity": entity, "rules": issues}
        for file, row, issues in rows.select("_file", "_row", ISSUES).iter_rows()
    ]


# --------------------------------------------------------------------------- commit


def commit(staged: StagedBatch, *, warehouse: Any = None, raw_files: Sequence[Path] = ()) -> BatchResult:
    """Load a staged batch in ONE transaction: raw inputs kept, parents merged before children, bad
    rows quarantined, findings and watermarks recorded. Commits whole or not at all."""
    wh = _warehouse(warehouse)
    result = BatchResult(batch_id=staged.batch_id, source=staged.source, timings=dict(staged.timings))
    started = time.perf_counter()
    order = list(schema.entities())
    parts = sorted(staged.parts, key=lambda p: (order.index(p[0]), p[1] != "good", p[2]))
    with wh.batch(staged.source) as b:
        _keep_inputs(b, result, staged.files, [*staged.raw_files, *raw_files])
        for entity, kind, path in parts:
            _write_part(b, result, entity, kind, pl.read_parquet(path))
        result.timings["merge"] = time.perf_counter() - started
        _finish_batch(b, result, staged)
    shutil.rmtree(staged.dir, ignore_errors=True)
    return result


def _keep_inputs(b: Any, result: BatchResult, files: Sequence[tuple[str, str]], raw_files: Sequence[Path | str]) -> None:
    result.batch_id = b.batch_id
    for local, name in files:
        b.add_file(Path(local), name=name)
        result.files.append(name)
    for raw in raw_files:
        result.files.append(b.add_file(Path(raw)).name)


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
    for stream, value in staged.watermarks.items():
        b.set_watermark(stream, value)
    b.record_counts({e: vars(c) for e, c in result.entities.items()}, result.timings)
    crash_points.reached("before-commit")


class _StreamedBatch:
    """One batch whose transaction merges each part while the next chunk is read, mapped and validated.

    The direct paths (`import_files`, `load_frames`) have no task boundary to cross, so they need no
    Parquet parts: a writer thread holds the batch's transaction and takes parts from a short queue
    (two parts: memory stays bounded), and the database's work overlaps the Python stages. Parts
    arrive chunk by chunk, parents before children within each chunk. Still ONE transaction: if
    staging fails (a rejected input), the writer withdraws the batch — rolled back, no batch row, as
    when staging ran first — and staging's error reaches the caller.
    """

    _END = ("end", "", None, None)

    def __init__(self, wh: Any, source: str, files: Sequence[tuple[str, str]], raw_files: Sequence[Path | str]):
        self._queue: queue.Queue[tuple[str, str, pl.DataFrame | None, StorableRows | None]] = queue.Queue(maxsize=2)
        self._staged: StagedBatch | None = None
        self._error: BaseException | None = None
        self.result = BatchResult(batch_id=None, source=source)
        self._thread = threading.Thread(
            target=self._write, args=(wh, source, files, raw_files), name="tourlink-batch-writer", daemon=True
        )
        self._thread.start()

    def put(self, entity: str, kind: str, frame: pl.DataFrame) -> None:
        """Hand a part to the writer (waits while two are queued); raises the writer's error, if any.

        Good rows are made storable here, in the reading thread: the writer's thread is the one
        the database waits on."""
        from warehouse.load import storable

        prepared = storable(entity, frame) if kind == "good" else None
        self._hand_over((entity, kind, frame, prepared))
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
        """Staging failed: the writer rolls the batch back."""
        self._hand_over(("abort", "", None, None))
        self._thread.join()

    def _hand_over(self, item: tuple[str, str, pl.DataFrame | None, StorableRows | None]) -> None:
        """Queue `item` unless the writer has ended (it ends only by committing, withdrawing or failing)."""
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _write(self, wh: Any, source: str, files: Sequence[tuple[str, str]], raw_files: Sequence[Path | str]) -> None:
        from warehouse.load import BatchWithdrawn

        busy = 0.0
        try:
            with wh.batch(source) as b:
                _keep_inputs(b, self.result, files, raw_files)
                while True:
                    entity, kind, frame, prepared = self._queue.get()
                    if entity == "abort":
                        raise BatchWithdrawn()
                    if frame is None:
                        break
                    started = time.perf_counter()
                    _write_part(b, self.result, entity, kind, frame, prepared)
                    busy += time.perf_counter() - started
                assert self._staged is not None
                self.result.timings = {**self._staged.timings, "merge": busy}
                _finish_batch(b, self.result, self._staged)
        except BatchWithdrawn:
            pass
        except BaseException as exc:  # raised again in the caller's thread
            self._error = exc


def _stream(
    inputs: list[Input], *, source: str, wh: Any, owner_uscc: str | None, raw_files: Sequence[Path | str] = (),
    watermarks: dict[str, str] | None = None, progress: bool = False,
) -> BatchResult:
    """Stage and commit one batch at once (`_StreamedBatch`)."""
    files = [(str(item.path), item.name or item.path.name) for item in inputs if item.path is not None]
    streamed = _StreamedBatch(wh, source, files, raw_files)
    try:
        staged, _ = stage(
            inputs, source=source, warehouse=wh, owner_uscc=owner_uscc, progress=progress, sink=streamed.put
        )
    except BaseException:
        streamed.abort()
        raise
    staged.watermarks = dict(watermarks or {})
    return streamed.finish(staged)


# --------------------------------------------------------------------------- public API


def import_files(
    paths: Sequence[Path | str],
    *,
    source: str = "files",
    entity: str | None = None,
    mapping: str | None = None,
    owner_uscc: str | None = None,
    names: Sequence[str] | None = None,
    warehouse: Any = None,
    chunk_rows: int = 100_000,
    progress: bool = False,
    skip_loaded: bool = False,
) -> BatchResult:
    """Import files as ONE batch. Files may come in any order. A file that cannot be read at all
    raises `UnreadableInput`; a file in an agency's folder with another agency's rows raises
    `ForeignAgencyRows`; in both cases nothing of the batch is loaded.

    `skip_loaded`: a file whose exact bytes (SHA-256) a committed batch already holds is left out
    and listed in `skipped`, unread: re-reading it could only find every row unchanged. When every
    file is left out, nothing is written and `batch_id` is None."""
    paths = [Path(p) for p in paths]
    names = list(names) if names else [str(p) for p in paths]
    wh = _warehouse(warehouse)
    skipped: list[dict[str, str]] = []
    checksum = 0.0
    if skip_loaded:
        started = time.perf_counter()
        paths, names, skipped = _leave_out_loaded(paths, names, wh)
        checksum = time.perf_counter() - started
        if not paths:
            return BatchResult(batch_id=None, source=source, timings={"checksum": checksum}, skipped=skipped)
    started = time.perf_counter()
    inputs = file_inputs(paths, names, entity=entity, mapping=mapping, chunk_rows=chunk_rows)
    opened = time.perf_counter() - started  # each file's first chunk is read here, to pick its mapping
    result = _stream(inputs, source=source, wh=wh, owner_uscc=owner_uscc, progress=progress)
    result.timings["read"] = result.timings.get("read", 0.0) + opened
    if skip_loaded:
        result.timings["checksum"] = checksum
    result.skipped = skipped
    result.sheets = [sheet for item in inputs for sheet in item.sheets]
    return result


def _leave_out_loaded(
    paths: list[Path], names: list[str], wh: Any
) -> tuple[list[Path], list[str], list[dict[str, str]]]:
    """Split off the files a committed batch already holds (same SHA-256 as the landing folder keys
    them by): the paths and names still to import, and what was left out with the batch that holds it."""
    from warehouse.landing import sha256_of

    kept_paths, kept_names, skipped = [], [], []
    for path, name in zip(paths, names, strict=True):
        digest = sha256_of(path) if path.is_file() else None  # a missing file fails as unreadable, below
        batch_id = wh.loaded_by(digest) if digest else None
        if batch_id is None:
            kept_paths.append(path)
            kept_names.append(name)
        else:
            skipped.append({"file": name, "sha256": digest, "batch_id": batch_id})
    return kept_paths, kept_names, skipped


# --------------------------------------------------------------------------- extract only

_EXTRACT_ONLY: ContextVar[Path | None] = ContextVar("extract_only", default=None)


@contextmanager
def extract_only(run_dir: Path) -> Iterator[Path]:
    """Within this block `load_frames` keeps what a connector extracted in `run_dir` instead of
    loading it: the frames (Parquet), the raw bodies and the watermarks. Airflow's extract task runs
    a connector's ordinary sync this way; `stage_extracted` and `commit` then finish the batch."""
    run_dir.mkdir(parents=True, exist_ok=True)
    token = _EXTRACT_ONLY.set(run_dir)
    try:
        yield run_dir
    finally:
        _EXTRACT_ONLY.reset(token)


def _keep_extraction(
    run_dir: Path, frames: Iterable[SourceFrame], mapping: str, source: str, raw_files: Sequence[Path],
    watermarks: dict[str, str] | None, owner_uscc: str | None,
) -> BatchResult:
    raw_dir = run_dir / "raw"
    raw_dir.mkdir(exist_ok=True)
    kept_frames = []
    for i, frame in enumerate(frames):
        path = run_dir / f"frame-{i:05d}.parquet"
        frame.data.write_parquet(path)
        kept_frames.append({"path": path.name, "file": frame.file})  # relative: the folder may move
    kept_raw = []
    for raw in raw_files:
        target = raw_dir / f"{len(kept_raw):05d}-{Path(raw).name}"
        shutil.copyfile(raw, target)
        kept_raw.append(target.relative_to(run_dir).as_posix())
    manifest = {"mapping": mapping, "source": source, "frames": kept_frames, "raw_files": kept_raw,
                "watermarks": dict(watermarks or {}), "owner_uscc": owner_uscc}
    (run_dir / "extraction.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return BatchResult(batch_id=None, source=source, files=[Path(r).name for r in kept_raw])


def stage_extracted(run_dir: Path, *, warehouse: Any = None) -> StagedBatch:
    """Map and validate what `extract_only` kept in `run_dir` (the validate task of a nightly DAG)."""
    from mappings.engine import load_mapping

    manifest = json.loads((run_dir / "extraction.json").read_text(encoding="utf-8"))
    frames = (SourceFrame(pl.read_parquet(run_dir / f["path"]), file=f["file"]) for f in manifest["frames"])
    inputs = [Input(load_mapping(manifest["mapping"]), frames)]
    staged, _ = stage(
        inputs, source=manifest["source"], warehouse=warehouse, owner_uscc=manifest["owner_uscc"],
        staging_dir=run_dir / "staged",
    )
    staged.watermarks = manifest["watermarks"]
    staged.raw_files = [str(run_dir / raw) for raw in manifest["raw_files"]]
    staged.save()
    return staged


def load_frames(
    frames: Iterable[SourceFrame],
    *,
    mapping: str,
    source: str,
    raw_files: Sequence[Path] = (),
    watermarks: dict[str, str] | None = None,
    warehouse: Any = None,
    owner_uscc: str | None = None,
) -> BatchResult:
    """Load frames a connector read (API pages) as ONE batch, keeping their raw bodies in the
    landing folder and committing the source's watermarks in the same transaction."""
    from mappings.engine import load_mapping

    run_dir = _EXTRACT_ONLY.get()
    if run_dir is not None:
        return _keep_extraction(run_dir, frames, mapping, source, raw_files, watermarks, owner_uscc)
    wh = _warehouse(warehouse)
    inputs = [Input(load_mapping(mapping), iter(frames))]
    return _stream(inputs, source=source, wh=wh, owner_uscc=owner_uscc, raw_files=raw_files, watermarks=watermarks)


def validate_files(
    paths: Sequence[Path | str], *, entity: str | None = None, mapping: str | None = None, warehouse: Any = None
) -> BatchResult:
    """The checks of `import_files`, writing nothing: every failing row comes back in `failures`."""
    paths = [Path(p) for p in paths]
    inputs = file_inputs(paths, [str(p) for p in paths], entity=entity, mapping=mapping)
    staged, failures = stage(inputs, source="validate", warehouse=warehouse, keep_failures=True)
    shutil.rmtree(staged.dir, ignore_errors=True)
    result = BatchResult(batch_id=None, source="validate", files=[name for _, name in staged.files], failures=failures)
    for entity_name, read in staged.read.items():
        result.counts(entity_name).read = read
    for failure in failures:
        if any(rule["severity"] == "ERROR" for rule in failure["rules"]):
            result.counts(failure["entity"]).quarantined += 1
    return result


def _branches_of(wh: Any, owner: str) -> dict[str, str]:
    """Branches and outlets may file in their head's folder: their uscc -> the head's uscc."""
    import sqlalchemy as sa

    from warehouse.tables import entity_tables

    agency = entity_tables["travel_agency"]
    with wh.engine.connect() as conn:
        rows = conn.execute(sa.select(agency.c.uscc, agency.c.parent_uscc).where(agency.c.parent_uscc == owner))
        return dict(rows.all())


def _warehouse(warehouse: Any) -> Any:
    if warehouse is not None:
        return warehouse
    from warehouse.load import Warehouse

    return Warehouse()


def _progress(frames: Iterator[SourceFrame], label: str, enabled: bool) -> Iterator[SourceFrame]:
    if not enabled:
        yield from frames
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task(f"{label}: 0 rows", total=None)
        rows = 0
        for frame in frames:
            rows += frame.data.height
            bar.update(task, description=f"{label}: {rows:,} rows")
            yield frame
