"""COPY into PostgreSQL: the CSV waiting for the server stays bounded (issue 9, peak memory)."""

from __future__ import annotations

import time

import polars as pl
import sqlalchemy as sa
from psycopg.copy import QueuedLibpqWriter

from warehouse.bulk import _copy, _create_temp

PIECE = 128 * 1024  # psycopg cuts what a COPY is given into pieces of at most this size


def test_a_slow_server_never_has_more_than_8_mb_of_csv_queued_for_it(pg_url, monkeypatch):
    queued: list[int] = []
    send = QueuedLibpqWriter._put
    write = QueuedLibpqWriter.write

    def slow_send(self, data):  # the server parses slower than polars writes CSV
        time.sleep(0.002)
        send(self, data)

    def counting_write(self, data):
        write(self, data)
        queued.append(self._queue.qsize())

    monkeypatch.setattr(QueuedLibpqWriter, "_put", slow_send)
    monkeypatch.setattr(QueuedLibpqWriter, "write", counting_write)
    rows = 120_000  # ~14 MB of CSV: over a hundred pieces
    frame = pl.select(
        id=pl.int_range(rows, dtype=pl.Int64), text=pl.format("{}-{}", pl.int_range(rows), pl.lit("x" * 100))
    )
    engine = sa.create_engine(pg_url)
    try:
        with engine.begin() as conn:
            temp = _create_temp(conn, "_copy_probe", [sa.Column("id", sa.BigInteger), sa.Column("text", sa.Text)])
            _copy(conn, temp, frame)
            assert conn.execute(sa.select(sa.func.count(), sa.func.sum(temp.c.id)).select_from(temp)).one() == (
                rows,
                rows * (rows - 1) // 2,
            )
    finally:
        engine.dispose()
    assert max(queued) * PIECE <= 8 << 20
    assert max(queued) >= 32  # the queue did fill: the server was the slower side
