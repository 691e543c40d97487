"""Alembic migrations: the same schema as `warehouse.tables` on SQLite and PostgreSQL, from any revision."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tests.warehouse.entity_frames import ORGANIZER, at, entity_frame, group
from warehouse import migrations, tables
from warehouse.engine import make_engine
from warehouse.load import MergeCounts, Warehouse


def schema_drift(engine: sa.Engine, metadata: sa.MetaData = tables.metadata) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)


def test_an_empty_database_upgrades_to_exactly_the_declared_schema(warehouse_url, tmp_path):
    wh = Warehouse(warehouse_url, landing_dir=tmp_path)
    assert schema_drift(wh.engine) == []  # a table or column added to tables.py needs a migration
    with wh.engine.connect() as conn:
        assert migrations.current(conn) == migrations.head()
    wh.upgrade()  # idempotent
    assert schema_drift(wh.engine) == []
    wh.engine.dispose()


def test_a_column_declared_without_a_migration_is_caught(warehouse_url, tmp_path):
    wh = Warehouse(warehouse_url, landing_dir=tmp_path)
    extended = sa.MetaData()
    for table in tables.metadata.sorted_tables:
        table.to_metadata(extended)
    extended.tables["tour_group"].append_column(sa.Column("visa_status", sa.Text))
    sa.Table("new_report", extended, sa.Column("id", sa.Integer, primary_key=True))
    drift = schema_drift(wh.engine, extended)
    assert {d[0] for d in drift} == {"add_column", "add_table"}
    wh.engine.dispose()


def test_a_database_of_revision_0001_holding_data_upgrades_and_keeps_it(warehouse_url, tmp_path):
    engine = make_engine(warehouse_url)
    with engine.begin() as conn:
        migrations.upgrade(conn, "0001")
        assert "quarantine_history" not in sa.inspect(conn).get_table_names()
        conn.execute(
            sa.text(
                "insert into batch (batch_id, source, status, started_at) values ('b0', 'old', 'committed', :t)"
            ),
            {"t": datetime(2026, 9, 1)},
        )
        conn.execute(
            sa.text(
                "insert into tour_group (group_code, organizer_uscc, route_name, updated_at, _source, _batch_id, _received_at)"
                " values ('G1', :o, '旧线路', :t, 'old', 'b0', :t)"
            ),
            {"o": ORGANIZER, "t": datetime(2026, 9, 1)},
        )
        conn.execute(
            sa.text(
                "insert into quarantine (batch_id, source, entity, natural_key, raw, rules, status, created_at, updated_at)"
                " values ('b0', 'old', 'tour_group', :k, '{}', '[]', 'open', :t, :t)"
            ),
            {"k": f'{{"organizer_uscc":"{ORGANIZER}","group_code":"G2"}}', "t": datetime(2026, 9, 1)},
        )
    engine.dispose()

    wh = Warehouse(warehouse_url, landing_dir=tmp_path)
    assert schema_drift(wh.engine) == []
    with wh.batch("new") as b:
        assert b.merge("tour_group", entity_frame("tour_group", [group("G1", updated=at(2)), group("G2")])) == MergeCounts(2, 0)
    with wh.engine.connect() as conn:
        assert conn.exec_driver_sql("select group_code, route_name from tour_group order by 1").all() == [("G1", "北京五日游"), ("G2", "北京五日游")]
        assert conn.exec_driver_sql("select status from quarantine").scalars().all() == ["resolved"]
        assert conn.exec_driver_sql("select count(*) from quarantine_history").scalar() == 1
        indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("tour_group")}
    assert {"ix_tour_group_submitted_at", "ix_tour_group_start_date"} <= indexes
    wh.engine.dispose()


def test_rows_of_revision_0004_keep_their_source_and_time_on_the_batch_row(warehouse_url):
    """0005 moves `_source`/`_received_at` to the batch row; a row whose batch had no row gets one."""
    engine = make_engine(warehouse_url)
    loaded, folded = datetime(2026, 9, 1, 8), datetime(2026, 9, 2, 9)
    with engine.begin() as conn:
        migrations.upgrade(conn, "0004")
        conn.execute(
            sa.text("insert into batch (batch_id, source, status, started_at) values ('b0', 'erp_a', 'committed', :t)"),
            {"t": loaded},
        )
        insert = sa.text(
            "insert into tour_group (group_code, organizer_uscc, _source, _batch_id, _file, _row, _received_at)"
            " values (:g, :o, :s, :b, :f, :r, :t)"
        )
        conn.execute(insert, {"g": "G1", "o": ORGANIZER, "s": "erp_a", "b": "b0", "f": "groups.csv", "r": 2, "t": loaded})
        conn.execute(insert, {"g": "G2", "o": ORGANIZER, "s": "gov_portal", "b": "fold", "f": None, "r": None, "t": folded})
        migrations.upgrade(conn)
    assert schema_drift(engine) == []
    lineage = (
        "select g.group_code, b.source, b.started_at, f.file, g._row from tour_group g"
        " join batch b on b.batch_no = g._batch_no"
        " left join lineage_file f on f.batch_no = g._batch_no and f.file_no = g._file_no order by 1"
    )
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.exec_driver_sql(lineage).all()]
    assert [(g, s, str(t)[:19], f, r) for g, s, t, f, r in rows] == [
        ("G1", "erp_a", "2026-09-01 08:00:00", "groups.csv", 2),
        ("G2", "gov_portal", "2026-09-02 09:00:00", None, None),
    ]
    from alembic import command

    with engine.begin() as conn:
        command.downgrade(migrations.config(conn), "0004")
    with engine.connect() as conn:
        back = conn.exec_driver_sql("select group_code, _source, _received_at from tour_group order by 1").all()
    assert [(g, s, str(t)[:19]) for g, s, t in back] == [
        ("G1", "erp_a", "2026-09-01 08:00:00"), ("G2", "gov_portal", "2026-09-02 09:00:00")
    ]
    engine.dispose()


def test_rows_of_revision_0008_name_their_batch_by_its_number(warehouse_url, tmp_path):
    """0009: the batches are numbered in the order they started, every row carries its batch's number
    (`_batch_no`), a batch opened afterwards takes the next one, and a downgrade gives the ids back."""
    engine = make_engine(warehouse_url)
    with engine.begin() as conn:
        migrations.upgrade(conn, "0008")
        for batch_id, started in (("b-late", datetime(2026, 9, 3)), ("b-early", datetime(2026, 9, 1))):
            conn.execute(
                sa.text("insert into batch (batch_id, source, status, started_at) values (:b, 'erp_a', 'committed', :t)"),
                {"b": batch_id, "t": started},
            )
        insert = sa.text("insert into tour_group (group_code, organizer_uscc, _batch_id, _file, _row) values (:g, :o, :b, 'g.csv', 2)")
        conn.execute(insert, {"g": "G1", "o": ORGANIZER, "b": "b-late"})
        conn.execute(insert, {"g": "G2", "o": ORGANIZER, "b": "b-early"})
        migrations.upgrade(conn)
    engine.dispose()

    wh = Warehouse(warehouse_url, landing_dir=tmp_path)
    assert schema_drift(wh.engine) == []
    with wh.batch("new") as b:
        b.merge("tour_group", entity_frame("tour_group", [group("G3")]))
        opened = b.batch_id
    lineage = "select g.group_code, b.batch_id, g._batch_no from tour_group g join batch b on b.batch_no = g._batch_no order by 1"
    with wh.engine.connect() as conn:
        assert [tuple(r) for r in conn.exec_driver_sql(lineage)] == [("G1", "b-late", 2), ("G2", "b-early", 1), ("G3", opened, 3)]
        from alembic import command

        command.downgrade(migrations.config(conn), "0008")
        back = conn.exec_driver_sql("select group_code, _batch_id from tour_group order by 1").all()
        conn.commit()
    assert [tuple(r) for r in back] == [("G1", "b-late"), ("G2", "b-early"), ("G3", opened)]
    wh.engine.dispose()


def test_rows_of_revision_0009_name_their_file_by_its_number_in_the_batch(warehouse_url, tmp_path):
    """0010: each batch's file names (over every core table) are numbered in name order, every row
    carries its file's number (`_file_no`, NULL where it had no file), a batch written afterwards
    numbers its own files from 1, and a downgrade gives the names back."""
    engine = make_engine(warehouse_url)
    with engine.begin() as conn:
        migrations.upgrade(conn, "0008")
        for no in (1, 2):  # 0009 numbers them (and moves PostgreSQL's sequence past them)
            conn.execute(
                sa.text("insert into batch (batch_id, source, status, started_at) values (:b, 'files', 'committed', :t)"),
                {"b": f"b{no}", "t": datetime(2026, 9, no)},
            )
        migrations.upgrade(conn, "0009")
        group_row = sa.text("insert into tour_group (group_code, organizer_uscc, _batch_no, _file, _row) values (:g, :o, :n, :f, 2)")
        conn.execute(group_row, {"g": "G1", "o": ORGANIZER, "n": 1, "f": "团队/b.csv"})
        conn.execute(group_row, {"g": "G2", "o": ORGANIZER, "n": 2, "f": "a.csv"})
        conn.execute(group_row, {"g": "G3", "o": ORGANIZER, "n": 2, "f": None})
        conn.execute(
            sa.text("insert into group_member (organizer_uscc, group_code, seq_no, _batch_no, _file, _row) values (:o, 'G1', 1, 1, 'a.csv', 3)"),
            {"o": ORGANIZER},
        )
        migrations.upgrade(conn)
    engine.dispose()

    wh = Warehouse(warehouse_url, landing_dir=tmp_path)
    assert schema_drift(wh.engine) == []
    with wh.batch("new") as b:
        b.merge("tour_group", entity_frame("tour_group", [group("G4")], file="新.xlsx"))
        new_no = b.batch_no
    cited = (
        "select t.key, t._batch_no, t._file_no, f.file from ({}) t"
        " left join lineage_file f on f.batch_no = t._batch_no and f.file_no = t._file_no order by 1"
    ).format("select group_code as key, _batch_no, _file_no from tour_group"
             " union all select group_code || '/' || seq_no, _batch_no, _file_no from group_member")
    with wh.engine.connect() as conn:
        assert [tuple(r) for r in conn.exec_driver_sql(cited)] == [
            ("G1", 1, 2, "团队/b.csv"), ("G1/1", 1, 1, "a.csv"), ("G2", 2, 1, "a.csv"), ("G3", 2, None, None),
            ("G4", new_no, 1, "新.xlsx"),
        ]
        from alembic import command

        command.downgrade(migrations.config(conn), "0009")
        back = conn.exec_driver_sql("select group_code, _file from tour_group order by 1").all()
        conn.commit()
    assert [tuple(r) for r in back] == [("G1", "团队/b.csv"), ("G2", "a.csv"), ("G3", None), ("G4", "新.xlsx")]
    wh.engine.dispose()


@pytest.mark.parametrize("revision", ["0001", "0002", "0004", "0008", "0009"])
def test_every_revision_downgrades_cleanly(warehouse_url, revision):
    engine = make_engine(warehouse_url)
    with engine.begin() as conn:
        migrations.upgrade(conn, "head")
    from alembic import command

    with engine.begin() as conn:
        command.downgrade(migrations.config(conn), revision)
        assert migrations.current(conn) == revision
    with engine.begin() as conn:
        migrations.upgrade(conn)
    assert schema_drift(engine) == []
    engine.dispose()


def test_pending_names_the_revisions_an_upgrade_would_run_oldest_first(warehouse_url):
    engine = make_engine(warehouse_url)
    with engine.begin() as conn:
        migrations.upgrade(conn, "0008")
        revisions = [revision for revision, _ in migrations.pending(conn)]
        assert revisions[0] == "0009" and revisions[-1] == migrations.head() and revisions == sorted(revisions)
        assert migrations.pending(conn)[0] == ("0009", "A batch number on every stored row: `_batch_no` in place of `_batch_id`")
        migrations.upgrade(conn)
        assert migrations.pending(conn) == []
    engine.dispose()


def test_a_downgrade_lists_what_it_undid_and_refuses_a_revision_not_older(warehouse_url):
    engine = make_engine(warehouse_url)
    with engine.begin() as conn:
        migrations.upgrade(conn)
        undone = migrations.downgrade(conn, "0008")
        assert [revision for revision, _ in undone][-1] == "0009" and undone[0][0] == migrations.head()
        assert migrations.current(conn) == "0008"
        for revision, refusal in (("0008", "is not older"), ("0010", "is not older"), ("12", "is not a revision")):
            with pytest.raises(ValueError, match=refusal):
                migrations.downgrade(conn, revision)
        assert migrations.current(conn) == "0008"
        migrations.upgrade(conn)
    assert schema_drift(engine) == []
    engine.dispose()


def test_a_warehouse_at_a_revision_this_code_does_not_know_is_refused_and_left_alone(warehouse_url):
    engine = make_engine(warehouse_url)
    with engine.begin() as conn:
        migrations.upgrade(conn)
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with engine.begin() as conn:
        with pytest.raises(migrations.SchemaAhead, match="revision 9999, which this tourlink") as raised:
            migrations.upgrade(conn)
        assert raised.value.head == migrations.head()
        with pytest.raises(migrations.SchemaAhead):
            migrations.pending(conn)
        assert migrations.current(conn) == "9999"
        conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{migrations.head()}'")
    engine.dispose()


def test_the_head_read_from_the_version_files_is_alembics_head():
    # `upgrade` skips Alembic when the stored revision is this one: it must be Alembic's own answer
    assert migrations.declared_head() == migrations.head()


def _versions(folder, files: dict[str, str]):
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_the_head_is_read_only_from_plain_declarations_of_one_chain(tmp_path):
    plain = {"a.py": 'revision = "1"\ndown_revision = None\n', "b.py": 'revision: str = "2"\ndown_revision = "1"\n'}
    assert migrations.declared_head(_versions(tmp_path / "chain", plain)) == "2"
    branched = {**plain, "c.py": 'revision = "3"\ndown_revision = "1"\n'}
    assert migrations.declared_head(_versions(tmp_path / "branched", branched)) is None  # two heads
    computed = {**plain, "c.py": 'revision = "3"\ndown_revision = PARENT\n'}
    assert migrations.declared_head(_versions(tmp_path / "computed", computed)) is None  # Alembic decides


def test_opening_an_up_to_date_warehouse_does_not_import_alembic(tmp_path):
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'wh.db'}"
    Warehouse(url, landing_dir=tmp_path).engine.dispose()  # created: every migration ran
    probe = (
        "import sys; from warehouse.load import Warehouse; "
        f"Warehouse({url!r}, landing_dir={str(tmp_path)!r}); "
        "print(sorted(m for m in sys.modules if m == 'alembic' or m.startswith('alembic.')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_opening_an_up_to_date_warehouse_does_not_wait_for_a_running_batch(tmp_path):
    import sqlite3
    import subprocess
    import sys

    db = tmp_path / "wh.db"
    Warehouse(f"sqlite:///{db}", landing_dir=tmp_path).engine.dispose()  # created: every migration ran
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # what a loading batch holds until it commits
    try:
        probe = f"from warehouse.load import Warehouse; Warehouse({f'sqlite:///{db}'!r}, landing_dir={str(tmp_path)!r})"
        subprocess.run([sys.executable, "-c", probe], check=True, timeout=60)  # the busy timeout is 600 s
    finally:
        writer.rollback()
        writer.close()


def test_a_warehouse_one_revision_behind_is_still_upgraded_by_alembic(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    with engine.begin() as conn:
        migrations.upgrade(conn, "0005")
    with engine.begin() as conn:
        migrations.upgrade(conn)
    with engine.connect() as conn:
        assert migrations.current(conn) == migrations.head()
    engine.dispose()
