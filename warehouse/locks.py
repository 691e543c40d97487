"""How concurrent batches exclude each other on PostgreSQL: transaction-scoped advisory locks.

Two syncs writing the same tables must neither deadlock nor lose updates. A batch takes the locks of
every entity table it may write, all at once and always in the same (sorted) order, at its first
write; they are released when its transaction ends, however it ends (commit, rollback, killed
client). A second lock per batch says "this batch is alive": the next batch can tell a batch row
left `running` by a killed process from one still loading. Keys are scoped by the current schema, so
warehouses in different schemas of one database do not wait for each other.

SQLite needs none of this: a batch holds the database write lock from `BEGIN IMMEDIATE` on.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

TABLE_LOCK = 0x746C0001  # class id of "entity table" advisory locks (pg two-int form)
BATCH_LOCK = 0x746C0002  # class id of "batch alive" advisory locks

_LOCK = sa.text("SELECT pg_advisory_xact_lock(:cls, hashtext(current_schema() || '.' || :name))")


def lock_tables(conn: sa.Connection, tables: Iterable[str]) -> None:
    """Wait for, then hold until the transaction ends, the write locks of `tables` (sorted order)."""
    if conn.dialect.name != "postgresql":
        return
    for name in sorted(set(tables)):
        conn.execute(_LOCK, {"cls": TABLE_LOCK, "name": name})


def hold_batch(conn: sa.Connection, batch_id: str) -> None:
    """Mark `batch_id` alive for as long as this transaction lasts."""
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK, {"cls": BATCH_LOCK, "name": batch_id})


def abandoned_batch_clause() -> sa.TextClause:
    """SQL condition, true for a `batch` row whose process no longer holds its alive lock."""
    return sa.text("pg_try_advisory_xact_lock(:cls, hashtext(current_schema() || '.' || batch.batch_id))").bindparams(
        cls=BATCH_LOCK
    )
