"""The real `tourlink import` and `tourlink sync` meet a database connection cut mid-load
(`pg_terminate_backend` while the process is held at a crash point, `tourlink/crash_points.py`), or a
database that is not there: each ends with one clear line in English and Chinese naming the database
(host:port/name, never the password), saying nothing was committed and a re-run is safe, exit 4, no
traceback; the re-run loads every row exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.cli.test_import_cli import TOURLINK, _canonical_files
from tests.cli.test_sources_cli import _registry
from tests.faults.test_database_faults import GROUPS, PER_GROUP, POINTS, _assert_complete, _state
from tourlink.commands.files import EXIT_WAREHOUSE_FAILED
from warehouse import tables


def _held_and_cut(args: list[str], env: dict[str, str], point: str, flag: Path, pg_url: str, name: str) -> tuple[int, str, str]:
    """Run the CLI held at `point`, terminate its connections there, let it meet the cut: (exit, stdout, stderr)."""
    admin = sa.create_engine(pg_url)
    process = subprocess.Popen([TOURLINK, *args], text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env | {"TOURLINK_CRASH_AT": point, "TOURLINK_CRASH_HOLD": str(flag)})
    try:
        deadline = time.monotonic() + 120
        while not flag.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the crash point was never reached"
            time.sleep(0.02)
        with admin.begin() as conn:
            cut = conn.execute(
                sa.text("select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = :n"),
                {"n": name},
            ).scalar_one()
        assert cut >= 1
        flag.unlink()
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
        admin.dispose()
    return process.returncode, out, err


def _one_clear_line(code: int, out: str, err: str, url: sa.URL) -> str:
    assert code == EXIT_WAREHOUSE_FAILED, err[-3000:]
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert f"{url.host}:{url.port or 5432}/{url.database}" in line
    assert url.password is None or url.password not in line
    assert "re-running it is safe" in line and "可安全重新运行" in line
    return line


def _url(pg_url: str) -> tuple[sa.URL, str]:
    name = f"tourlink-cut-{uuid.uuid4().hex[:12]}"  # only this test's own connections are cut
    return sa.engine.make_url(pg_url).update_query_dict({"application_name": name}), name


@pytest.mark.parametrize("point", POINTS)
def test_import_names_a_cut_connection_in_one_line_and_a_rerun_loads_each_row_once(point, pg_url, tmp_path,
                                                                                faults_record):
    files = [str(f) for f in _canonical_files(tmp_path, GROUPS, PER_GROUP, bad_members=1)]
    url, name = _url(pg_url)
    env = {**os.environ, "TOURLINK_HOME": str(tmp_path / "home"),
           "TOURLINK_WAREHOUSE_URL": url.render_as_string(hide_password=False)}
    code, out, err = _held_and_cut(["import", *files], env, point, tmp_path / "held", pg_url, name)
    faults_record("faults", 1)
    line = _one_clear_line(code, out, err, url)
    assert "connection to the warehouse was lost" in line and "与数据库的连接中断" in line
    assert "nothing of this batch was committed" in line and "本批次未提交任何数据" in line
    members, _, quarantined, committed = _state(pg_url)
    assert (members, quarantined, committed) == (0, 0, 0)
    rerun = subprocess.run([TOURLINK, "import", *files], env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    _assert_complete(pg_url, faults_record)


def test_sync_names_a_cut_connection_in_one_line_and_a_rerun_loads_each_group_once(sandbox_signed_json, pg_url,
                                                                                 tmp_path, faults_record):
    folder = _registry(sandbox_signed_json, tmp_path)
    url, name = _url(pg_url)
    env = {**os.environ, "TOURLINK_HOME": str(tmp_path / "home"),
           "TOURLINK_WAREHOUSE_URL": url.render_as_string(hide_password=False)}
    args = ["sync", "sandbox_signed_json", "--registry", str(folder)]
    code, out, err = _held_and_cut(args, env, "merged:tour_group", tmp_path / "held", pg_url, name)
    faults_record("faults", 1)
    line = _one_clear_line(code, out, err, url)
    assert "nothing of this batch was committed" in line
    engine = sa.create_engine(pg_url)
    group = tables.entity_tables["tour_group"]
    count = sa.select(sa.func.count(), sa.func.count(sa.distinct(group.c.group_code))).select_from(group)
    with engine.connect() as conn:
        assert conn.execute(count).one() == (0, 0)
    rerun = subprocess.run([*[TOURLINK], *args, "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert json.loads(rerun.stdout.strip().splitlines()[-1])["entities"]["tour_group"]["loaded"] == 30
    with engine.connect() as conn:
        rows, distinct = conn.execute(count).one()
    engine.dispose()
    faults_record("rows_duplicated", rows - distinct)
    assert (rows, distinct) == (30, 30)


@pytest.mark.parametrize("command", ["import", "sync"])
def test_a_database_that_is_not_there_is_one_line_naming_it_without_its_password(command, sandbox_signed_json,
                                                                              tmp_path):
    files = [str(f) for f in _canonical_files(tmp_path, 2, 2)]
    folder = _registry(sandbox_signed_json, tmp_path)
    url = sa.engine.make_url("postgresql://steward:s3cret-pw@127.0.0.1:9/tourlink_prod?connect_timeout=3")
    env = {**os.environ, "TOURLINK_HOME": str(tmp_path / "home"),
           "TOURLINK_WAREHOUSE_URL": url.render_as_string(hide_password=False)}
    args = ["import", *files] if command == "import" else ["sync", "sandbox_signed_json", "--registry", str(folder)]
    run = subprocess.run([TOURLINK, *args], env=env, capture_output=True, text=True, timeout=120)
    line = _one_clear_line(run.returncode, run.stdout, run.stderr, url)
    assert "s3cret-pw" not in line and "steward" not in line
    assert "nothing of this batch was committed" in line
