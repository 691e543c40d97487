"""The batch: one batch = one transaction, its raw files kept in the landing folder and its lineage.

`Warehouse.batch` opens the transaction, registers the batch row (visible as `running` while it is
alive), sweeps batch rows a killed process left behind, and commits whole or not at all. Its
`BatchWriter` keeps the raw inputs (`add_file`, by SHA-256), answers which parent keys exist, and does
the writes of the other modules in that one transaction: merge (`warehouse.merge`), quarantine and
findings (`warehouse.quarantine`), source state (`warehouse.state`), all through the bulk paths of
`warehouse.bulk`. The batch row, the source watermarks and everything else commit together.
"""

from __future__ import annotations

import json
import tempfile
import traceback
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from tourlink import schema, settings
from warehouse import locks, migrations, state, tables
from warehouse.bulk import _ROWCOUNT, _copy, _create_temp, _storage_expr, _utcnow
from warehouse.engine import SQLITE_BEGIN, make_engine
from warehouse.first_load import KeylessTables
from warehouse.landing import land
from warehouse.merge import MergeWriter
from warehouse.quarantine import QuarantineWriter
from warehouse.state import StateWriter

_MERGE_WORK_MEM = "128MB"  # PostgreSQL, for the statements of a batch's transaction only
_UPGRADED: set[str] = set()

# Sources whose batches correct some rows, never carry a whole set (fix-and-replay, issue 7): their
# rows merge, but a parent they touch keeps its stored children (a replayed 团队名单 holds only the
# corrected members, not the whole roster).
PATCH_SOURCES = frozenset({"replay"})


@dataclass(frozen=True)
class FileRecord:
    sha256: str
    name: str
    landing_path: str  # relative to the landing folder
    size: int


