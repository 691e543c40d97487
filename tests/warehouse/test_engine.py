"""warehouse/engine.py: the upsert construct per dialect, and the PostgreSQL dialect left unimported
by what a SQLite warehouse runs."""

from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa

from warehouse import tables
from warehouse.engine import make_engine, upsert_insert
from warehouse.load import Warehouse
from warehouse.state import write_state


def test_the_upsert_construct_compiles_to_each_dialects_on_conflict(warehouse_url):
    engine = make_engine(warehouse_url)
    stmt = upsert_insert(engine.dialect.name)(tables.watermark).values(source="s", stream="x", value="1")
    stmt = stmt.on_conflict_do_update(index_elements=["source", "stream"], set_={"value": stmt.excluded.value})
    assert "ON CONFLICT (source, stream) DO UPDATE" in str(stmt.compile(dialect=engine.dialect))
    engine.dispose()


def test_state_is_replaced_in_place_on_either_dialect(warehouse_url, tmp_path):
    wh = Warehouse(warehouse_url, landing_dir=tmp_path)
    for value in ("2026-01-01", "2026-02-01"):
        with wh.engine.begin() as conn:
            write_state(conn, "erp_a", "groups", value, "b1")
    with wh.engine.connect() as conn:
        assert conn.execute(sa.select(tables.watermark.c.value)).scalars().all() == ["2026-02-01"]
    wh.engine.dispose()


def test_writing_state_and_quarantine_code_on_sqlite_never_imports_the_postgresql_dialect(tmp_path):
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    Warehouse(url, landing_dir=tmp_path).engine.dispose()  # created here: Alembic (which imports it) ran
    probe = (
        "import sys, sqlalchemy as sa; import warehouse.state, warehouse.quarantine; "
        "from warehouse.engine import make_engine; from warehouse import migrations; "
        f"e = make_engine({url!r}); "
        "c = e.connect(); migrations.upgrade(c); warehouse.state.write_state(c, 's', 'x', '1', 'b'); c.commit(); "
        "print('sqlalchemy.dialects.postgresql' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
