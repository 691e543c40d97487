"""Stage a batch: map and validate every input, chunk by chunk, parents before children.

`stage` is the first half of a batch: each chunk of each input is mapped to canonical entities and
validated, and its good and bad rows become parts — written to a hand-over (Airflow's validate step,
`tourlink validate`) or handed to a sink (`tourlink.flow.merge.StreamedBatch`: the batch's open
transaction merges each part while the next chunk is read). Nothing is written to the warehouse here.

Order: inputs are staged parents first (`inputs.parents_first`), and a child an ORPHAN rule found no
parent for waits for the batch's end when its parent may still come later in the batch (the streams
of one API sync): a child whose parent is a good row of the same batch is never ORPHAN.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from tourlink import schema
from tourlink.flow.handover import Handover, StagedBatch, scratch_handover
from tourlink.flow.inputs import Input, parents_first, progress
from tourlink.frames import ISSUES, RAW
from tourlink.memory import release


class ForeignAgencyRows(Exception):
    """A file in one agency's folder carries another agency's filings: an agency cannot file for another."""

    def __init__(self, file: str, owner: str, rows: list[tuple[int, str]]):
        shown = "、".join(f"第{row}行（{uscc}）" for row, uscc in rows[:10])
        super().__init__(f"{file}: {len(rows)} rows belong to another agency than {owner}: {rows[:10]}")
        self.file = file
        self.owner = owner
        self.rows = rows
        self.reason_zh = f"文件中有其他旅行社的团队或合同，不能代其他旅行社报送：{shown}。请只上传本社（{owner}）的数据。"



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
        """Of `keys`, those of a parent staged in this batch or stored. The batch's own parents answer
        first: the warehouse is asked (a connection, a temporary table, a join) only for the rest,
        and not at all when the batch staged them all (a roster after its groups, a sync's
        contracts after its teams)."""
        columns = keys.columns
        staged = self._staged.get(parent)
        found = keys.join(pl.concat(staged, how="vertical_relaxed"), on=columns, how="semi") if staged else keys.clear()
        rest = keys.join(found, on=columns, how="anti")
        if not rest.is_empty():
            stored = self._warehouse.existing_keys_readonly(parent, rest).select(columns)
            found = pl.concat([found, stored], how="vertical_relaxed")
        return found.unique()


def _ordered(frames: dict[str, pl.DataFrame]) -> list[tuple[str, pl.DataFrame]]:
    order = list(schema.entities())
    return sorted(frames.items(), key=lambda item: order.index(item[0]))


def _orphan_flag() -> pl.Expr:
    return pl.col(ISSUES).list.eval(pl.element().struct.field("rule") == "ORPHAN").list.any()


def _parent_key_names(entity: str) -> dict[str, str]:
    """The child's parent-key columns -> the parent's natural-key names."""
    ent = schema.entity(entity)
    assert ent.parent is not None
    return dict(zip(ent.parent_key, schema.entity(ent.parent).natural_key, strict=True))


def _held_back(entity: str, df: pl.DataFrame, chunk: dict[str, pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Split off the children an ORPHAN rule found no parent for, and whose parent is not a rejected
    row of the same chunk: their parent may still arrive later in this batch (an input that could
    not be ordered before them: the streams of one API sync, a file carrying parents of one kind and
    children of another). They wait for the end of the batch (`_recheck_held`)."""
    ent = schema.entity(entity)
    if ent.parent is None or "ORPHAN" not in ent.batch_rules or df.is_empty():
        return df, None
    flagged = df.select(_orphan_flag()).to_series()
    if not flagged.any():
        return df, None
    waiting = flagged
    parents = chunk.get(ent.parent)
    if parents is not None and not parents.is_empty():
        from validators.rules import has_error

        names = _parent_key_names(entity)
        nk = list(names.values())
        good = parents.filter(~has_error()).select(nk).unique()
        rejected = parents.filter(has_error()).select(nk).unique().join(good, on=nk, how="anti", nulls_equal=False)
        if not rejected.is_empty():
            marked = df.select(list(names)).rename(names).join(
                rejected.with_columns(pl.lit(True).alias("__rejected")), on=nk, how="left", maintain_order="left"
            )
            waiting = flagged & ~marked["__rejected"].fill_null(False)
    if not waiting.any():
        return df, None
    return df.filter(~waiting), df.filter(waiting)