class Warehouse:
    """The warehouse at `url` (default `TOURLINK_WAREHOUSE_URL`, else the embedded SQLite)."""

    def __init__(self, url: str | None = None, *, landing_dir: Path | None = None, upgrade: bool = True):
        """`upgrade=False`: leave the schema as stored (`tourlink db downgrade`)."""
        self.url: str = url or settings.warehouse_url()
        self.engine: sa.Engine = make_engine(self.url)
        self.dialect: str = self.engine.dialect.name
        self.landing_dir = Path(landing_dir) if landing_dir else settings.landing_dir()
        if upgrade and self.url not in _UPGRADED:
            self._upgrade_unless_current()

    # ------------------------------------------------------------------ schema

    def upgrade(self) -> None:
        """Bring the schema to the latest Alembic revision (`tourlink db upgrade`); idempotent."""
        with self._schema_transaction() as conn:
            migrations.upgrade(conn)
        _UPGRADED.add(self.url)

    def downgrade(self, revision: str) -> list[tuple[str, str]]:
        """Take the schema back to `revision` (`tourlink db downgrade`, before running an older
        release): the revisions undone, newest first (`migrations.downgrade`)."""
        with self._schema_transaction() as conn:
            undone = migrations.downgrade(conn, revision)
        _UPGRADED.discard(self.url)
        return undone

    def _upgrade_unless_current(self) -> None:
        """`upgrade` when the schema is not at the head, checked first by a plain read: a process
        opening an up-to-date warehouse (nearly every one) takes no write lock, no advisory lock and
        no write transaction for it, so it neither waits for a running SQLite batch's write lock nor
        pays PostgreSQL the lock's round trip (start-up, bench/startup.py). Migrations only move
        forward, so a schema found at the head stays there; any other answer takes the locked path,
        which checks again under the lock."""
        with self.engine.connect() as conn:
            current = migrations.at_head(conn)
            conn.rollback()
        if current:
            _UPGRADED.add(self.url)
        else:
            self.upgrade()

    @contextmanager
    def _schema_transaction(self) -> Iterator[sa.Connection]:
        """A write transaction holding the schema's advisory lock on PostgreSQL: one process at a
        time changes the schema (SQLite's write lock does it there)."""
        with self._write_transaction() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:c, hashtext(current_schema()))"), {"c": 0x746C0000})
            yield conn

    @contextmanager
    def _write_transaction(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            with conn.begin():
                yield conn

    # ------------------------------------------------------------------ reads

    def file_loaded(self, sha256: str) -> bool:
        """Whether a committed batch already holds this file (checksum-keyed resume)."""
        return self.loaded_by(sha256) is not None

    def loaded_by(self, sha256: str) -> str | None:
        """The first committed batch that holds this file, or None: a failed or rolled-back batch
        holds nothing, so its files load again."""
        query = (
            sa.select(tables.batch.c.batch_id)
            .select_from(tables.batch_file.join(tables.batch))
            .where(tables.batch_file.c.sha256 == sha256, tables.batch.c.status == "committed")
            .order_by(tables.batch.c.finished_at, tables.batch.c.batch_id)
            .limit(1)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def file_sheets(self, batch_id: str) -> dict[str, dict[str, Any]]:
        """`batch_file.sheets` of the batch's workbooks, by file name (files without sheets left out)."""
        f = tables.batch_file
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(f.c.file, f.c.sheets).where(f.c.batch_id == batch_id, f.c.sheets.is_not(None)).order_by(f.c.file)
            ).all()
        return {row.file: row.sheets for row in rows}

    def watermark(self, source: str, stream: str) -> str | None:
        return state.watermark(self.engine, source, stream)

    def existing_keys_readonly(self, entity: str, keys: pl.DataFrame) -> pl.DataFrame:
        """`BatchWriter.existing_keys` outside a batch (for `tourlink validate`): nothing is written."""
        with self.engine.connect() as conn, conn.begin() as tx:
            found = _existing_keys(conn, entity, keys, f"_keys_{uuid.uuid4().hex[:8]}")
            tx.rollback()
        return found

    # ------------------------------------------------------------------ batches

    @contextmanager
    def batch(self, source: str, *, entities: Iterable[str] | None = None) -> Iterator[BatchWriter]:
        """One batch, one transaction: committed on exit, rolled back on an exception.

        `entities` narrows the tables this batch locks (PostgreSQL); default: every entity table.
        """
        batch_id = str(uuid.uuid4())
        started = _utcnow()
        row = {"batch_id": batch_id, "source": source, "status": "running", "started_at": started}
        conn = self.engine.connect()
        conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        tx = conn.begin()
        writer: BatchWriter | None = None
        try:
            if self.dialect == "postgresql":
                # Alive first, then visible as running: no sweep can mistake it for abandoned.
                locks.hold_batch(conn, batch_id)
                with self.engine.begin() as side:
                    row["batch_no"] = _insert_batch_row(side, row)
            else:
                row["batch_no"] = _insert_batch_row(conn, row)  # SQLite: the write lock is the liveness
            _sweep_abandoned(conn, batch_id)
            writer = BatchWriter(self, conn, batch_id, source, started, entities, batch_no=row["batch_no"])
            yield writer
            writer._finish()
            tx.commit()
        except BatchWithdrawn:
            tx.rollback()
            conn.close()
            self._forget(batch_id)
            raise
        except BaseException as exc:
            tx.rollback()
            conn.close()
            self._mark_failed(row, exc)
            raise
        finally:
            conn.close()
            if writer is not None:
                writer._spool.close()

    def _forget(self, batch_id: str) -> None:
        """A withdrawn batch leaves no row (on PostgreSQL its `running` row was committed beside it)."""
        with self._write_transaction() as conn:
            conn.execute(tables.batch.delete().where(tables.batch.c.batch_id == batch_id))

    def _mark_failed(self, row: dict[str, Any], exc: BaseException) -> None:
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
        values = {"status": "failed", "finished_at": _utcnow(), "error": error}
        try:
            with self._write_transaction() as conn:
                t = tables.batch
                update = t.update().where(t.c.batch_id == row["batch_id"]).values(**values)
                done = conn.execute(update, execution_options=_ROWCOUNT).rowcount
                if not done:  # SQLite: the row went with the rollback (its number may be taken since)
                    _insert_batch_row(conn, {k: v for k, v in {**row, **values}.items() if k != "batch_no"})
        except sa.exc.SQLAlchemyError:  # the database itself is gone: the batch row stays `running`
            pass


class BatchWithdrawn(Exception):
    """Raised inside `Warehouse.batch` by a caller whose input was rejected before the batch could
    complete (an unreadable file, another agency's rows): rolled back, and no batch row is kept,
    exactly as if the batch had never opened."""


def _insert_batch_row(conn: sa.Connection, row: dict[str, Any]) -> int:
    """Insert a batch row numbered in the same statement; its `batch_no`. PostgreSQL draws the number
    from `BATCH_NO_SEQUENCE` (never reused, whatever commits); SQLite takes one above the highest,
    under the write lock its batches hold from their first statement."""
    t = tables.batch
    if conn.dialect.name == "postgresql":
        number: sa.ColumnElement = sa.func.nextval(tables.BATCH_NO_SEQUENCE)
    else:
        number = sa.select(sa.func.coalesce(sa.func.max(t.c.batch_no), 0) + 1).scalar_subquery()
    return int(conn.execute(t.insert().values(**row, batch_no=number).returning(t.c.batch_no)).scalar_one())


def _sweep_abandoned(conn: sa.Connection, batch_id: str) -> None:
    """Batch rows left `running` by a killed process become `abandoned` (their rows were rolled back)."""
    t = tables.batch
    where = [t.c.status == "running", t.c.batch_id != batch_id]
    if conn.dialect.name == "postgresql":
        where.append(locks.abandoned_batch_clause())
    conn.execute(
        t.update().where(*where).values(status="abandoned", finished_at=_utcnow(), error="process ended mid-batch")
    )


class BatchWriter(MergeWriter, QuarantineWriter, StateWriter):
    """Writes of one batch, all in the batch's transaction (`connection`): `merge` (`MergeWriter`),
    `quarantine` and `findings` (`QuarantineWriter`), `set_watermark` (`StateWriter`)."""

    def __init__(
        self,
        warehouse: Warehouse,
        connection: sa.Connection,
        batch_id: str,
        source: str,
        received_at: datetime,
        entities: Iterable[str] | None,
        *,
        batch_no: int,
    ):
        self.warehouse = warehouse
        self.connection = connection
        self.batch_id = batch_id
        self.batch_no = batch_no  # what its rows carry as `_batch_no`
        self.source = source
        self.received_at: datetime = received_at  # naive UTC
        self._lock_names = sorted(entities) if entities is not None else sorted(tables.entity_tables)
        self._locked = False
        self._suffix = batch_id.replace("-", "")[:10]
        self._temps: dict[str, sa.Table] = {}
        self._written: set[str] = set()  # parents with rows written in this batch
        self._carried: dict[str, list[Path]] = {}  # child entity -> spooled keys this batch carries
        self._spool = _Spool()
        self._deleted: dict[str, int] = {}
        self._entries_opened = 0  # quarantine entries this batch opened (`quarantine_entries`)
        self._entries_elsewhere: dict[int, str] = {}  # an earlier batch's open entry id -> its batch
        self._keyless = KeylessTables(connection)  # keys dropped for a first load, rebuilt before use
        self._counts: dict[str, Any] = {}
        self._timings: dict[str, float] = {}
        self._files: set[str] = set()
        self._file_numbers: dict[str, int] = {}

    # ------------------------------------------------------------------ files

    def add_file(self, path: Path, *, name: str | None = None) -> FileRecord:
        """Keep the raw input in the landing folder (by SHA-256) and record it in this batch."""
        return self.add_files([(Path(path), name)])[0]

    def add_files(self, files: Iterable[tuple[Path, str | None]]) -> list[FileRecord]:
        """`add_file` for many (path, name) at once, recorded in ONE statement: a sync keeps one raw
        body per page, thousands for a province (one INSERT each was ~0.5 ms per page)."""
        records, rows = [], []
        for path, name in files:
            path = Path(path)
            landed = land(path, self.warehouse.landing_dir)
            record = FileRecord(landed.sha256, name or path.name, landed.landing_path, landed.size)
            records.append(record)
            if landed.sha256 not in self._files:
                self._files.add(landed.sha256)
                rows.append({"batch_id": self.batch_id, "sha256": record.sha256, "file": record.name,
                             "landing_path": record.landing_path, "size": record.size, "received_at": self.received_at})  # fmt: skip
        if rows:
            self.connection.execute(tables.batch_file.insert(), rows)
        return records

    def record_sheets(self, sheets: dict[str, dict[str, Any]]) -> None:
        """Store on this batch's file rows (by the name the steward gave) which workbook sheets were
        read as which template and which were skipped and why (`batch_file.sheets`), in the batch's
        own transaction: a batch that committed always says what it read of each workbook."""
        f = tables.batch_file
        for name, record in sheets.items():
            self.connection.execute(
                f.update().where(f.c.batch_id == self.batch_id, f.c.file == name).values(sheets=record)
            )

    # ------------------------------------------------------------------ reads in the batch

    def existing_keys(self, entity: str, keys: pl.DataFrame) -> pl.DataFrame:
        """The subset of `keys` (natural-key columns) already in the core table, this batch included."""
        self._keyless.restore(entity)
        return _existing_keys(self.connection, entity, keys, self._temp_name("keys", entity))

    # ------------------------------------------------------------------ counts

    def record_counts(self, counts: dict, timings: dict) -> None:
        """Counts and timings stored on the batch row when it commits."""
        self._counts = json.loads(json.dumps(counts, default=str))
        self._timings = {k: round(float(v), 3) for k, v in timings.items()}

    # ------------------------------------------------------------------ internals

    def _finish(self) -> None:
        self._keyless.restore()  # before the child-set replacement reads the tables, and before commit
        if self.source not in PATCH_SOURCES:
            self._replace_child_sets()
        counts = {k: dict(v) if isinstance(v, dict) else v for k, v in self._counts.items()}
        for entity, deleted in self._deleted.items():
            counts.setdefault(entity, {})["deleted"] = deleted
        for temp in self._temps.values():
            temp.drop(self.connection)
        t = tables.batch
        self.connection.execute(
            t.update()
            .where(t.c.batch_id == self.batch_id)
            .values(status="committed", finished_at=_utcnow(), counts=counts, timings=self._timings)
        )

    def _lock(self) -> None:
        if not self._locked:
            locks.lock_tables(self.connection, self._lock_names)
            if self.warehouse.dialect == "postgresql":
                # The merge hash-joins staged chunks (up to 200,000 rows) with the core table: with
                # the default 4 MB each join spills to disk in many batches.
                self.connection.exec_driver_sql(f"SET LOCAL work_mem = '{_MERGE_WORK_MEM}'")
            self._locked = True

    def _temp_name(self, purpose: str, entity: str) -> str:
        return f"_{purpose}_{entity}_{self._suffix}"

    def _stage_table(
        self, purpose: str, columns: Iterable[sa.Column], *, indexes: Iterable[Iterable[str]] = ()
    ) -> sa.Table:
        """A temporary table of this batch (created once, dropped before commit)."""
        if purpose not in self._temps:
            self._temps[purpose] = _create_temp(self.connection, f"_{purpose}_{self._suffix}", columns, indexes)
        return self._temps[purpose]


class _Spool:
    """Frames a batch keeps aside on local disk until its end (dropped with the writer)."""

    def __init__(self) -> None:
        self._dir: tempfile.TemporaryDirectory | None = None

    def add(self, frame: pl.DataFrame) -> Path:
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="tourlink-batch-")
        path = Path(self._dir.name) / f"{uuid.uuid4().hex}.arrow"
        frame.write_ipc(path)
        return path

    def close(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


def _existing_keys(conn: sa.Connection, entity: str, keys: pl.DataFrame, temp_name: str) -> pl.DataFrame:
    spec = schema.entity(entity)
    table = tables.entity_tables[entity]
    names = [c for c in keys.columns if c in table.c]
    if keys.is_empty() or not names:
        return keys.clear()
    distinct = keys.select(names).unique()
    temp = _create_temp(conn, temp_name, [table.c[c] for c in names])
    try:
        _copy(conn, temp, distinct.select(_storage_expr(spec.field(c), distinct) for c in names))
        match = sa.exists().where(*(table.c[c] == temp.c[c] for c in names))
        found = conn.execute(sa.select(*temp.c).where(match)).all()
    finally:
        temp.drop(conn)
    found_frame = pl.DataFrame([tuple(r) for r in found], schema=distinct.schema, orient="row")
    return keys.join(found_frame, on=names, how="semi")
