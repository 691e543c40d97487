"""Merge: a batch's good rows into the core tables by natural key, set-based.

A stored row is replaced when the incoming `updated_at` is one the source really sent and is newer
**or** when it is equal or newer and a content value differs (`updated_at` versions a row and is not
content; `submitted_at` keeps the earliest filing time): a newer version with the same content is stored
too, so the stored `updated_at` never lags the source (issue 16), and counts as loaded. An `updated_at`
the mapping filled with the time of receipt (`frames.UPDATED_AT_GIVEN` false: a blank 更新时间) is no
version, so such a row is written only when its content differs and loading the same input twice
changes nothing.

Each frame gets a 64-bit hash of its content columns and, where the source sent it, `updated_at`
(`_row_hash`, polars; `_content_hash`); the stored keys and hashes
it may replace are fetched by index lookups (a child's by its parents' keys) and compared in polars: a
row whose stored hash equals its own has the same content and is neither copied nor locked; a row with
a key not stored yet is bulk-copied straight into
the core table (PostgreSQL `COPY`, SQLite `executemany`); only rows whose stored hash differs go through
a staging table and one `INSERT … ON CONFLICT … DO UPDATE … WHERE` that compares every content column.
A first load into an empty table skips the lookups while no key comes twice (`MergeWriter._all_new`)
and, on PostgreSQL, a big one loads with the table's primary key dropped and rebuilt with one sort
(`warehouse.first_load`).
A parent written in a batch has its stored children replaced by the set the batch carries
(`_replace_child_sets`, when the batch finishes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import sqlalchemy as sa

from tourlink import schema
from tourlink.frames import UPDATED_AT_GIVEN
from warehouse import tables
from warehouse.bulk import _ROWCOUNT, _clear, _column_or_null, _copy, _fetch, _index_lookups, _storage_expr
from warehouse.engine import upsert_insert
from warehouse.first_load import KeylessTables

if TYPE_CHECKING:
    from warehouse.batch import Warehouse, _Spool


@dataclass(frozen=True)
class MergeCounts:
    loaded: int  # inserted or replaced
    unchanged: int  # same key, nothing newer or nothing different: not written


_NOT_CONTENT = ("updated_at", "submitted_at")


_GIVEN = "__updated_at_given"  # in `StorableRows.stored`: the row's `updated_at` came from the source


def _content(spec: schema.Entity) -> list[str]:
    """The content columns: neither the key nor `_NOT_CONTENT`."""
    return [f.name for f in spec.fields if f.name not in (*spec.natural_key, *_NOT_CONTENT)]


@dataclass(frozen=True)
class StorableRows:
    """Good rows of one entity made ready for `BatchWriter.merge` (`storable`)."""

    latest: pl.DataFrame  # one row per natural key: the newest
    stored: pl.DataFrame  # those rows as the core table stores them, with `_file`, `_row`, `_row_hash`


def storable(entity: str, good: pl.DataFrame) -> StorableRows:
    """The merge's column-wise preparation, which needs no database: one row per key, storage form,
    content hash. A streamed import runs it in the reading thread, while the batch's transaction is
    busy with the previous part; `merge` runs it itself when not given."""
    spec = schema.entity(entity)
    latest = _latest_per_key(spec, good)
    stored = latest.select(
        *(_storage_expr(spec.field(name), latest) for name in spec.field_names),
        _column_or_null(latest, "_file", pl.String).alias("_file"),
        _column_or_null(latest, "_row", pl.Int64).alias("_row"),
    )
    if spec.has_updated_at:
        # absent (a canonical frame built without a mapping): its `updated_at` is the source's own
        given = pl.col(UPDATED_AT_GIVEN).fill_null(True) if UPDATED_AT_GIVEN in latest.columns else pl.lit(True)
        stored = stored.with_columns(latest.select(given.alias(_GIVEN)).to_series() & stored["updated_at"].is_not_null())
    return StorableRows(latest, stored.with_columns(_row_hash=_content_hash(spec, stored)))


class MergeWriter:
    """`BatchWriter.merge` and the child-set replacement it prepares, in the batch's transaction."""

    warehouse: Warehouse
    connection: sa.Connection
    batch_id: str
    batch_no: int
    _temps: dict[str, sa.Table]
    _written: set[str]
    _carried: dict[str, list[Path]]
    _spool: _Spool
    _deleted: dict[str, int]
    _lock_names: list[str]
    _keyless: KeylessTables
    _file_numbers: dict[str, int]  # a file name its rows cite -> its `lineage_file.file_no` in this batch
    # and, from `BatchWriter`: `_lock()`, `_stage_table(...)`; from `QuarantineWriter`: `_resolve_quarantine(...)`

    def merge(self, entity: str, good: pl.DataFrame, *, prepared: StorableRows | None = None) -> MergeCounts:
        """Merge validated rows by natural key (see the module docstring); set-based. `prepared`:
        `storable(entity, good)`, when the caller has already made it."""
        if good.is_empty():
            return MergeCounts(0, 0)
        spec = schema.entity(entity)
        table = tables.entity_tables[entity]
        self._lock()
        rows = prepared if prepared is not None else storable(entity, good)
        latest = rows.latest
        # lineage (tables.LINEAGE_COLUMNS): the batch and the file by number
        stored = self._cite_files(rows.stored.with_columns(_batch_no=pl.lit(self.batch_no, pl.Int64)))
        if spec.parent is not None:
            self._carry(spec, stored)  # every key carried, changed or not: the set that replaces the stored one
        new, differing = self._against_stored(spec, table, stored)
        loaded = new.height
        if loaded:
            # Keys not stored (this batch's earlier chunks included): nothing to merge with, so they
            # are copied straight into the table (the batch holds its write lock; `written` is only
            # for parents that replaced a stored row).
            _copy(self.connection, table, new.drop(_GIVEN, strict=False))
        # rows whose `updated_at` the source sent are versions; the others are compared by content only
        given = differing[_GIVEN] if _GIVEN in differing.columns else pl.repeat(False, differing.height, dtype=pl.Boolean, eager=True)
        for part, versioned in ((differing.filter(given), True), (differing.filter(~given), False)):
            if part.is_empty():
                continue
            stage = self._stage_table(f"stage_{entity}", table.columns)
            _clear(self.connection, stage)
            _copy(self.connection, stage, part.drop(_GIVEN, strict=False))
            loaded += self._upsert(spec, table, stage, versioned=versioned)
            self._refresh_hashes(spec, table, stage, versioned=versioned)
        self._resolve_quarantine(spec, latest)
        return MergeCounts(loaded=loaded, unchanged=good.height - loaded)

    def _cite_files(self, stored: pl.DataFrame) -> pl.DataFrame:
        """`stored` with each row's file (`_file`, its name) as the number this batch gives that name
        (`_file_no`, a `lineage_file` row written the first time the batch meets the name)."""
        names = stored.get_column("_file")
        distinct = names.unique().drop_nulls().to_list()  # one per file (an API page each: hundreds)
        new = [name for name in distinct if name not in self._file_numbers]
        if new:
            first = len(self._file_numbers) + 1
            rows = [{"batch_no": self.batch_no, "file_no": first + i, "file": name} for i, name in enumerate(new)]
            self.connection.execute(tables.lineage_file.insert(), rows)
            self._file_numbers.update((row["file"], row["file_no"]) for row in rows)
        if len(distinct) == 1 and not names.has_nulls():  # a file's chunk: one number for all its rows
            number = pl.lit(self._file_numbers[distinct[0]], pl.Int32)
        else:
            number = pl.col("_file").replace_strict(self._file_numbers, default=None, return_dtype=pl.Int32)
        return stored.with_columns(number.alias("_file_no")).drop("_file")

    def _against_stored(
        self, spec: schema.Entity, table: sa.Table, stored: pl.DataFrame
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Rows of `stored` whose key is not stored yet, and rows whose stored content hash differs.

        The rest have a stored row with the same content hash, i.e. the same content and (where the
        source sent it) `updated_at`, which the merge would not write: they are neither copied nor locked.
        A differing row goes through the exact comparison of `_upsert` (a hash that differs for
        equal content, e.g. after a polars upgrade, only costs that comparison).
        """
        keys = list(spec.natural_key)
        if self._all_new(spec, table, stored):
            return stored, stored.clear()
        self._keyless.restore(table.name)  # the lookups and the upsert go through the key
        held = self._stored_hashes(spec, table, stored)
        if held.is_empty():
            return stored, stored.clear()
        incoming = stored.select(pl.col(k).cast(pl.String) for k in keys)
        matched = incoming.join(held, on=keys, how="left", maintain_order="left")
        is_held = matched["__held"].fill_null(False)
        differs = is_held & matched["__hash"].ne_missing(stored["_row_hash"])
        return stored.filter(~is_held), stored.filter(differs)

    def _all_new(self, spec: schema.Entity, table: sa.Table, stored: pl.DataFrame) -> bool:
        """True when no row of `stored` can have a stored row: the core table held none when this
        batch first merged into it (under the batch's lock, so no other writer adds any) and no key
        of the chunk is one this batch merged before. Then the index lookups of `_stored_hashes` are
        skipped: on a first load they were ~7 % of the writer's time. Keys are compared as 64-bit
        hashes; a collision only costs the lookup. Every chunk's keys are remembered (8 bytes a row)."""
        fresh: dict[str, pl.Series | None] = self.__dict__.setdefault("_fresh_keys", {})  # per batch writer
        if spec.name not in fresh:
            locked = spec.name in self._lock_names
            empty = locked and self.connection.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is None
            fresh[spec.name] = pl.Series("h", [], pl.UInt64) if empty else None
            if empty:  # a big first chunk: COPY into the bare table, the key rebuilt once (`first_load`)
                self._keyless.drop_for_first_load(spec.name, table, stored.height)
        merged = fresh[spec.name]
        if merged is None:
            return False
        hashes = stored.select(pl.struct(list(spec.natural_key)).hash(seed=0x6B65)).to_series().rename("h")
        seen = not merged.is_empty() and bool(merged.is_in(hashes.implode()).any())
        merged.append(hashes)
        return not seen

    def _stored_hashes(self, spec: schema.Entity, table: sa.Table, stored: pl.DataFrame) -> pl.DataFrame:
        """Keys (as text) and content hashes of the stored rows the chunk may replace.

        A child's rows are looked up by their parents' keys (a few thousand per chunk, and the key
        index's prefix), anything else by its own key; the comparison itself runs here, in polars.
        """
        keys = list(spec.natural_key)
        lookup = list(spec.parent_key) if spec.parent is not None else keys
        wanted = self._stage_table(f"lookup_{spec.name}", [table.c[k] for k in lookup], indexes=[lookup])
        _clear(self.connection, wanted)
        _copy(self.connection, wanted, stored.select(lookup).unique())
        joined = table.join(wanted, sa.and_(*(table.c[k] == wanted.c[k] for k in lookup)))
        columns = {**{k: (table.c[k], pl.String) for k in keys}, "__hash": (table.c._row_hash, pl.Int64)}
        with _index_lookups(self.connection):
            held = _fetch(self.connection, joined, columns)
        return held.with_columns(__held=pl.lit(True))

    def _refresh_hashes(self, spec: schema.Entity, table: sa.Table, stage: sa.Table, *, versioned: bool) -> None:
        """Stored rows equal in content (and `updated_at`, when `versioned`: the source sent it) to the
        staged ones but with another (or no) hash get the staged hash, so their next load skips them
        (rows stored before the hash existed, or hashed by another polars version or another version
        rule). Only `_row_hash` is written: content and lineage stay."""
        keys = list(spec.natural_key)
        content = [*_content(spec), "updated_at"] if versioned else _content(spec)
        self.connection.execute(
            table.update()
            .where(
                *(table.c[k] == stage.c[k] for k in keys),
                table.c._row_hash.is_distinct_from(stage.c._row_hash),
                *(table.c[c].is_not_distinct_from(stage.c[c]) for c in content),
            )
            .values(_row_hash=stage.c._row_hash)
        )

    def _upsert(self, spec: schema.Entity, table: sa.Table, stage: sa.Table, *, versioned: bool) -> int:
        """The exact comparison of the staged rows; `versioned`: their `updated_at` is the source's own."""
        keys = list(spec.natural_key)
        values = [c.name for c in table.columns if c.name not in keys]
        # `updated_at` versions a row and `submitted_at` records its first filing: neither is content.
        canonical = _content(spec)
        insert = upsert_insert(self.warehouse.dialect)  # the PostgreSQL dialect only on PostgreSQL (start-up)
        stmt = insert(table).from_select([c.name for c in table.columns], sa.select(*stage.columns).where(sa.true()))
        excluded = stmt.excluded
        changed = sa.or_(*(table.c[c].is_distinct_from(excluded[c]) for c in canonical)) if canonical else sa.false()
        if spec.has_updated_at:
            # newer: stored whatever the content (issue 16); equal: only if some content differs
            newer = sa.or_(
                excluded.updated_at > table.c.updated_at,
                sa.and_(table.c.updated_at.is_(None), excluded.updated_at.is_not(None)),
            )
            same_or_newer = sa.or_(excluded.updated_at >= table.c.updated_at, table.c.updated_at.is_(None))
            changed = sa.and_(same_or_newer, changed)
            if versioned:  # a receipt-time default is no version: it never outdates the stored row alone
                changed = sa.or_(newer, changed)
        set_ = {c: excluded[c] for c in values}
        if "submitted_at" in set_:
            earlier = sa.or_(table.c.submitted_at.is_(None), excluded.submitted_at < table.c.submitted_at)
            set_["submitted_at"] = sa.case((earlier, excluded.submitted_at), else_=table.c.submitted_at)
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_=set_, where=changed)
        has_children = any(e.parent == spec.name for e in schema.entities().values())
        if not has_children:
            return self.connection.execute(stmt, execution_options=_ROWCOUNT).rowcount
        written = self._stage_table(f"written_{spec.name}", [table.c[k] for k in keys], indexes=[keys])
        self._written.add(spec.name)
        if self.warehouse.dialect == "postgresql":
            # Only the parents that replaced a stored row count as written: a parent new to the
            # warehouse has no stored children to replace (an orphan never loads), and skipping it
            # spares the child-set delete a scan on first loads. `xmax = 0` marks a row ON CONFLICT
            # inserted rather than updated (a common PostgreSQL idiom; tests/warehouse cover both cases).
            replaced = sa.literal_column("NOT (xmax = 0)", sa.Boolean).label("_replaced")
            merged = stmt.returning(*(table.c[k] for k in keys), replaced).cte("merged_rows")
            kept = written.insert().from_select(keys, sa.select(*(merged.c[k] for k in keys)).where(merged.c._replaced))
            count = sa.select(sa.func.count()).select_from(merged).add_cte(kept.cte("written_rows"))
            return self.connection.execute(count).scalar_one()
        rows = self.connection.execute(stmt.returning(*(table.c[k] for k in keys))).all()
        if rows:
            self.connection.execute(written.insert(), [dict(zip(keys, r, strict=True)) for r in rows])
        return len(rows)

    def _carry(self, spec: schema.Entity, stored: pl.DataFrame) -> None:
        """Remember the child keys (storage form) this batch carries: the set that replaces the stored one.

        They wait on local disk: only a batch that replaces a stored parent needs them in the database.
        """
        self._carried.setdefault(spec.name, []).append(self._spool.add(stored.select(spec.natural_key)))

    def _replace_child_sets(self) -> None:
        """Stored children of a parent written in this batch, and not carried by it, are deleted."""
        for child, parts in sorted(self._carried.items()):
            spec = schema.entity(child)
            if spec.parent not in self._written:
                continue
            table = tables.entity_tables[child]
            keys = list(spec.natural_key)
            written = self._temps[f"written_{spec.parent}"]
            carried = self._stage_table(
                f"carried_{child}", [table.c[k] for k in keys], indexes=[keys, list(spec.parent_key)]
            )
            for part in parts:
                _copy(self.connection, carried, pl.read_ipc(part))
            if self.warehouse.dialect == "postgresql":  # temp tables have no statistics until analysed
                for temp in (written, carried):
                    self.connection.exec_driver_sql(f"ANALYZE {self.connection.dialect.identifier_preparer.quote(temp.name)}")
            parent_written = sa.exists().where(*(written.c[k] == table.c[k] for k in spec.parent_key))
            parent_carried = sa.exists().where(*(carried.c[k] == table.c[k] for k in spec.parent_key))
            row_carried = sa.exists().where(*(carried.c[k] == table.c[k] for k in spec.natural_key))
            deleted = self.connection.execute(
                table.delete().where(parent_written, parent_carried, ~row_carried), execution_options=_ROWCOUNT
            ).rowcount
            self._deleted[child] = self._deleted.get(child, 0) + deleted


# ---------------------------------------------------------------------- column-wise preparation


def _content_hash(spec: schema.Entity, stored: pl.DataFrame) -> pl.Expr:
    """One 64-bit hash of a row's content columns and, where the source sent it (`_GIVEN`), its
    `updated_at` (storage form): a receipt-time default hashes as no version at all."""
    content: list[pl.Expr] = [pl.col(c) for c in _content(spec)]
    if spec.has_updated_at:
        content.append(pl.when(pl.col(_GIVEN)).then(pl.col("updated_at")).alias("updated_at"))
    if not content:
        return pl.lit(0, pl.Int64)
    return pl.struct(*content).hash(seed=0x746C).reinterpret(signed=True)


def _latest_per_key(spec: schema.Entity, frame: pl.DataFrame) -> pl.DataFrame:
    """One row per natural key: the newest `updated_at`, then the last one given."""
    keys = list(spec.natural_key)
    if frame.select(pl.struct(keys).is_duplicated().any()).item() is False:
        return frame
    order = ["updated_at", "__order"] if spec.has_updated_at else ["__order"]
    return (
        frame.with_row_index("__order")
        .sort(order, nulls_last=False)
        .unique(subset=keys, keep="last", maintain_order=True)
        .sort("__order")
        .drop("__order")
    )