def _recheck_held(entity: str, df: pl.DataFrame, parents: _ParentKeys) -> pl.DataFrame:
    """The held-back children once every input of the batch is staged: an ORPHAN issue is dropped
    from each row whose parent the batch (or the warehouse) now holds as a good row."""
    ent = schema.entity(entity)
    names = _parent_key_names(entity)
    link = list(names)
    keys = df.select(link).unique().rename(names)
    found = parents.existing(ent.parent, keys).rename({v: k for k, v in names.items()})
    if found.is_empty():
        return df
    found = found.with_columns(pl.lit(True).alias("__found"))
    kept = pl.col(ISSUES).list.eval(pl.element().filter(pl.element().struct.field("rule") != "ORPHAN"))
    return (
        df.join(found, on=link, how="left", maintain_order="left", nulls_equal=False)
        .with_columns(pl.when(pl.col("__found").fill_null(False)).then(kept).otherwise(pl.col(ISSUES)).alias(ISSUES))
        .drop("__found")
    )


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
    handover: Handover | None = None,
    batch_id: str | None = None,
    show_progress: bool = False,
    keep_failures: bool = False,
    sink: Callable[[str, str, pl.DataFrame], None] | None = None,
) -> tuple[StagedBatch, list[dict[str, Any]]]:
    """Map and validate every input, chunk by chunk, into Parquet parts. Writes nothing to the warehouse.

    Without a `sink`, the parts go to `handover` (default: a scratch one) and `staged.json` names them;
    with a `sink`, each part (entity, "good" | "bad", rows) is handed to it instead (`StreamedBatch`:
    the batch's transaction merges it while the next chunk is read)."""
    from validators import split, validate_batch

    wh = warehouse_of(warehouse)
    batch_id = batch_id or str(uuid.uuid4())
    if sink is None:  # a streamed batch writes no parts and no manifest
        handover = handover or scratch_handover(batch_id)
    staged = StagedBatch(handover=handover, batch_id=batch_id, source=source, received_at=datetime.now(UTC))
    parents = _ParentKeys(wh)
    heads = _branches_of(wh, owner_uscc) if owner_uscc else {}
    failures: list[dict[str, Any]] = []
    timings: dict[str, float] = {}
    today = date.today()

    def clock(stage_name: str, started: float) -> None:
        timings[stage_name] = timings.get(stage_name, 0.0) + time.perf_counter() - started

    def emit(entity: str, df: pl.DataFrame) -> None:
        nonlocal failures
        if keep_failures:
            failures += _failures(entity, df.filter(pl.col(ISSUES).list.len() > 0))
        good, bad = split(df)
        del df  # the parts only: the source rows (`RAW`) of good ones are not kept waiting for the writer
        good = good.drop(RAW, strict=False)  # the source row is kept for quarantine only
        parents.add(entity, good)
        for kind, part in (("good", good), ("bad", bad)):
            if part.is_empty():
                continue
            if sink is not None:
                sink(entity, kind, part)
                continue
            assert handover is not None
            name = handover.write_frame(f"parts/{len(staged.parts):05d}-{entity}-{kind}.parquet", part)
            staged.parts.append((entity, kind, name))

    inputs = list(inputs)
    staged.files = [(str(i.path), i.name or i.path.name) for i in inputs if i.path is not None]  # as given
    staged.entities = list(dict.fromkeys(e for i in inputs for e in i.mapping.entities))
    held: list[tuple[str, pl.DataFrame]] = []  # children whose parent may come later in the batch

    def chunk(item: Input, handed: list[Any]) -> None:
        """Map, validate and emit one chunk (`handed`: a list holding it). Each frame of it is dropped
        once the next step has what it needs, so a part waiting for the writer holds only itself
        (peak memory), and nothing of the chunk is left when the next one is read."""
        started = time.perf_counter()
        frame = handed.pop()
        mapped = item.mapping.apply(frame, received_at=staged.received_at, source=source)
        clock("map", started)
        if owner_uscc:
            _check_owner(mapped, owner_uscc, frame.file, heads)
        del frame
        started = time.perf_counter()
        checked = validate_batch(mapped, existing_keys=parents.existing, today=today)
        del mapped
        clock("validate", started)
        started = time.perf_counter()
        parts = []
        for entity, df in _ordered(checked):
            staged.read[entity] = staged.read.get(entity, 0) + df.height
            df, waiting = _held_back(entity, df, checked)  # a child's parents: the same chunk's
            if waiting is not None:
                held.append((entity, waiting))
            parts.append((entity, df))
            del df
        del checked
        while parts:
            emit(*parts.pop(0))
        clock("stage", started)

    for item in parents_first(inputs):
        started = time.perf_counter()
        for frame in progress(item.frames, item.name or source, show_progress):
            clock("read", started)
            handed = [frame]
            del frame
            chunk(item, handed)
            release()  # the pages the chunk freed go back before the next one is read (`tourlink.memory`)
            started = time.perf_counter()
    started = time.perf_counter()
    for entity, df in held:
        emit(entity, _recheck_held(entity, df, parents))
    if held:
        clock("stage", started)
    staged.timings = timings
    if sink is None:
        staged.save()
    return staged, failures


def _failures(entity: str, rows: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {"file": file, "row": row, "entity": entity, "rules": issues}
        for file, row, issues in rows.select("_file", "_row", ISSUES).iter_rows()
    ]


def _branches_of(wh: Any, owner: str) -> dict[str, str]:
    """Branches and outlets may file in their head's folder: their uscc -> the head's uscc."""
    import sqlalchemy as sa

    from warehouse.tables import entity_tables

    agency = entity_tables["travel_agency"]
    with wh.engine.connect() as conn:
        rows = conn.execute(sa.select(agency.c.uscc, agency.c.parent_uscc).where(agency.c.parent_uscc == owner))
        return dict(rows.all())


def warehouse_of(warehouse: Any) -> Any:
    """The warehouse given, or the one the settings name."""
    if warehouse is not None:
        return warehouse
    from warehouse.load import Warehouse

    return Warehouse()
