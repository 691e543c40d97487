"""`tourlink db upgrade`: an operator sees which revisions ran, or that there was nothing to do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from warehouse import migrations
from warehouse.engine import make_engine

TOURLINK = str(Path(sys.executable).parent / "tourlink")


def _upgrade(url: str, home: Path) -> str:
    env = {**os.environ, "TOURLINK_WAREHOUSE_URL": url, "TOURLINK_HOME": str(home)}
    done = subprocess.run([TOURLINK, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_an_upgrade_names_each_revision_it_ran_and_a_second_one_says_there_was_none(tmp_path):
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        migrations.upgrade(conn, "0008")
    engine.dispose()
    out = _upgrade(url, tmp_path)
    head = migrations.head()
    assert f"upgraded from 0008 to {head}:" in out
    listed = [line.split()[0] for line in out.splitlines()[1:]]
    assert listed[0] == "0009" and listed[-1] == head and "0008" not in listed
    assert "A file number on every stored row" in out  # each revision's own title
    assert f"was already at the latest revision ({head})" in _upgrade(url, tmp_path)


def test_an_empty_database_lists_every_revision(tmp_path):
    out = _upgrade(f"sqlite:///{tmp_path / 'new.db'}", tmp_path)
    assert "upgraded from an empty database to" in out
    assert [line.split()[0] for line in out.splitlines()[1:]][:2] == ["0001", "0002"]


def test_a_warehouse_a_newer_tourlink_upgraded_is_refused_by_every_command_without_a_traceback(tmp_path):
    """A rolled-back deployment, or workers of two releases side by side: the older one says so and
    changes nothing, in English and Chinese, exit 5."""
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    _upgrade(url, tmp_path)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    env = {**os.environ, "TOURLINK_WAREHOUSE_URL": url, "TOURLINK_HOME": str(tmp_path)}
    csv = tmp_path / "key_city.csv"
    csv.write_text("城市名称\n沈阳\n", encoding="utf-8")
    for command in (["db", "upgrade"], ["import", str(csv)]):
        done = subprocess.run([TOURLINK, *command], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 5, (command, done.stdout, done.stderr)
        assert "schema is at revision 9999, which this tourlink" in done.stderr and "数据仓库的表结构版本为 9999" in done.stderr
        assert "Traceback" not in done.stderr + done.stdout
    engine = make_engine(url)
    with engine.connect() as conn:
        assert migrations.current(conn) == "9999"  # nothing changed
    engine.dispose()


def _tourlink(url: str, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TOURLINK_WAREHOUSE_URL": url, "TOURLINK_HOME": str(home)}
    return subprocess.run([TOURLINK, *args], env=env, capture_output=True, text=True, timeout=120)


def test_a_downgrade_undoes_the_revisions_after_the_one_named_and_refuses_anything_else(tmp_path):
    """Going back to an older release: `db downgrade` to its newest revision, the revisions undone
    listed; a revision that is not older, or not one at all, is refused with nothing changed."""
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    _upgrade(url, tmp_path)
    back = _tourlink(url, tmp_path, "db", "downgrade", "0008")
    assert back.returncode == 0, back.stderr
    assert [line.split()[0] for line in back.stdout.splitlines()[1:]][-2:] == ["0010", "0009"]
    engine = make_engine(url)
    with engine.connect() as conn:
        assert migrations.current(conn) == "0008"  # left there: the downgrade did not open the warehouse as usual
    for revision, refusal in (("0008", "is not older"), ("0009", "is not older"), ("12", "is not a revision")):
        done = _tourlink(url, tmp_path, "db", "downgrade", revision)
        assert done.returncode == 2 and refusal in done.stderr and "Traceback" not in done.stderr
    with engine.connect() as conn:
        assert migrations.current(conn) == "0008"
    engine.dispose()
    assert "upgraded from 0008 to" in _upgrade(url, tmp_path)
