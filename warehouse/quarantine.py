"""Quarantine and findings: the rows a batch rejects, and the warnings of the rows it loads.

Bad rows go to `quarantine` in bulk (a row already open there is not added twice), and keep one open
entry per (entity, natural key, rule): a row read again in a later batch with another raw row or other
rules (e.g. after its parent changed) closes the older open entries sharing a rule with it as
`superseded`, its history naming the entry that took over (issue 16). WARN issues of good
rows to `finding`; both name the row by its natural key and carry the agency whose data it is (the
entity's `owner` in its schema YAML, or its parent's) and that agency's division, by which stewards'
queues are grouped and region-scoped. A key that loads later resolves its open quarantine entries.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import polars as pl
import sqlalchemy as sa

from tourlink import schema
from tourlink.frames import raw_json
from warehouse import tables
from warehouse.bulk import _ROWCOUNT, _clear, _column_or_null, _copy, _fetch, _storage_expr, _utcnow

if TYPE_CHECKING:
    from warehouse.batch import Warehouse


class QuarantineWriter:
    """`BatchWriter`'s quarantine and findings writes, in the batch's transaction."""

    warehouse: Warehouse
    connection: sa.Connection
    batch_id: str
    source: str
    # and, from `BatchWriter`: `_lock()`, `_stage_table(...)`; from `MergeWriter`: `_carry(...)`

    def quarantine(self, entity: str, bad: pl.DataFrame, *, source: str | None = None) -> int:
        """Bulk-insert rejected rows; a row already open in quarantine (same key, raw row and rules) is
        not added twice, a re-read one supersedes the older open entries of its key sharing a rule
        (`_supersede`). Returns how many rows of this batch are in quarantine."""
        if bad.is_empty():
            return 0
        spec = schema.entity(entity)
        self._lock()
        frame = bad.select(
            file=_column_or_null(bad, "_file", pl.String),
            row=_column_or_null(bad, "_row", pl.Int64),
            natural_key=_key_json(spec, bad),
            **self._owned(spec, bad),
            raw=raw_json(bad),
            rules=_issues_json(bad),
        )
        complete = pl.all_horizontal(pl.col(k).is_not_null() if k in bad.columns else pl.lit(False) for k in spec.natural_key)
        complete_keys = frame.filter(bad.select(complete).to_series())["natural_key"]
        frame = frame.unique(subset=["natural_key", "raw"], keep="first", maintain_order=True)
        stage = self._stage_table(
            "stage_quarantine",
            [
                sa.Column("file", sa.Text),
                sa.Column("row", sa.BigInteger),
                sa.Column("natural_key", sa.Text),
                sa.Column("agency_uscc", sa.Text),
                sa.Column("parent_ref", sa.Text),
                sa.Column("raw", sa.Text),
                sa.Column("rules", sa.Text),
            ],
        )
        _clear(self.connection, stage)
        _copy(self.connection, stage, frame)
        q = tables.quarantine
        now = _utcnow()
        agency, division, joined = self._agency_join(spec, stage)
        same = _same_open_entry(entity, stage)
        already = sa.exists().where(same)
        select = sa.select(
            sa.literal(self.batch_id),
            sa.literal(source or self.source),
            stage.c.file,
            stage.c.row,
            sa.literal(entity),
            stage.c.natural_key,
            agency,
            division,
            stage.c.raw,
            self._json(stage.c.rules),
            sa.literal("open"),
            sa.literal(now, sa.DateTime),
            sa.literal(now, sa.DateTime),
        ).select_from(joined).where(~already)
        cols = ["batch_id", "source", "file", "row", "entity", "natural_key", "agency_uscc", "division_code", "raw",
                "rules", "status", "created_at", "updated_at"]  # fmt: skip
        self._count_entries_held_elsewhere(stage, same)
        self._entries_opened += self.connection.execute(q.insert().from_select(cols, select), execution_options=_ROWCOUNT).rowcount
        self._supersede(spec, stage, complete_keys, now)
        if spec.parent is not None:
            complete = bad.filter(pl.all_horizontal(pl.col(k).is_not_null() for k in spec.natural_key))
            if not complete.is_empty():
                # A rejected child still belongs to the roster: its stored version is kept.
                self._carry(spec, complete.select(_storage_expr(spec.field(k), complete) for k in spec.natural_key))
        return bad.height

    def findings(self, entity: str, good: pl.DataFrame) -> int:
        """WARN issues of loaded rows into `finding` (a finding already recorded is not repeated)."""
        if good.is_empty() or "_issues" not in good.columns:
            return 0
        spec = schema.entity(entity)
        flagged = good.filter(pl.col("_issues").list.len() > 0)  # usually few: name only those rows
        frame = flagged.select(
            natural_key=_key_json(spec, flagged),
            **self._owned(spec, flagged),
            file=_column_or_null(flagged, "_file", pl.String),
            row=_column_or_null(flagged, "_row", pl.Int64),
            _issues=pl.col("_issues"),
        )
        frame = frame.explode("_issues").unnest("_issues")
        frame = frame.filter(pl.col("severity") == "WARN")
        if frame.is_empty():
            return 0
        self._lock()
        frame = frame.with_columns(
            detail=pl.struct(pl.col("value"), pl.col("file"), pl.col("row")).struct.json_encode()
        ).select("natural_key", "agency_uscc", "parent_ref", "rule", "severity", "field", "message", "detail")
        frame = frame.unique(subset=["natural_key", "rule", "field", "message"], keep="first", maintain_order=True)
        stage = self._stage_table(
            "stage_finding", [sa.Column(c, sa.Text) for c in frame.columns]
        )
        _clear(self.connection, stage)
        _copy(self.connection, stage, frame)
        f = tables.finding
        agency, _, joined = self._agency_join(spec, stage)
        already = sa.exists().where(
            f.c.entity == entity,
            f.c.batch_id.is_not(None),
            f.c.natural_key == stage.c.natural_key,
            f.c.rule == stage.c.rule,
            f.c.field.is_not_distinct_from(stage.c.field),
            f.c.message.is_not_distinct_from(stage.c.message),
        )
        select = sa.select(
            sa.literal(self.batch_id),
            sa.literal(entity),
            stage.c.natural_key,
            agency,
            stage.c.rule,
            stage.c.severity,
            stage.c.field,
            stage.c.message,
            self._json(stage.c.detail),
            sa.literal(_utcnow(), sa.DateTime),
        ).select_from(joined).where(~already)
        cols = ["batch_id", "entity", "natural_key", "agency_uscc", "rule", "severity", "field", "message", "detail",
                "created_at"]  # fmt: skip
        return self.connection.execute(f.insert().from_select(cols, select), execution_options=_ROWCOUNT).rowcount

    @property
    def quarantine_entries(self) -> dict[str, int]:
        """Batch id -> the open entries holding this batch's rejected rows: those it opened, and an
        earlier batch's that already held the same row with the same rules (a file imported again)."""
        held = Counter(self._entries_elsewhere.values())
        return {**({self.batch_id: self._entries_opened} if self._entries_opened else {}), **held}

    def _count_entries_held_elsewhere(self, stage: sa.Table, same: sa.ColumnElement[bool]) -> None:
        """Rows rejected again exactly as an open entry of an earlier batch holds them stay in that
        entry (`quarantine_entries`); each entry counted once, however many chunks meet it again."""
        q = tables.quarantine
        held = sa.select(q.c.id, q.c.batch_id).select_from(stage.join(q, same)).where(q.c.batch_id != self.batch_id)
        self._entries_elsewhere.update((entry, batch) for entry, batch in self.connection.execute(held))

    def _supersede(self, spec: schema.Entity, stage: sa.Table, complete_keys: pl.Series, now: Any) -> None:
        """Open entries of earlier batches that share a complete key and a rule with an entry this
        batch opened become `superseded` (closed, with history), so each (entity, key, rule) has one
        open entry. Rows with an incomplete key are never merged this way: two of them may be
        different rows. Candidates are found by the key index, rule sets compared in polars."""
        if complete_keys.is_empty():
            return
        q = tables.quarantine
        new = q.alias("newer")
        pairs = (
            q.join(new, sa.and_(new.c.entity == q.c.entity, new.c.natural_key == q.c.natural_key, new.c.id > q.c.id))
            .join(stage, stage.c.natural_key == q.c.natural_key)
        )
        candidates = (
            sa.select(q.c.id, new.c.id.label("by"), q.c.natural_key, q.c.rules, new.c.rules.label("new_rules"))
            .select_from(pairs)
            .where(
                q.c.entity == spec.name, q.c.status == "open", q.c.batch_id != self.batch_id,
                new.c.status == "open", new.c.batch_id == self.batch_id,
            )
            .subquery()
        )  # fmt: skip
        types = {"id": pl.Int64, "by": pl.Int64, "natural_key": pl.String, "rules": pl.String, "new_rules": pl.String}
        found = _fetch(self.connection, candidates, {c: (candidates.c[c], t) for c, t in types.items()})
        ids = pl.List(pl.Struct({"rule": pl.String}))
        rule_ids = [pl.col(c).str.json_decode(ids).list.eval(pl.element().struct.field("rule")) for c in ("rules", "new_rules")]
        superseded = (
            found.filter(pl.col("natural_key").is_in(complete_keys.unique().implode()))
            .filter(rule_ids[0].list.set_intersection(rule_ids[1]).list.len() > 0)
            .group_by("id")
            .agg(pl.col("by").max())
        )
        if superseded.is_empty():
            return
        gone = self._stage_table("stage_superseded", [sa.Column("id", sa.BigInteger), sa.Column("by", sa.BigInteger)])
        _clear(self.connection, gone)
        _copy(self.connection, gone, superseded.select("id", "by"))
        self.connection.execute(
            q.update()
            .where(q.c.id.in_(sa.select(gone.c.id)))
            .values(status="superseded", status_reason="已被后续批次中同一行的新记录取代", updated_at=now)
        )
        reason = sa.literal("superseded by entry ") + sa.cast(gone.c.by, sa.Text) + sa.literal(f" of batch {self.batch_id}")
        h = tables.quarantine_history
        self.connection.execute(
            h.insert().from_select(
                ["quarantine_id", "at", "status", "actor", "batch_id", "reason"],
                sa.select(gone.c.id, sa.literal(now, sa.DateTime), sa.literal("superseded"), sa.literal("tourlink"),
                          sa.literal(self.batch_id), reason),
            )
        )  # fmt: skip

    def _resolve_quarantine(self, spec: schema.Entity, loaded: pl.DataFrame) -> None:
        """Open quarantine entries whose key has now loaded become `resolved` (fix-and-replay)."""
        q = tables.quarantine
        pending = sa.select(sa.literal(1)).where(q.c.entity == spec.name, q.c.status == "open").limit(1)
        if self.connection.execute(pending).first() is None:
            return
        stage = self._stage_table("stage_resolved", [sa.Column("natural_key", sa.Text)])
        _clear(self.connection, stage)
        _copy(self.connection, stage, pl.DataFrame({"natural_key": _key_json(spec, loaded)}))
        now = _utcnow()
        ids = self.connection.execute(
            q.update()
            .where(q.c.entity == spec.name, q.c.status == "open", q.c.natural_key.in_(sa.select(stage.c.natural_key)))
            .values(status="resolved", resolved_by_batch=self.batch_id, status_reason="已由后续批次成功导入", updated_at=now)
            .returning(q.c.id)
        ).scalars().all()
        if ids:
            self.connection.execute(
                tables.quarantine_history.insert(),
                [
                    {"quarantine_id": i, "at": now, "status": "resolved", "actor": "tourlink", "batch_id": self.batch_id,
                     "reason": f"loaded by batch {self.batch_id}"}  # fmt: skip
                    for i in ids
                ],
            )

    def _owned(self, spec: schema.Entity, frame: pl.DataFrame) -> dict[str, pl.Expr]:
        """`agency_uscc` (the row's own agency field) and `parent_ref` (key into the parent, if any)."""
        field = spec.owner
        agency = pl.col(field).cast(pl.String) if field and field in frame.columns else pl.lit(None, pl.String)
        agency = pl.when(agency.str.len_chars() <= 18).then(agency)  # a malformed code is no agency
        via = _owner_via_parent(spec)
        parent_ref = pl.col(via[1]).cast(pl.String) if via and via[1] in frame.columns else pl.lit(None, pl.String)
        return {"agency_uscc": agency, "parent_ref": parent_ref}

    def _agency_join(self, spec: schema.Entity, stage: sa.Table) -> tuple[Any, Any, Any]:
        agency: Any = stage.c.agency_uscc
        joined: Any = stage
        via = _owner_via_parent(spec)
        if via:
            parent = tables.entity_tables[via[0]].alias("parent")
            joined = joined.outerjoin(parent, parent.c[via[1]] == stage.c.parent_ref)
            agency = sa.func.coalesce(stage.c.agency_uscc, parent.c[via[2]])
        ta = tables.entity_tables["travel_agency"].alias("ta")
        joined = joined.outerjoin(ta, ta.c.uscc == agency)
        return agency, ta.c.division_code, joined

    def _json(self, column: Any) -> Any:
        if self.warehouse.dialect == "postgresql":
            from sqlalchemy.dialects import postgresql  # only PostgreSQL's processes pay for it (engine.upsert_insert)

            return sa.cast(column, postgresql.JSON)
        return sa.type_coerce(column, sa.Text)


