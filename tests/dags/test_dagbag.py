"""The dags/ folder: every registry source has its nightly DAG, and nothing fails to import."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from connectors.registry import load_sources
from tourlink import nightly
from tourlink.airflow_env import airflow_environment

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def dagbag(tourlink_home, monkeypatch):
    for key, value in airflow_environment({}).items():
        monkeypatch.setenv(key, value)
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=str(REPO / "dags"))
    bag.parse_seconds = time.perf_counter() - started
    return bag


def test_the_dags_folder_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}


def test_every_registered_source_has_one_nightly_dag(dagbag):
    sources = load_sources()
    nightly_ids = {d for d in dagbag.dag_ids if d.startswith("tourlink_sync__")}
    assert nightly_ids == {f"tourlink_sync__{name}" for name in sources}


def test_a_new_registry_file_adds_a_dag_without_python_edits(dagbag, tmp_path, monkeypatch):
    import shutil

    from connectors import registry

    sources = tmp_path / "sources"
    shutil.copytree(registry.SOURCES_DIR, sources)
    template = next(sources.glob("*.yaml")).read_text(encoding="utf-8")
    name = next(sources.glob("*.yaml")).stem
    (sources / "new_vendor.yaml").write_text(template.replace(f"name: {name}", "name: new_vendor"), encoding="utf-8")
    monkeypatch.setattr(registry, "SOURCES_DIR", sources)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert "tourlink_sync__new_vendor" in bag.dag_ids
    syncs = [d for d in dagbag.dag_ids if d.startswith("tourlink_sync__")]
    assert len([d for d in bag.dag_ids if d.startswith("tourlink_sync__")]) == len(syncs) + 1


def test_api_sources_run_extract_validate_merge_then_publish_per_entity(dagbag):
    for name, source in load_sources().items():
        dag = dagbag.dags[f"tourlink_sync__{name}"]
        entities = nightly.source_entities(source)
        publish = {f"publish_{e}" for e in entities}
        assert publish, f"{name} publishes no entity Asset"
        if source.dialect in nightly.FILE_BY_FILE_DIALECTS:
            assert dag.get_task("sync").downstream_task_ids == publish
            continue
        assert dag.get_task("extract").downstream_task_ids == {"validate"}
        assert dag.get_task("validate").downstream_task_ids == {"merge"}
        assert dag.get_task("merge").downstream_task_ids == publish
        for task_id in publish:
            outlets = dag.get_task(task_id).outlets
            assert [o.uri for o in outlets] == [f"tourlink://warehouse/{task_id.removeprefix('publish_')}"]


def test_nightly_dags_run_one_at_a_time_with_backoff_and_timeouts(dagbag):
    for dag_id in dagbag.dag_ids:
        dag = dagbag.dags[dag_id]
        assert dag.max_active_runs == 1
        assert dag.doc_md and "Failures" in dag.doc_md or "failure" in (dag.doc_md or "").lower()
        for task in dag.tasks:
            assert task.execution_timeout is not None, f"{dag_id}.{task.task_id} has no timeout"
        if dag_id.startswith("tourlink_sync__"):
            extract = dag.tasks[0]
            assert extract.retries >= 1 and extract.retry_exponential_backoff


def test_owners_and_tags_come_from_the_registry(dagbag):
    for name, source in load_sources().items():
        dag = dagbag.dags[f"tourlink_sync__{name}"]
        assert set(source.tags) <= set(dag.tags)
        assert source.dialect in dag.tags
        assert {t.owner for t in dag.tasks} == {source.owner or "tourlink"}


def test_the_folder_parses_in_well_under_a_second_per_dag(dagbag):
    per_file = {stat.file: stat.duration.total_seconds() / max(stat.dag_num, 1) for stat in dagbag.dagbag_stats}
    print("parse seconds per DAG:", per_file, "total", round(dagbag.parse_seconds, 3))
    assert all(seconds < 0.5 for seconds in per_file.values()), per_file


def test_monthly_dag_is_scheduled_monthly_and_on_entity_assets(dagbag):
    dag = dagbag.dags["tourlink_monthly_indicators"]
    assert [t.task_id for t in dag.topological_sort()] == ["close_month", "report"]
    summary = repr(dag.timetable.timetable)
    assert "0 3 1 * *" in summary
    assert "tourlink://warehouse/tour_group" in repr(dag.timetable.asset_condition)


def test_every_entity_a_nightly_dag_publishes_triggers_the_monthly_close(dagbag):
    published = {
        outlet.uri
        for dag_id, dag in dagbag.dags.items()
        if dag_id.startswith("tourlink_sync__")
        for task in dag.tasks
        for outlet in task.outlets
        if hasattr(outlet, "uri")  # an Asset (OpenLineage datasets have a namespace and name instead)
    }
    condition = repr(dagbag.dags["tourlink_monthly_indicators"].timetable.asset_condition)
    assert published and {uri for uri in published if uri not in condition} == set()


def test_no_io_at_parse_time_beyond_yaml(dagbag, monkeypatch):
    # Parsing must not open the warehouse: point it at an unusable URL and parse again.
    monkeypatch.setenv("TOURLINK_WAREHOUSE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    from airflow.dag_processing.dagbag import DagBag

    assert DagBag(dag_folder=str(REPO / "dags")).import_errors == {}
    assert os.environ["TOURLINK_WAREHOUSE_URL"].endswith("/none")
