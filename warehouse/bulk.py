"""Bulk copy: the text paths rows take into and out of the warehouse, set-based and column-wise.

A frame goes in as CSV text (PostgreSQL `COPY … FROM STDIN`, SQLite `executemany` over the same
storage form) into a batch's temporary tables, and comes back as one CSV text the database writes
(`_fetch`), parsed by polars: no Python object per row. Also the storage form itself (`_storage_expr`:
the text forms both SQLite and COPY accept) and the statement plumbing every writer of a batch shares.
"""

from __future__ import annotations

import io
import queue
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from tourlink import schema

_CHUNK_ROWS = 50_000
# COPY's text is written per slice of this many rows (~3.6 MB of roster CSV): a 50,000-row slice
# (~9 MB) was built while the previous one still waited in the queue below; 20,000 rows write as
# fast (10,000 cost polars ~25 % more per row).
_COPY_SLICE_ROWS = 20_000
# psycopg's queued COPY writer cuts what it is given into pieces of at most 128 KB and queues up to
# 1,024 of them (128 MB); the server parses slower than polars writes CSV, so a whole chunk's CSV
# (~40 MB at 200,000 rows) waited in that queue. 64 pieces (8 MB) still keep the server busy.
_COPY_QUEUE_PIECES = 64
_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S%.6f"  # SQLAlchemy's SQLite storage format, also read by PostgreSQL
_ROWCOUNT = {"preserve_rowcount": True}


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# ---------------------------------------------------------------------- the storage form


def _column_or_null(frame: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    return pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype)


def _storage_expr(f: schema.Field, frame: pl.DataFrame) -> pl.Expr:
    """A canonical column as the warehouse stores it (text forms both SQLite and COPY accept)."""
    if f.name not in frame.columns:
        return pl.lit(None, pl.Int64 if f.type in ("int", "bool") else pl.String).alias(f.name)
    col = pl.col(f.name)
    dtype = frame.schema[f.name]
    if f.type in ("list", "set") and isinstance(dtype, pl.List):
        col = col.list.join(schema.LIST_SEPARATOR)
    elif f.type == "timestamp" and isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        col = col.dt.strftime(_TIMESTAMP_FORMAT)
    elif f.type == "date" and dtype == pl.Date:
        col = col.dt.strftime("%Y-%m-%d")
    elif f.type == "bool":
        col = col.cast(pl.Int64)
    elif f.type == "int":
        col = col.cast(pl.Int64)
    else:
        col = col.cast(pl.String)
    return col.alias(f.name)


# ---------------------------------------------------------------------- staging tables


def _create_temp(
    conn: sa.Connection, name: str, columns: Iterable[sa.Column], indexes: Iterable[Iterable[str]] = ()
) -> sa.Table:
    """A temporary table; `indexes` for the ones joined row by row (SQLite plans nested loops)."""
    temp = sa.Table(name, sa.MetaData(), *(sa.Column(c.name, c.type) for c in columns), prefixes=["TEMPORARY"])
    if conn.dialect.name == "sqlite":  # PostgreSQL hash-joins them; an index would only slow the copy
        for i, cols in enumerate(indexes):
            sa.Index(f"{name}_ix{i}", *(temp.c[c] for c in cols))
    temp.create(conn)
    return temp


def _clear(conn: sa.Connection, temp: sa.Table) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"TRUNCATE {conn.dialect.identifier_preparer.quote(temp.name)}")
    else:
        conn.execute(temp.delete())


def _copy(conn: sa.Connection, temp: sa.Table, frame: pl.DataFrame) -> None:
    """Bulk-load `frame` (columns named as in `temp`) in chunks: COPY on PostgreSQL, executemany on SQLite."""
    if frame.is_empty():
        return
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(c) for c in frame.columns)
    dbapi = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        sql = f"COPY {quote(temp.name)} ({columns}) FROM STDIN (FORMAT csv)"
        # The queued writer sends from its own thread: the next slice is written as CSV while
        # the server parses the previous one.
        with dbapi.cursor() as cursor, cursor.copy(sql, writer=_short_queue_writer(cursor)) as copy:
            for chunk in frame.iter_slices(_COPY_SLICE_ROWS):
                copy.write(_csv_bytes(chunk))
        return
    sql = f"INSERT INTO {quote(temp.name)} ({columns}) VALUES ({', '.join('?' * frame.width)})"
    cursor = dbapi.cursor()
    try:
        for chunk in frame.iter_slices(_CHUNK_ROWS):
            cursor.executemany(sql, chunk.iter_rows())
    finally:
        cursor.close()


def _short_queue_writer(cursor: Any) -> Any:
    """psycopg's queued COPY writer (sends from its own thread) with a queue of `_COPY_QUEUE_PIECES`:
    the batch writer waits for the server instead of piling the CSV up in memory. psycopg is
    imported here, on the PostgreSQL path only: a SQLite warehouse's process never loads it."""
    from psycopg.copy import QueuedLibpqWriter

    writer = QueuedLibpqWriter(cursor)
    writer._queue = queue.Queue(maxsize=_COPY_QUEUE_PIECES)
    return writer


@contextmanager
def _index_lookups(conn: sa.Connection) -> Iterator[None]:
    """Plan the enclosed queries as index lookups of a small key list into a big table.

    PostgreSQL would otherwise scan the whole core table for a chunk's few thousand keys (a table
    grown in this very transaction has no statistics yet): 0.3 s per chunk at 1 M stored rows, while
    the index answers in 0.02 s when nothing is stored and about the same time when everything is.
    """
    if conn.dialect.name != "postgresql":
        yield
        return
    conn.exec_driver_sql("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")
    try:
        yield
    finally:
        conn.exec_driver_sql("RESET enable_hashjoin; RESET enable_mergejoin")


def _csv_bytes(frame: pl.DataFrame) -> memoryview:
    """CSV as bytes straight from polars (a `str` would be decoded, then encoded again for the wire),
    as a view of polars' output buffer: psycopg cuts it into views of 128 KB for its queue, so the
    text exists once (`getvalue()` copied it whole, and each piece was copied again)."""
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False)
    return buffer.getbuffer()


def _fetch(
    conn: sa.Connection, source: sa.FromClause, columns: dict[str, tuple[sa.ColumnElement, pl.DataType]]
) -> pl.DataFrame:
    """Rows of `source` as a frame, column-wise: the database writes them as ONE CSV text
    (`string_agg` / `group_concat`), which polars parses; no Python object per row or per value
    (PostgreSQL's `COPY … TO STDOUT` still hands them over one row at a time)."""
    line = _csv_line([_csv_cell(column) for column, _ in columns.values()])
    aggregate = sa.func.string_agg if conn.dialect.name == "postgresql" else sa.func.group_concat
    text = conn.execute(sa.select(aggregate(line, sa.literal("\n"))).select_from(source)).scalar()
    schema = {name: dtype for name, (_, dtype) in columns.items()}
    if not text:
        return pl.DataFrame(schema=schema)
    return pl.read_csv(text.encode(), has_header=False, new_columns=list(schema), schema=schema)


def _csv_cell(column: sa.ColumnElement) -> sa.ColumnElement:
    """A value as one CSV cell: quoted text (quotes doubled), or empty for NULL."""
    text = sa.cast(column, sa.Text)
    quoted = sa.literal('"') + sa.func.replace(text, '"', '""') + sa.literal('"')
    return sa.func.coalesce(quoted, sa.literal(""))


def _csv_line(cells: list[sa.ColumnElement]) -> sa.ColumnElement:
    line = cells[0]
    for cell in cells[1:]:
        line = line + sa.literal(",") + cell
    return line
