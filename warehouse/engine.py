"""The warehouse connection: one SQLAlchemy engine per URL, tuned for the load path.

SQLite and PostgreSQL both serve as the warehouse. What differs is how writers exclude each other:
PostgreSQL takes transaction-scoped advisory locks (`warehouse/locks.py`); SQLite has one writer at a
time, so a batch opens its transaction with `BEGIN IMMEDIATE` (it takes the write lock up front
instead of failing half-way on upgrade from a read lock) and waits on a busy timeout.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tourlink import settings

# How long a SQLite writer waits for another writer's batch to commit (seconds).
SQLITE_BUSY_TIMEOUT = 600

# Execution option: how a SQLite transaction begins ("IMMEDIATE" for writers; default DEFERRED).
SQLITE_BEGIN = "tourlink_sqlite_begin"


def default_url() -> str:
    return settings.warehouse_url()


def make_engine(url: str | sa.URL | None = None) -> sa.Engine:
    """An engine for the warehouse at `url` (default: `TOURLINK_WAREHOUSE_URL` or embedded SQLite)."""
    url = sa.make_url(url or default_url())
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")  # psycopg 3 (binary): COPY is the fast path
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT})
        _sqlite_transactions(engine, in_memory=url.database in (None, "", ":memory:"))
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _sqlite_transactions(engine: sa.Engine, *, in_memory: bool) -> None:
    """Let SQLAlchemy, not pysqlite, emit BEGIN, so a writer can ask for `BEGIN IMMEDIATE`."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for a loading batch
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class open_connection:
    """Accept an Engine or a Connection: open (and close) a connection only when given an Engine."""

    def __init__(self, bind):
        self.bind = bind
        self.own = isinstance(bind, sa.Engine)

    def __enter__(self) -> sa.Connection:
        self.conn = self.bind.connect() if self.own else self.bind
        return self.conn

    def __exit__(self, *exc) -> None:
        if self.own:
            self.conn.close()


def upsert_insert(dialect: str) -> Any:
    """The `insert` construct with `on_conflict_do_update` for `dialect` (postgresql or sqlite).

    Imported here, on first use, because `sqlalchemy.dialects.postgresql` (with its asyncpg, psycopg
    and pg8000 variants) costs ~70 ms of every process's start-up and an embedded SQLite warehouse
    never needs it (bench/startup.py)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert
