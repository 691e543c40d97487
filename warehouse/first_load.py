"""A batch's first big load into an empty core table, without its primary key (PostgreSQL, issue 19).

COPY into a keyed table inserts every row into the key's B-tree one by one: at 1,000,000 roster rows
~8.2 s against ~4.6 s into the same table without a key, and one sorted build of the key afterwards
(`ALTER TABLE … ADD CONSTRAINT … PRIMARY KEY`) costs less than the difference. So when a batch's first
chunk to a core table holds at least `FIRST_LOAD_ROWS` rows and the table is empty, the batch drops
the table's primary key in its own transaction, COPYs its chunks into the bare table, and rebuilds the
key (`KeylessTables.restore`) before anything that needs it: a lookup of stored rows (a key the batch
sent twice, `merge._against_stored`), an upsert, `existing_keys`, the child-set replacement, commit.

Why it stays safe:
- The DROP is transactional: a rollback, a raised exception or a killed process restores the key
  (and the table holds none of the batch's rows).
- No key reaches the bare table twice: a chunk is one row per key (`merge._latest_per_key`), and a
  chunk with a key an earlier chunk had takes the keyed path (`merge._all_new`), which rebuilds the
  key first. Should the rebuild still find a key twice, it fails as PostgreSQL's own unique
  violation with a note naming the table, and the batch rolls back.
- `ALTER TABLE` holds an ACCESS EXCLUSIVE lock until the batch ends: readers of that table wait for
  the batch. It is asked for with `lock_timeout = LOCK_TIMEOUT` under a savepoint: a reader holding
  the table (an open transaction) makes the batch roll back to the savepoint and load through the key
  as before, instead of waiting or making every later reader queue behind it.
- Tables other connections read while a batch is open keep their key, or the batch would wait on its
  own process: the parents (the ORPHAN rule reads their keys, `Warehouse.existing_keys_readonly`) and
  `travel_agency` (an agency folder's branches, `flow.staging._branches_of`; quarantine's region joins).

SQLite loads as before: it has no such lock to take, and its key is the table itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa

from tourlink import schema

FIRST_LOAD_ROWS = 20_000  # below this a first chunk loads through the key: the rebuild would cost more
LOCK_TIMEOUT = "200ms"  # how long the batch waits for a reader of the table before loading keyed
_READ_BESIDE_A_BATCH = frozenset({"travel_agency"})  # read on another connection while a batch is open
_LOCK_NOT_AVAILABLE = "55P03"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DroppedKey:
    """A primary key dropped in this batch's transaction, as `pg_get_constraintdef` gave it."""

    table: str
    name: str
    definition: str  # e.g. PRIMARY KEY (organizer_uscc, group_code, seq_no)


def keeps_key(entity: str) -> bool:
    """Whether `entity`'s table always loads through its key (see the module docstring)."""
    return entity in _READ_BESIDE_A_BATCH or any(e.parent == entity for e in schema.entities().values())


class KeylessTables:
    """The core tables whose key one batch dropped, until it rebuilds them (one per `BatchWriter`)."""

    def __init__(self, connection: sa.Connection):
        self.connection = connection
        self.dropped: dict[str, DroppedKey] = {}

    def drop_for_first_load(self, entity: str, table: sa.Table, rows: int) -> bool:
        """Drop `table`'s primary key for a first chunk of `rows` rows into it (the caller found it
        empty, under the batch's write lock); False, and nothing changed, when it loads keyed."""
        conn = self.connection
        if conn.dialect.name != "postgresql" or rows < FIRST_LOAD_ROWS or keeps_key(entity) or table.name in self.dropped:
            return False
        quote = conn.dialect.identifier_preparer.quote
        found = conn.execute(
            sa.text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = to_regclass(:table) AND contype = 'p'"
            ),
            {"table": quote(table.name)},
        ).first()
        if found is None:
            return False
        key = DroppedKey(table.name, found[0], found[1])
        previous = conn.execute(sa.text("SELECT current_setting('lock_timeout')")).scalar_one()
        savepoint = conn.begin_nested()
        try:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            conn.exec_driver_sql(f"ALTER TABLE {quote(key.table)} DROP CONSTRAINT {quote(key.name)}")
        except sa.exc.DBAPIError as exc:  # an optimisation only: anything refused loads keyed
            savepoint.rollback()  # the lock_timeout goes with it (a lost connection raises here)
            if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
                log.info("%s: a reader holds the table; its first load keeps the primary key", key.table)
            else:
                log.warning("%s: its primary key could not be dropped for the first load: %s", key.table, exc.orig)
            return False
        # Empty when looked at, and no writer since (the batch's lock): checked again under ACCESS
        # EXCLUSIVE all the same, since a rebuild failing at commit would lose the whole batch.
        if conn.execute(sa.text(f"SELECT 1 FROM {quote(key.table)} LIMIT 1")).first() is not None:
            savepoint.rollback()
            return False
        savepoint.commit()
        conn.execute(sa.text("SELECT set_config('lock_timeout', :v, true)"), {"v": previous})
        self.dropped[key.table] = key
        return True

    def restore(self, table: str | None = None) -> None:
        """Rebuild the dropped key of `table` (default: every one), each with one sort."""
        names = [table] if table is not None else sorted(self.dropped)
        for name in names:
            key = self.dropped.pop(name, None)
            if key is not None:
                self._rebuild(key)

    def _rebuild(self, key: DroppedKey) -> None:
        conn = self.connection
        quote = conn.dialect.identifier_preparer.quote
        try:  # one sort (maintenance_work_mem 64 MB or 1 GB: the same 0.5 s at 1 M rows)
            conn.exec_driver_sql(f"ALTER TABLE {quote(key.table)} ADD CONSTRAINT {quote(key.name)} {key.definition}")
        except sa.exc.IntegrityError as exc:
            exc.add_note(
                f"{key.table}: its primary key, dropped for this batch's first load into the empty table,"
                " could not be rebuilt (a key came twice); the batch rolls back and the table keeps its key"
            )
            raise
