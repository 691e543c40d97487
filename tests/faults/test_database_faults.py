"""PostgreSQL faults during a load's commit: the loading process SIGKILLed at each crash point
(`tourlink/crash_points.py`), and its connection cut (`pg_terminate_backend`) at the same points.

Either way the batch leaves nothing behind (no row, no quarantine entry, no committed batch), the
outcome is clear (a dead process; a cut told as `WarehouseFailed`: which database, nothing committed), and a rerun
loads every row exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid

import psycopg
import pytest
import sqlalchemy as sa

from tests.cli.test_import_cli import TOURLINK, _canonical_files
from tests.faults.budget import fault_repeats
from tourlink import crash_points
from tourlink.flow import WarehouseFailed, import_files
from warehouse import tables
from warehouse.load import Warehouse

POINTS = ["merged:tour_group", "merged:group_member", "quarantined:group_member", "before-commit"]
GROUPS, PER_GROUP = 60, 10
ROWS = GROUPS * PER_GROUP - 1  # one member is quarantined (a bad checksum)
REPEATS = fault_repeats(2)


def _state(url: str) -> tuple[int, int, int, int]:
    """(members, distinct member keys, quarantine entries, committed batches)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            m = tables.entity_tables["group_member"]
            members, distinct = conn.execute(
                sa.select(sa.func.count(), sa.func.count(sa.distinct(sa.tuple_(m.c.group_code, m.c.seq_no))))
            ).one()
            quarantined = conn.execute(sa.select(sa.func.count()).select_from(tables.quarantine)).scalar_one()
            committed = conn.execute(
                sa.select(sa.func.count()).select_from(tables.batch).where(tables.batch.c.status == "committed")
            ).scalar_one()
    except sa.exc.ProgrammingError:  # nothing created yet
        return 0, 0, 0, 0
    finally:
        engine.dispose()
    return members, distinct, quarantined, committed


def _assert_complete(url: str, record) -> None:
    members, distinct, quarantined, committed = _state(url)
    record("rows_lost", max(0, ROWS - distinct))
    record("rows_duplicated", members - distinct)
    assert (members, distinct, quarantined, committed) == (ROWS, ROWS, 1, 1)


@pytest.mark.parametrize("point", POINTS)
def test_a_load_killed_at_a_crash_point_leaves_nothing_and_a_rerun_loads_each_row_once(point, pg_url, tmp_path,
                                                                                      faults_record):
    files = [str(f) for f in _canonical_files(tmp_path, GROUPS, PER_GROUP, bad_members=1)]
    env = {**os.environ, "TOURLINK_HOME": str(tmp_path / "home"), "TOURLINK_WAREHOUSE_URL": pg_url}
    killed = subprocess.run([TOURLINK, "import", *files], env=env | {"TOURLINK_CRASH_AT": point},
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    faults_record("faults", 1)
    members, _, quarantined, committed = _state(pg_url)
    assert (members, quarantined, committed) == (0, 0, 0)
    rerun = subprocess.run([TOURLINK, "import", *files], env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    _assert_complete(pg_url, faults_record)


@pytest.mark.parametrize("repeat", range(REPEATS))
@pytest.mark.parametrize("point", POINTS)
def test_a_connection_cut_at_a_crash_point_leaves_nothing_and_a_rerun_loads_each_row_once(point, repeat, pg_url,
                                                                                         tmp_path, monkeypatch,
                                                                                         faults_record):
    files = _canonical_files(tmp_path, GROUPS, PER_GROUP, bad_members=1)
    name = f"tourlink-fault-{uuid.uuid4().hex[:12]}"  # only this test's own connections are cut
    url = sa.engine.make_url(pg_url).update_query_dict({"application_name": name}).render_as_string(hide_password=False)
    admin = sa.create_engine(pg_url)

    def cut(at: str) -> None:
        if at == point:
            with admin.begin() as conn:
                cut_count = conn.execute(
                    sa.text("select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = :n"),
                    {"n": name},
                ).scalar_one()
            assert cut_count >= 1

    monkeypatch.setattr(crash_points, "reached", cut)
    wh = Warehouse(url, landing_dir=tmp_path / "landing")
    with pytest.raises(WarehouseFailed) as failure:  # the cut is named as what it is, nothing swallowed
        import_files(files, warehouse=wh)
    assert failure.value.lost and failure.value.committed is False, failure.value.line()
    assert "terminat" in failure.value.reason.lower() or "closed" in failure.value.reason.lower()
    assert isinstance(failure.value.__cause__, sa.exc.DBAPIError | psycopg.Error)
    faults_record("faults", 1)
    wh.engine.dispose()
    members, _, quarantined, committed = _state(pg_url)
    assert (members, quarantined, committed) == (0, 0, 0)
    monkeypatch.setattr(crash_points, "reached", lambda at: None)
    import_files(files, warehouse=Warehouse(url, landing_dir=tmp_path / "landing"))
    _assert_complete(pg_url, faults_record)
    admin.dispose()
