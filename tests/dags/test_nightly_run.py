"""Nightly sync DAGs run end to end in Airflow (dag.test(), tasks in this process) against sandbox
vendors on loopback: the warehouse ends up equal to the vendor's data, a re-run of the same night
loads nothing, rejected credentials fail at once with the reason, a flaky gateway is retried."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa

from devkit.conformance import differences, warehouse_rows
from tests.dags.conftest import REGISTERED, SandboxRegistry, night, nightly_dag, task_states, xcom
from tourlink import settings

SOURCE = "sandbox_signed_json"


def _counts() -> dict[str, int]:
    from warehouse.tables import entity_tables

    engine = sa.create_engine(settings.warehouse_url())
    with engine.connect() as conn:
        counts = {
            name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for name, t in entity_tables.items()
        }
    engine.dispose()
    return counts


def _register_the_vendors_agencies(path) -> None:
    """The licensing register of the ERP's agencies (as a province uploads it), so their groups
    count in the month's indicators."""
    from devkit.demo.agencies import agency_rows, erp_vendor_agencies
    from devkit.demo.spreadsheets import template_headers, write_template_xlsx
    from tourlink.flow import import_files

    rows = agency_rows(erp_vendor_agencies([REGISTERED[SOURCE].region]), date(2026, 10, 1))
    write_template_xlsx(path, template_headers("travel_agency"), rows, title="旅行社信息导入模板")
    assert import_files([path]).counts("travel_agency").loaded == len(rows)


@pytest.fixture(scope="module")
def synced(airflow_metadata, tmp_path_factory) -> Iterator[dict]:
    """One night of the signed-json ERP synced by its DAG into a fresh warehouse (shared by this
    module's tests, which only add runs that must not change it)."""
    home = tmp_path_factory.mktemp("tourlink-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TOURLINK_HOME", str(home))
        mp.delenv("TOURLINK_WAREHOUSE_URL", raising=False)
        sandboxes = SandboxRegistry(home.parent / "sources", mp)
        try:
            _register_the_vendors_agencies(home / "agencies.xlsx")
            box = sandboxes.start(SOURCE)
            dag = nightly_dag(SOURCE)
            run = dag.test(logical_date=night(2026, 11, 22))
            yield {"dag": dag, "run": run, "box": box, "home": home, "counts": _counts()}
        finally:
            sandboxes.stop()


def test_a_nightly_run_loads_the_vendors_data_into_the_warehouse_and_publishes_each_entity(synced):
    run = synced["run"]
    states = task_states(run)
    assert str(run.state) == "success", states
    assert {task: state for task, (state, _) in states.items()} == {task: "success" for task in states}
    assert differences(warehouse_rows(settings.warehouse_url()), synced["box"].sandbox.ground_truth()) == []
    merged = xcom(run, "merge")["entities"]
    assert merged["tour_group"]["loaded"] == synced["counts"]["tour_group"] == 30
    assert all(c["quarantined"] == 0 for c in merged.values())


def test_a_second_run_of_the_same_night_loads_nothing_and_publishes_no_asset(synced):
    again = synced["dag"].test(logical_date=night(2026, 11, 22))
    assert str(again.state) == "success"
    merged = xcom(again, "merge")["entities"]
    assert merged and all(c["loaded"] == 0 for c in merged.values()), merged
    assert _counts() == synced["counts"]
    states = task_states(again)
    assert {t: s for t, (s, _) in states.items() if t.startswith("publish_")} == {
        t: "skipped" for t in states if t.startswith("publish_")
    }


def test_rejected_credentials_fail_the_extract_at_once_and_say_why(
    airflow_metadata, tourlink_home, sandbox_registry, capfd
):
    sandbox_registry.start("sandbox_oauth_cursor", credentials={"client_secret": "not-the-secret"})
    run = nightly_dag("sandbox_oauth_cursor").test(logical_date=night(2026, 11, 20))
    states = task_states(run)
    assert str(run.state) == "failed"
    assert states["extract"] == ("failed", 1)  # one try of the 1 + 3 allowed: no retry
    assert states["validate"][0] == states["merge"][0] == "upstream_failed"
    log = capfd.readouterr()
    text = log.out + log.err
    assert "not retrying" in text and "AuthError" in text and "401" in text
    assert "not-the-secret" not in text
    assert _counts()["tour_group"] == 0


