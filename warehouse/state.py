"""Source state: the watermarks a source's syncs resume from, committed with the rows they cover."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from warehouse import tables
from warehouse.bulk import _utcnow
from warehouse.engine import upsert_insert

if TYPE_CHECKING:
    from warehouse.batch import Warehouse


def watermark(engine: sa.Engine, source: str, stream: str) -> str | None:
    """The committed watermark of a source's stream, or None (`Warehouse.watermark`)."""
    t = tables.watermark
    with engine.connect() as conn:
        return conn.execute(sa.select(t.c.value).where(t.c.source == source, t.c.stream == stream)).scalar()


def source_state(engine: sa.Engine, source: str) -> dict[str, str]:
    """Every committed state row of a source, {stream: value}: the streams' watermarks and the
    connectors' own rows (`stream#…`). The one way a source's state is read (`tourlink.flow.state`)."""
    t = tables.watermark
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.stream, t.c.value).where(t.c.source == source)).all()
    return {stream: value for stream, value in rows}


class StateWriter:
    """`BatchWriter`'s state writes, in the batch's transaction."""

    connection: sa.Connection
    batch_id: str
    source: str
    warehouse: Warehouse

    def set_watermark(self, stream: str, value: str) -> None:
        """Advance a source's watermark in this batch's transaction: it moves only if the rows do."""
        write_state(self.connection, self.source, stream, value, self.batch_id)


def write_state(conn: sa.Connection, source: str, stream: str, value: str, batch_id: str) -> None:
    """Set one state row of `source` (insert or replace), in the caller's transaction."""
    t = tables.watermark
    insert = upsert_insert(conn.dialect.name)
    row = {"source": source, "stream": stream, "value": value, "batch_id": batch_id, "updated_at": _utcnow()}
    stmt = insert(t).values(**row)
    stmt = stmt.on_conflict_do_update(
        index_elements=["source", "stream"],
        set_={"value": stmt.excluded.value, "batch_id": stmt.excluded.batch_id, "updated_at": stmt.excluded.updated_at},
    )
    conn.execute(stmt)
