"""A batch's first big load into an empty core table copies without the table's primary key and
rebuilds it with one sort before anything needs it (warehouse/first_load.py, PostgreSQL only)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from tests.warehouse.entity_frames import entity_frame, roster_frames
from warehouse import first_load
from warehouse.load import MergeCounts, Warehouse

ROOT = Path(__file__).resolve().parents[2]
GROUPS = 700  # 21,000 members: a first chunk over first_load.FIRST_LOAD_ROWS
MEMBERS = "select organizer_uscc, group_code, seq_no, name, doc_no, _row, _row_hash from group_member order by 1, 2, 3"


@pytest.fixture
def wh(pg_url, tmp_path):
    warehouse = Warehouse(pg_url, landing_dir=tmp_path / "landing")
    yield warehouse
    warehouse.engine.dispose()


def primary_key(conn: sa.Connection, table: str) -> str | None:
    """The table's primary key as this connection sees it (the batch's own: its DROP is uncommitted)."""
    query = "select pg_get_constraintdef(oid) from pg_constraint where conrelid = to_regclass(:t) and contype = 'p'"
    return conn.execute(sa.text(query), {"t": table}).scalar()


def stored(wh: Warehouse, sql: str) -> list[tuple]:
    with wh.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql).all()]


KEY = "PRIMARY KEY (organizer_uscc, group_code, seq_no)"


def test_a_big_first_load_into_an_empty_table_drops_the_key_and_rebuilds_it_as_it_was(wh):
    groups, members = roster_frames(GROUPS)
    with wh.batch("test") as b:
        b.merge("tour_group", groups)
        assert b.merge("group_member", members) == MergeCounts(loaded=members.height, unchanged=0)
        assert primary_key(b.connection, "group_member") is None  # the COPY went into the bare table
        assert primary_key(b.connection, "tour_group") is not None  # a parent keeps its key
    with wh.engine.connect() as conn:
        assert primary_key(conn, "group_member") == KEY
        assert conn.exec_driver_sql("select conname from pg_constraint where contype = 'p' and conrelid = 'group_member'::regclass").scalar() == "group_member_pkey"
    assert stored(wh, "select count(*), count(distinct (group_code, seq_no)) from group_member") == [(21_000, 21_000)]
    with wh.batch("test") as b:  # the same rows again: all unchanged (the hashes were stored as keyed)
        assert b.merge("group_member", members) == MergeCounts(loaded=0, unchanged=members.height)


def test_the_rows_are_those_the_keyed_load_stores(wh, monkeypatch):
    groups, members = roster_frames(GROUPS)
    loaded = []
    for threshold in (first_load.FIRST_LOAD_ROWS, 10**9):  # keyless first, then the keyed path
        monkeypatch.setattr(first_load, "FIRST_LOAD_ROWS", threshold)
        with wh.batch("test") as b:
            b.merge("tour_group", groups)
            b.merge("group_member", members)
            assert (primary_key(b.connection, "group_member") is None) == (threshold < 10**9)
        loaded.append(stored(wh, MEMBERS))
        with wh.engine.begin() as conn:
            conn.exec_driver_sql("delete from group_member; delete from tour_group")
    assert loaded[0] == loaded[1] and len(loaded[0]) == members.height


@pytest.mark.parametrize("case", ["table not empty", "chunk small", "parent", "read beside a batch"])
def test_no_drop_when_the_table_holds_rows_or_the_chunk_is_small_or_others_read_it_during_a_batch(wh, case):
    groups, members = roster_frames(GROUPS)
    if case == "read beside a batch":  # travel_agency: an agency folder's branches, read on another connection
        agencies = entity_frame("travel_agency", [{"uscc": f"9111{i:014d}"} for i in range(first_load.FIRST_LOAD_ROWS)])
        with wh.batch("test") as b:
            assert b.merge("travel_agency", agencies).loaded == first_load.FIRST_LOAD_ROWS
            assert primary_key(b.connection, "travel_agency") == "PRIMARY KEY (uscc)"
        return
    if case == "table not empty":
        with wh.batch("test") as b:
            b.merge("tour_group", groups)
            b.merge("group_member", members.head(30))
    with wh.batch("test") as b:
        if case == "parent":
            big_groups, _ = roster_frames(first_load.FIRST_LOAD_ROWS + 1, per_group=1)
            b.merge("tour_group", big_groups)
            assert primary_key(b.connection, "tour_group") is not None
            return
        b.merge("tour_group", groups)
        chunk = members.head(first_load.FIRST_LOAD_ROWS - 1) if case == "chunk small" else members
        b.merge("group_member", chunk)
        assert primary_key(b.connection, "group_member") == KEY


def test_a_reader_holding_the_table_makes_the_batch_load_through_the_key(wh):
    groups, members = roster_frames(GROUPS)
    with wh.engine.connect() as reader:
        reader.begin()
        reader.exec_driver_sql("select count(*) from group_member").scalar()  # holds ACCESS SHARE until it ends
        with wh.batch("test") as b:
            started = time.monotonic()
            b.merge("tour_group", groups)
            b.merge("group_member", members)
            assert primary_key(b.connection, "group_member") == KEY  # rolled back to the savepoint: keyed
            waited = time.monotonic() - started
            assert b.connection.exec_driver_sql("show lock_timeout").scalar() == "0"  # not left at 200ms
        assert waited >= 0.2
        # the reader was never blocked, and reads the committed batch (read committed)
        assert reader.exec_driver_sql("select count(*) from group_member").scalar() == members.height
        reader.rollback()


def test_an_exception_mid_load_leaves_the_key_and_no_rows(wh):
    groups, members = roster_frames(GROUPS)
    with pytest.raises(RuntimeError, match="boom"):
        with wh.batch("test") as b:
            b.merge("tour_group", groups)
            b.merge("group_member", members)
            assert primary_key(b.connection, "group_member") is None
            raise RuntimeError("boom")
    with wh.engine.connect() as conn:
        assert primary_key(conn, "group_member") == KEY
    assert stored(wh, "select count(*) from group_member") == [(0,)]


def holds_the_table_exclusively(engine: sa.Engine, pid: int) -> bool:
    query = (
        "select count(*) from pg_locks where pid = :pid and granted and mode = 'AccessExclusiveLock'"
        " and relation = to_regclass('group_member')"
    )
    with engine.connect() as conn:
        return conn.execute(sa.text(query), {"pid": pid}).scalar() > 0


@pytest.mark.slow
def test_a_killed_process_mid_load_leaves_the_key_and_no_rows_and_the_rerun_loads(wh, tmp_path):
    groups = 6_000  # 180,000 members: still copying when killed
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.warehouse.load_worker", wh.url, str(tmp_path), str(groups)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = worker.stdout.readline()
    assert line.startswith("started"), worker.stderr.read()
    backend = int(line.split()[1])
    deadline = time.monotonic() + 60
    while not holds_the_table_exclusively(wh.engine, backend):  # the key is dropped: the COPY runs
        assert time.monotonic() < deadline and worker.poll() is None, "the worker never dropped the key"
        time.sleep(0.01)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    query = "select count(*) from pg_stat_activity where pid = :pid"
    while stored_scalar(wh, query, pid=backend):
        time.sleep(0.02)
    with wh.engine.connect() as conn:
        assert primary_key(conn, "group_member") == KEY
        assert conn.exec_driver_sql("select count(*) from group_member").scalar() == 0
    from tests.warehouse import load_worker

    load_worker.main(wh.url, str(tmp_path), groups)
    with wh.engine.connect() as conn:
        assert primary_key(conn, "group_member") == KEY
        assert conn.exec_driver_sql("select count(*) from group_member").scalar() == groups * 30


def stored_scalar(wh: Warehouse, sql: str, **params) -> int:
    with wh.engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def test_a_key_twice_in_one_chunk_keeps_the_last_row(wh):
    groups, members = roster_frames(GROUPS)
    again = members.head(1).with_columns(name=pl.lit("后来的"))
    with wh.batch("test") as b:
        b.merge("tour_group", groups)
        assert b.merge("group_member", pl.concat([members, again])) == MergeCounts(members.height, 1)
        assert primary_key(b.connection, "group_member") is None
    assert stored(wh, "select count(*) from group_member") == [(members.height,)]
    assert stored(wh, "select name from group_member where group_code = 'G0000000' and seq_no = 1") == [("后来的",)]


def test_a_key_again_in_a_later_chunk_rebuilds_the_key_before_it_is_merged(wh):
    groups, members = roster_frames(GROUPS)
    changed = members.head(10).with_columns(name=pl.lit("改名"))
    with wh.batch("test") as b:
        b.merge("tour_group", groups)
        b.merge("group_member", members)
        assert primary_key(b.connection, "group_member") is None
        assert b.merge("group_member", changed) == MergeCounts(loaded=10, unchanged=0)  # an upsert: needs the key
        assert primary_key(b.connection, "group_member") == KEY
    assert stored(wh, "select count(*), count(*) filter (where name = '改名') from group_member") == [(members.height, 10)]


def test_a_rebuild_that_meets_a_key_twice_fails_the_batch_which_rolls_back_with_its_key(wh):
    groups, members = roster_frames(GROUPS)
    with pytest.raises(sa.exc.IntegrityError) as raised:
        with wh.batch("test") as b:
            b.merge("tour_group", groups)
            b.merge("group_member", members)
            # a row written behind the merge's back, with a key the load already has
            b.connection.exec_driver_sql(
                "insert into group_member (organizer_uscc, group_code, seq_no, _batch_no)"
                " select organizer_uscc, group_code, seq_no, _batch_no from group_member limit 1"
            )
    assert any("group_member: its primary key" in note for note in raised.value.__notes__)
    with wh.engine.connect() as conn:
        assert primary_key(conn, "group_member") == KEY
    assert stored(wh, "select count(*) from group_member") == [(0,)]
    [(status, error)] = stored(wh, "select status, error from batch")
    assert status == "failed" and "could not be rebuilt" in error