def _owner_via_parent(spec: schema.Entity) -> tuple[str, str, str] | None:
    """(parent entity, the key column into it, the parent's owner field) for an entity whose agency
    is its parent's (looked up in the warehouse, in this transaction); None otherwise."""
    if spec.owner_of_parent is None or spec.parent is None:
        return None
    return spec.parent, spec.parent_key[0], spec.owner_of_parent


def _key_json(spec: schema.Entity, frame: pl.DataFrame) -> pl.Series:
    """The natural key as a JSON object (quarantine and findings name rows by it)."""
    fields = []
    for k in spec.natural_key:
        if k not in frame.columns:
            fields.append(pl.lit(None, pl.String).alias(k))
        elif isinstance(frame.schema[k], pl.Date | pl.Datetime):
            fields.append(pl.col(k).cast(pl.String))
        else:
            fields.append(pl.col(k))
    return frame.select(pl.struct(fields).struct.json_encode().alias("natural_key")).to_series()


def _issues_json(frame: pl.DataFrame) -> pl.Expr:
    if "_issues" not in frame.columns:
        return pl.lit("[]")
    encoded = pl.col("_issues").list.eval(pl.element().struct.json_encode()).list.join(",")
    return pl.concat_str(pl.lit("["), encoded.fill_null(""), pl.lit("]"))


def _same_open_entry(entity: str, stage: sa.Table) -> sa.ColumnElement[bool]:
    """An open entry holding a staged row as it is: the same key, raw row and rules (never two)."""
    q = tables.quarantine
    return sa.and_(
        q.c.entity == entity,
        q.c.status == "open",
        q.c.natural_key == stage.c.natural_key,
        q.c.raw == stage.c.raw,
        sa.cast(q.c.rules, sa.Text) == stage.c.rules,
    )
