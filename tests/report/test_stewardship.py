"""Waiving and resolving quarantine entries: status, reason and history kept, nothing deleted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.report import quarantine_sample as qs
from tourlink.report.stewardship import EntryError, NotOpen, OutsideRegion, history, resolve, waive


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    engine = sa.create_engine(url)
    ids = qs.seed(engine)
    engine.ids = ids
    yield engine
    engine.dispose()


def _status(engine, entry: int) -> tuple:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text("select status, status_reason, resolved_by_batch from quarantine where id = :i"), {"i": entry}).one())


def test_a_waiver_keeps_the_entry_with_its_reason_and_a_history_row(engine):
    entry = engine.ids[f"{qs.DALIAN}:4"]
    with engine.begin() as conn:
        waive(conn, entry, "测试数据，无需更正", actor="dl-steward", region="2102")
    assert _status(engine, entry) == ("waived", "测试数据，无需更正", None)
    with engine.connect() as conn:
        (h,) = history(conn, entry)
    assert (h["status"], h["actor"], h["reason"]) == ("waived", "dl-steward", "测试数据，无需更正")


def test_a_waiver_needs_a_reason_and_an_open_entry_in_the_stewards_region(engine):
    entry = engine.ids[f"{qs.DALIAN}:4"]
    with engine.begin() as conn, pytest.raises(EntryError):
        waive(conn, entry, "  ", region="2102")
    with engine.begin() as conn, pytest.raises(OutsideRegion):
        waive(conn, entry, "不归我管", region="2101")
    with engine.begin() as conn:
        waive(conn, entry, "first", region="21")
    with engine.begin() as conn, pytest.raises(NotOpen):
        waive(conn, entry, "second")
    assert _status(engine, entry)[1] == "first"


def test_resolving_changes_only_open_entries(engine):
    waived, other = engine.ids[f"{qs.DALIAN}:4"], engine.ids[f"{qs.HEBEI}:4"]
    with engine.begin() as conn:
        waive(conn, waived, "无需更正")
        changed = resolve(conn, [waived, other], "batch-9")
    assert changed == [other]
    assert _status(engine, other) == ("resolved", "更正后重新导入", "batch-9")
    assert _status(engine, waived)[0] == "waived"
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from quarantine")).scalar() == len(qs.ENTRIES)
