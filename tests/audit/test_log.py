"""The audit log is append-only in the database and its hash chain shows an edited or deleted row."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tourlink.audit import Event, query, record, verify
from warehouse.load import Warehouse

FULL_ID = "21010219900101123X"


@pytest.fixture
def engine(warehouse_url, tmp_path):
    wh = Warehouse(warehouse_url, landing_dir=tmp_path / "landing")
    yield wh.engine
    wh.engine.dispose()


def _three(engine) -> list[int]:
    return [
        record(engine, Event(actor="shenyang", role="steward", channel="web", origin="127.0.0.1", action="login", region="2101")),
        record(engine, Event(actor="shenyang", role="steward", channel="web", action="export", region="2101", rows=3,
                             unmasked=True, target=f"fix template for {FULL_ID}")),
        record(engine, Event(actor="ops", role="admin", channel="cli", action="publish", target="2026-06 v1", rows=120)),
    ]


def _bypass_triggers(conn: sa.Connection) -> None:
    """What someone with the database's owner rights could do: switch the guard off."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
    else:
        conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
        conn.exec_driver_sql("DROP TRIGGER audit_event_no_delete")


def test_events_are_chained_and_queried_by_user_action_and_region(engine):
    ids = _three(engine)
    assert ids == [1, 2, 3]
    result = verify(engine)
    assert result.ok and result.rows == 3 and result.head_id == 3
    assert [e["action"] for e in query(engine, actor="shenyang")] == ["login", "export"]
    assert [e["id"] for e in query(engine, region="21")] == [1, 2]  # the province sees its cities' events
    exported = query(engine, action="export")[0]
    assert exported["unmasked"] is True and exported["rows"] == 3
    assert FULL_ID not in exported["target"] and "2101**********123X" in exported["target"]


def test_the_database_refuses_to_update_or_delete_an_event(engine):
    _three(engine)
    for statement in ("UPDATE audit_event SET actor = 'someone' WHERE id = 2", "DELETE FROM audit_event WHERE id = 2"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql(statement)
    if engine.dialect.name == "postgresql":
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE audit_event")
    assert verify(engine).ok


def test_verify_finds_an_edited_row(engine):
    _three(engine)
    with engine.begin() as conn:
        _bypass_triggers(conn)
        conn.exec_driver_sql("UPDATE audit_event SET rows = 0, unmasked = false WHERE id = 2")
    result = verify(engine)
    assert not result.ok
    assert [(b.id, b.problem) for b in result.breaks] == [(2, "edited")]


def test_verify_finds_a_deleted_row(engine):
    _three(engine)
    with engine.begin() as conn:
        _bypass_triggers(conn)
        conn.exec_driver_sql("DELETE FROM audit_event WHERE id = 2")
    result = verify(engine)
    assert [(b.id, b.problem) for b in result.breaks] == [(3, "missing-before")]
    assert "之前的记录被删除或改动" in result.breaks[0].message_zh
