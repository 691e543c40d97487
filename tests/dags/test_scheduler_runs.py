"""The DAGs under a real Airflow, as a platform runs it: scheduler, dag-processor and api-server
started apart with PostgreSQL metadata (a fresh database), first with the LocalExecutor, then with the
CeleryExecutor and two workers (Redis broker) that share no local folder and hand over through an
S3-compatible server. The nightly sync of a sandbox ERP (its scheduled run, made when the DAG is
unpaused) leaves the warehouse equal to `tourlink sync` of the same source; its Asset events trigger
the monthly DAG (no logical date, no conf), and a manual monthly run with a month publishes the
figures `tourlink indicators` shows."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from devkit.conformance import differences, warehouse_rows
from tests.dags.conftest import REGISTERED, SandboxRegistry
from tests.dags.deployment import (
    BIN,
    Deployment,
    base_environment,
    deployment_secrets,
    free_redis_db,
    fresh_database,
    fresh_schema,
)

pytestmark = pytest.mark.slow

SOURCE = "sandbox_signed_json"
NIGHTLY, MONTHLY = f"tourlink_sync__{SOURCE}", "tourlink_monthly_indicators"
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def migrated_metadata(tmp_path_factory) -> Iterator[str]:
    """A fresh PostgreSQL metadata database migrated once (`airflow db migrate`); each deployment
    below gets a copy of it."""
    folder = tmp_path_factory.mktemp("migrate")
    with fresh_database() as name:
        Deployment(folder, base_environment(folder, name, "LocalExecutor", deployment_secrets())).run("db", "migrate")
        yield name


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[SandboxRegistry]:
    """The sandbox ERP on loopback, registered in a registry folder of its own (TOURLINK_SOURCES)."""
    folder = tmp_path_factory.mktemp("registry")
    with pytest.MonkeyPatch.context() as mp:
        sandboxes = SandboxRegistry(folder / "sources", mp)
        sandboxes.start(SOURCE)
        try:
            yield sandboxes
        finally:
            sandboxes.stop()


@pytest.fixture(scope="module")
def reference_rows(sandbox, tmp_path_factory) -> dict:
    """What `tourlink sync` of the same source loads (the CLI, no Airflow) into a warehouse of its own."""
    import os

    with fresh_schema() as url:
        home = tmp_path_factory.mktemp("cli-home")
        env = {**os.environ, "TOURLINK_HOME": str(home), "TOURLINK_WAREHOUSE_URL": url}
        subprocess.run([str(BIN / "tourlink"), "sync", SOURCE, "--registry", str(sandbox.folder)], env=env,
                       check=True, capture_output=True, timeout=300)
        return warehouse_rows(url)


def _shared_env(folder: Path, metadata: str, executor: str, warehouse: str, sandbox: SandboxRegistry) -> dict:
    import os

    env = base_environment(folder, metadata, executor, deployment_secrets())
    names = [ref.removeprefix("env:") for ref in REGISTERED[SOURCE].credentials.values()]
    credentials = {name: os.environ[name] for name in names}  # exported by the sandbox fixture
    env.update({**credentials, "TOURLINK_WAREHOUSE_URL": warehouse, "TOURLINK_SOURCES": str(sandbox.folder)})
    return env


def _seconds(run: dict) -> float:
    return (datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["start_date"])).total_seconds()


def _exercise(deployment: Deployment, warehouse: str, reference: dict, sandbox: SandboxRegistry, label: str) -> None:
    """Unpause the nightly and monthly DAGs, check what their runs did."""
    from sqlalchemy import create_engine

    from warehouse.snapshots import versions

    deployment.wait_until_up([NIGHTLY, MONTHLY])
    # The monthly DAG first: a paused DAG does not queue the Asset events the nightly run publishes.
    deployment.api("PATCH", f"/dags/{MONTHLY}", json={"is_paused": False})
    started = time.monotonic()
    deployment.api("PATCH", f"/dags/{NIGHTLY}", json={"is_paused": False})  # makes the latest night's run
    nightly = deployment.wait_for(NIGHTLY, lambda runs: len(runs) >= 1)
    TIMINGS[f"{label} nightly (run start → end)"] = _seconds(nightly[0])
    TIMINGS[f"{label} nightly (unpause → success)"] = time.monotonic() - started
    assert [r["run_type"] for r in nightly] == ["scheduled"] and nightly[0]["state"] == "success"
    loaded = warehouse_rows(warehouse)
    assert differences(loaded, reference) == [] and differences(reference, loaded) == []
    assert differences(loaded, sandbox.started[0].ground_truth()) == []
    assert len(loaded["tour_group"]) == 30

    deployment.api("POST", f"/dags/{MONTHLY}/dagRuns", json={"logical_date": None, "conf": {"month": "2026-10"}})
    monthly = deployment.wait_for(
        MONTHLY, lambda runs: {"asset_triggered", "manual"} <= {r["run_type"] for r in runs}, timeout=300
    )
    by_type = {r["run_type"]: r for r in monthly}
    assert by_type["asset_triggered"]["logical_date"] is None and not by_type["asset_triggered"]["conf"]
    assert all(r["state"] == "success" for r in monthly), monthly
    engine = create_engine(warehouse)
    try:
        october = versions(engine, "2026-10")
        asset_month = datetime.fromisoformat(by_type["asset_triggered"]["run_after"])
        previous = f"{asset_month.year - (asset_month.month == 1)}-{(asset_month.month - 2) % 12 + 1:02d}"
        assert versions(engine, previous), f"the Asset-triggered run published no figures for {previous}"
    finally:
        engine.dispose()
    shown = subprocess.run(
        [str(BIN / "tourlink"), "indicators", "--month", "2026-10", "--region", "CN", "--json"],
        env={**deployment.env, "TOURLINK_HOME": str(deployment.folder / "cli")}, capture_output=True, text=True,
        check=True, timeout=120,
    )
    cn = [f for f in october[-1].figures if f["region"] == "CN"]
    figures = [{k: v for k, v in f.items() if k != "month"} for f in json.loads(shown.stdout)]
    assert sorted(figures, key=lambda f: f["indicator"]) == sorted(cn, key=lambda f: f["indicator"])


def _backfill_two_nights(deployment: Deployment, warehouse: str, reference: dict) -> None:
    """`airflow backfill create` of a date range: one run per night, each syncing its own data
    interval (already loaded: the warehouse stays equal to `tourlink sync`)."""
    deployment.run("backfill", "create", "--dag-id", NIGHTLY, "--from-date", "2026-11-20", "--to-date", "2026-11-21",
                   "--max-active-runs", "1")
    # `backfill create` makes all its runs at once (queued); the scheduler runs them one at a time.
    runs = deployment.wait_for(NIGHTLY, lambda runs: any(r["run_type"] == "backfill" for r in runs))
    backfill = [r for r in runs if r["run_type"] == "backfill"]
    assert 1 <= len(backfill) <= 3 and all(r["state"] == "success" for r in backfill), backfill
    intervals = sorted((datetime.fromisoformat(r["data_interval_start"]), datetime.fromisoformat(r["data_interval_end"]))
                       for r in backfill)
    assert all((end - start).days == 1 for start, end in intervals), intervals  # each run: its own night
    assert all("2026-11-19" <= start.date().isoformat() <= "2026-11-21" for start, _ in intervals), intervals
    assert len({start for start, _ in intervals}) == len(intervals)
    assert differences(warehouse_rows(warehouse), reference) == []


def test_local_executor_with_postgresql_metadata_runs_the_nightly_and_the_monthly_dags(
    migrated_metadata, sandbox, reference_rows, tmp_path
):
    with fresh_database(template=migrated_metadata) as metadata, fresh_schema() as warehouse:
        env = _shared_env(tmp_path, metadata, "LocalExecutor", warehouse, sandbox)
        deployment = Deployment(tmp_path, env)
        try:
            # LocalExecutor: tasks run under the scheduler, so its TOURLINK_HOME holds the default storage.
            for component in ("api-server", "dag-processor", "scheduler"):
                deployment.start(component, component)
            _exercise(deployment, warehouse, reference_rows, sandbox, "LocalExecutor")
            _backfill_two_nights(deployment, warehouse, reference_rows)
        finally:
            deployment.stop()
    print(TIMINGS)


def test_celery_executor_with_two_workers_sharing_no_folder_hands_over_through_object_storage(
    migrated_metadata, sandbox, reference_rows, s3_server, tmp_path
):
    import uuid

    broker_db = free_redis_db()
    queue = f"tourlink-{uuid.uuid4().hex[:8]}"
    with fresh_database(template=migrated_metadata) as metadata, fresh_schema() as warehouse:
        env = _shared_env(tmp_path, metadata, "CeleryExecutor", warehouse, sandbox)
        pg = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        env.update(
            {
                **s3_server.env,
                "TOURLINK_STORAGE_URL": f"{s3_server.url}/{uuid.uuid4().hex[:8]}",
                "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{broker_db}",
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + pg,
                "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
                "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
            }
        )
        deployment = Deployment(tmp_path, env)
        try:
            for component in ("api-server", "dag-processor", "scheduler"):
                deployment.start(component, component)
            for worker in ("worker-a", "worker-b"):
                deployment.start(worker, "celery", "worker", "--concurrency", "2", "--queues", queue,
                                 "--celery-hostname", f"{worker}@%h")
            _exercise(deployment, warehouse, reference_rows, sandbox, "CeleryExecutor")
            ran = {
                worker: sorted(p.parent.name for p in (tmp_path / worker / "logs").rglob("attempt=*.log"))
                for worker in ("worker-a", "worker-b")
            }
            # Every task ran on a worker (none under the scheduler), and no worker kept a hand-over on disk.
            assert sum(len(tasks) for tasks in ran.values()) >= 12, ran
            for worker in ran:
                scratch = tmp_path / worker / "home" / "scratch"
                assert not any(p.is_file() for p in scratch.rglob("*")), list(scratch.rglob("*"))
            TIMINGS["CeleryExecutor tasks per worker"] = {w: len(t) for w, t in ran.items()}  # type: ignore[assignment]
        finally:
            deployment.stop()
            import redis

            redis.Redis.from_url(f"redis://127.0.0.1:6379/{broker_db}").flushdb()
    print(TIMINGS)
