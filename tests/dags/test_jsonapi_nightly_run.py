"""Issue 8's done-when: the walkthrough's fourth dialect (JSON:API, `rest`) syncs in the demo, i.e.
through its generated nightly Airflow DAG (`make demo` runs one DAG per sandbox source), with the
warehouse then equal to the sandbox, and a second run of the night loads nothing."""

from __future__ import annotations

import pytest

from devkit.conformance import differences, warehouse_rows
from tests.dags.conftest import SandboxRegistry, airflow_metadata, night, nightly_dag, task_states, xcom  # noqa: F401
from tourlink import settings


@pytest.mark.slow
@pytest.mark.usefixtures("airflow_metadata")
def test_the_jsonapi_vendor_syncs_through_its_nightly_dag_like_the_demo_runs_it(tourlink_home, tmp_path, monkeypatch):
    sandboxes = SandboxRegistry(tmp_path / "sources", monkeypatch)
    try:
        box = sandboxes.start("sandbox_jsonapi")
        dag = nightly_dag("sandbox_jsonapi")
        run = dag.test(logical_date=night(2026, 11, 22))
        assert str(run.state) == "success", task_states(run)
        merged = xcom(run, "merge")["entities"]
        assert merged["tour_group"]["loaded"] == 30 and all(c["quarantined"] == 0 for c in merged.values())
        assert differences(warehouse_rows(settings.warehouse_url()), box.sandbox.ground_truth()) == []
        again = dag.test(logical_date=night(2026, 11, 22))
        assert str(again.state) == "success"
        assert all(c["loaded"] == 0 for c in xcom(again, "merge")["entities"].values())
    finally:
        sandboxes.stop()
