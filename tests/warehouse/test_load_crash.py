"""A batch killed mid-load (a real SIGKILL) leaves nothing half-loaded; the re-run completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.warehouse import load_worker
from warehouse.load import Warehouse

ROOT = Path(__file__).resolve().parents[2]
GROUPS = 6_000  # 180,000 members: long enough to be killed inside the load


def start_worker(url: str, landing: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.warehouse.load_worker", url, str(landing), str(GROUPS)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def backend_busy_loading(engine: sa.Engine, pid: int) -> bool:
    query = sa.text("select query from pg_stat_activity where pid = :pid and state = 'active'")
    with engine.connect() as conn:
        running = conn.execute(query, {"pid": pid}).scalar()
    return bool(running) and ("group_member" in running or running.lstrip().upper().startswith("COPY"))


def backend_gone(engine: sa.Engine, pid: int) -> bool:
    with engine.connect() as conn:
        return conn.execute(sa.text("select count(*) from pg_stat_activity where pid = :pid"), {"pid": pid}).scalar() == 0


@pytest.mark.slow
def test_a_killed_batch_loads_nothing_and_the_rerun_has_no_duplicate_and_no_gap(warehouse_url, tmp_path):
    wh = Warehouse(warehouse_url, landing_dir=tmp_path)
    worker = start_worker(warehouse_url, tmp_path)
    line = worker.stdout.readline()
    assert line.startswith("started"), worker.stderr.read()
    backend = int(line.split()[1])
    if wh.dialect == "postgresql":
        wait_until(lambda: backend_busy_loading(wh.engine, backend))  # inside the COPY or the merge
        with wh.engine.connect() as conn:  # the batch is visible as running while it loads
            assert conn.exec_driver_sql("select status from batch").scalars().all() == ["running"]
    else:
        time.sleep(0.3)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    assert worker.returncode == -signal.SIGKILL
    if wh.dialect == "postgresql":
        wait_until(lambda: backend_gone(wh.engine, backend))

    with wh.engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from tour_group").scalar() == 0
        assert conn.exec_driver_sql("select count(*) from group_member").scalar() == 0

    load_worker.main(warehouse_url, str(tmp_path), GROUPS)  # the re-run, to the end

    with wh.engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from tour_group").scalar() == GROUPS
        total, distinct, groups, lowest, highest = conn.exec_driver_sql(
            "select count(*), count(distinct group_code || '/' || seq_no), count(distinct group_code),"
            " min(seq_no), max(seq_no) from group_member"
        ).one()
        assert (total, distinct, groups, lowest, highest) == (GROUPS * 30, GROUPS * 30, GROUPS, 1, 30)
        statuses = sorted(conn.exec_driver_sql("select status from batch").scalars().all())
    # SQLite writes its batch row inside the batch transaction: a killed batch leaves no row at all.
    assert statuses == (["abandoned", "committed"] if wh.dialect == "postgresql" else ["committed"])
    wh.engine.dispose()
