"""The other source kinds run through Airflow too: the SFTP drop's one `sync` step imports, archives
and rejects files; the government portal's feed lands its licensing events and folds the agencies."""

from __future__ import annotations

import sqlalchemy as sa

from devkit.sandbox.gov_portal_server import seed_events
from tests.dags.conftest import night, nightly_dag, task_states, xcom
from tourlink import settings


def _count(table: str) -> int:
    from warehouse import tables

    engine = sa.create_engine(settings.warehouse_url())
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(tables.metadata.tables[table])).scalar_one()
    engine.dispose()
    return count


def test_the_sftp_drop_dag_imports_good_files_archives_them_and_rejects_the_rest(
    airflow_metadata, tourlink_home, sandbox_registry
):
    box = sandbox_registry.start("sftp_sandbox", settle_seconds=0.2)
    run = nightly_dag("sftp_sandbox").test(logical_date=night(2026, 11, 22))
    states = task_states(run)
    assert str(run.state) == "success", states
    assert states["sync"] == ("success", 1)
    assert states["publish_tour_group"][0] == "success"
    assert xcom(run, "sync")["entities"]["tour_group"]["loaded"] == 2
    assert (_count("tour_group"), _count("group_member")) == (2, 6)
    server = box.sandbox
    assert len(list((server.root / "archive").rglob("*.*"))) == 2
    assert {p.name for p in (server.root / "rejected").rglob("*.xlsx")} | {
        p.name for p in (server.root / "rejected").rglob("*.csv")  # per agency: /rejected/<USCC>/
    } == {"报表.xlsx", "代报团队.csv"}


def test_the_portal_dag_lands_every_licensing_event_and_folds_the_agencies(
    airflow_metadata, tourlink_home, sandbox_registry
):
    sandbox_registry.start("gov_portal_liaoning_sandbox")
    run = nightly_dag("gov_portal_liaoning_sandbox").test(logical_date=night(2026, 11, 22))
    states = task_states(run)
    assert str(run.state) == "success", states
    assert xcom(run, "merge")["entities"]["licensing_event"]["loaded"] == len(seed_events())
    assert _count("licensing_event") == len(seed_events())
    assert _count("travel_agency") > 0