def test_a_gateway_answering_503_is_retried_by_airflow_and_the_retry_succeeds(
    airflow_metadata, tourlink_home, sandbox_registry
):
    # The connector gives up after 2 attempts. Its two streams (teams, contracts) are read side by
    # side, so the first 4 answers of 503 are each stream's first request twice: the first try fails.
    box = sandbox_registry.start(SOURCE, max_attempts=2)
    box.sandbox.faults.http_5xx = 2 * len(box.source.streams)
    run = nightly_dag(SOURCE).test(logical_date=night(2026, 11, 21))
    states = task_states(run)
    assert str(run.state) == "success", states
    assert states["extract"] == ("success", 2)
    assert box.sandbox.faults.http_5xx == 0
    assert differences(warehouse_rows(settings.warehouse_url()), box.sandbox.ground_truth()) == []


def test_the_monthly_dag_publishes_the_same_figures_as_tourlink_indicators(synced, tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.conftest import REPO
    from warehouse.snapshots import versions

    dag = DagBag(dag_folder=str(REPO / "dags" / "tourlink_monthly.py")).dags["tourlink_monthly_indicators"]
    # The scheduled run of 1 November closes October, the month the sandbox's groups travel in.
    run = dag.test(logical_date=pendulum.datetime(2026, 11, 1, 3, 0, tz="Asia/Shanghai"))
    assert str(run.state) == "success", task_states(run)
    closed = xcom(run, "close_month")
    assert closed["month"] == "2026-10" and closed["version"] == 1
    engine = sa.create_engine(settings.warehouse_url())
    published = versions(engine, "2026-10")
    engine.dispose()
    assert [v.version for v in published] == [1]
    by_region: dict[str, list[dict]] = {}
    for figure in published[0].figures:
        by_region.setdefault(figure["region"], []).append(figure)
    assert {"CN", "11"} <= set(by_region)
    assert any(f["indicator"] == 5 and f["numerator"] > 0 for f in by_region["CN"])  # groups were counted
    cli = Path(sys.executable).parent / "tourlink"
    for region, figures in by_region.items():
        out = subprocess.run(
            [str(cli), "indicators", "--month", "2026-10", "--region", region, "--json"],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        shown = [{k: v for k, v in f.items() if k != "month"} for f in json.loads(out.stdout)]
        assert sorted(shown, key=lambda f: f["indicator"]) == sorted(figures, key=lambda f: f["indicator"]), region
    assert [Path(p).exists() for p in xcom(run, "report")] == [True] * len(xcom(run, "report"))


def test_a_monthly_rerun_with_unchanged_figures_publishes_no_new_version(synced):
    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.conftest import REPO
    from warehouse.snapshots import versions

    dag = DagBag(dag_folder=str(REPO / "dags" / "tourlink_monthly.py")).dags["tourlink_monthly_indicators"]
    first = dag.test(
        logical_date=pendulum.datetime(2026, 11, 1, 3, 0, tz="Asia/Shanghai"), mark_success_pattern="report"
    )
    # As the scheduler makes an Asset-triggered run (or a manual one without conf): no logical date, no
    # data interval, no conf; only run_after, here in November, so the previous month is October.
    again = dag.test(logical_date=None, run_after=pendulum.datetime(2026, 11, 20, 2, 30, tz="UTC"), mark_success_pattern="report")
    assert again.logical_date is None and not again.conf
    assert str(first.state) == str(again.state) == "success"
    assert xcom(first, "close_month")["version"] == xcom(again, "close_month")["version"]
    engine = sa.create_engine(settings.warehouse_url())
    assert len(versions(engine, "2026-10")) == 1
    engine.dispose()


def test_the_monthly_and_steward_dags_run_on_a_fresh_warehouse_without_logical_date(airflow_metadata, tourlink_home):
    """A manual run without conf, or the first Asset-triggered one, may reach a warehouse no load has
    created yet: the DAGs create the schema and publish (empty) figures rather than fail."""
    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.conftest import REPO

    bag = DagBag(dag_folder=str(REPO / "dags"))
    run_after = pendulum.datetime(2026, 12, 1, 1, 0, tz="UTC")
    monthly = bag.dags["tourlink_monthly_indicators"].test(logical_date=None, run_after=run_after)
    assert str(monthly.state) == "success", task_states(monthly)
    assert xcom(monthly, "close_month")["month"] == "2026-11"
    report = bag.dags["tourlink_steward_report"].test(logical_date=None, run_after=run_after)
    assert str(report.state) == "success", task_states(report)
    assert [p.split("/")[-3] for p in xcom(report, "write_reports")] == ["2026-12-01"]
