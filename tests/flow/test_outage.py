"""`tourlink.flow.outage`: a warehouse failure told as which database, whether the batch committed, and
that a re-run is safe (the real cuts are in tests/faults/test_database_cut_cli.py)."""

from __future__ import annotations

import sqlalchemy as sa

from tourlink.flow.outage import database_name, failure
from warehouse.load import Warehouse


def test_a_database_is_named_by_host_port_and_name_never_by_its_user_or_password(tmp_path):
    assert database_name("postgresql+psycopg://etl:pw-9x@db.internal/tourlink") == "db.internal:5432/tourlink"
    assert database_name("postgresql://etl:pw-9x@10.0.0.5:6432/wh?sslmode=require") == "10.0.0.5:6432/wh"
    assert database_name(f"sqlite:///{tmp_path}/w.db") == f"sqlite:{tmp_path}/w.db"


def test_whether_the_batch_committed_is_read_back_from_its_row(tmp_path):
    wh = Warehouse(f"sqlite:///{tmp_path / 'w.db'}", landing_dir=tmp_path / "landing")
    with wh.batch("files") as b:
        committed_id = b.batch_id
    cut = sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))
    after = failure(wh.url, cut, committed_id)
    assert after.committed is True and after.lost
    assert f"batch {committed_id} was committed" in after.line() and "已提交" in after.line()
    before = failure(wh.url, cut, "no-such-batch")
    assert before.committed is False
    assert "nothing of this batch was committed" in before.line() and "本批次未提交任何数据" in before.line()
    assert "server closed the connection unexpectedly" in before.line() and "COMMIT" not in before.line()


def test_a_batch_whose_row_cannot_be_read_back_says_so_rather_than_guess(tmp_path):
    gone = f"sqlite:///{tmp_path / 'missing-dir' / 'w.db'}"
    told = failure(gone, sa.exc.OperationalError("x", {}, Exception("unable to open database file")), "b1")
    assert told.committed is None
    assert "could not be checked" in told.line() and "无法确认本批次是否已提交" in told.line()


def test_a_refused_statement_is_not_told_as_a_lost_connection(tmp_path):
    refused = sa.exc.ProgrammingError("select", {}, Exception("permission denied for table batch"))
    told = failure(f"sqlite:///{tmp_path / 'w.db'}", refused)
    assert not told.lost and "the warehouse failed" in told.line() and "permission denied" in told.line()
