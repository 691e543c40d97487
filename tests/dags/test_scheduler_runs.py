"""The DAGs under a real Airflow, as a platform runs it: scheduler, dag-processor and api-server
started apart with PostgreSQL metadata (a fresh database), first with the LocalExecutor, then with the
CeleryExecutor and two workers (Redis broker) that share no local folder and hand over through an
S3-compatible server. The nightly sync of a sandbox ERP (its scheduled run, made when the DAG is
unpaused) leaves the warehouse equal to `tourlink sync` of the same source; its Asset events trigger
the monthly DAG (no logical date, no conf), and a manual monthly run with a month publishes the
figures `tourlink indicators` shows. Alongside: the source's credentials come from a secrets backend
(a connections file), and every sync task's OpenLineage events reach an HTTP receiver on loopback."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from devkit.airflow_deployment import (
    BIN,
    PG_SERVER,
    Deployment,
    base_environment,
    connections_backend,
    deployment_secrets,
    free_redis_db,
    fresh_database,
    fresh_schema,
    lineage_transport,
)
from devkit.conformance import differences, warehouse_rows
from tests.alerts.receivers import webhook
from tests.dags.conftest import REGISTERED, SandboxRegistry

pytestmark = pytest.mark.slow

SOURCE = "sandbox_signed_json"
NIGHTLY, MONTHLY = f"tourlink_sync__{SOURCE}", "tourlink_monthly_indicators"
LOADS = ("tour_group", "group_member", "group_staff", "e_contract", "contract_tourist")
# The source's credentials as a deployment keeps them: in an Airflow connection, served by a secrets backend.
CONNECTION = {"app_id": f"airflow:{SOURCE}_erp.login", "sign_key": f"airflow:{SOURCE}_erp.password"}
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


def _shared_env(folder: Path, metadata: str, executor: str, warehouse: str, sandbox: SandboxRegistry,
                lineage_url: str) -> dict:
    """The deployment's settings; its registry names the source's credentials `airflow:` connections,
    which only the secrets backend's file holds (not the environment)."""
    import os

    env = base_environment(folder, metadata, executor, deployment_secrets())
    values = {role: os.environ[ref.removeprefix("env:")] for role, ref in REGISTERED[SOURCE].credentials.items()}
    for ref in REGISTERED[SOURCE].credentials.values():
        env.pop(ref.removeprefix("env:"), None)  # exported by the sandbox fixture, for `tourlink sync` only
    spec = yaml.safe_load((sandbox.folder / f"{SOURCE}.yaml").read_text(encoding="utf-8"))
    spec["credentials"] = CONNECTION
    registry = folder / "registry"
    registry.mkdir()
    (registry / f"{SOURCE}.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    env.update(connections_backend(folder, {f"{SOURCE}_erp": {"conn_type": "http", "login": values["app_id"],
                                                                "password": values["sign_key"]}}))
    env.update(lineage_transport(lineage_url))
    env.update({"TOURLINK_WAREHOUSE_URL": warehouse, "TOURLINK_SOURCES": str(registry)})
    return env


def _assert_lineage(events: list[dict], warehouse: str, sandbox: SandboxRegistry) -> None:
    """Each sync step's START and COMPLETE event names the source as input and the warehouse tables
    it loads as outputs (OpenLineage naming: postgres://host:port, database.schema.table)."""
    schema = re.search(r"search_path(?:=|%3D)(t_[0-9a-f]+)", warehouse).group(1)
    database = PG_SERVER.rsplit("/", 1)[1]
    source = re.match(r"\w+://[^/]+", sandbox.started[0].url).group(0)
    expected_outputs = sorted(("postgres://127.0.0.1:5432", f"{database}.{schema}.{e}") for e in LOADS)
    deadline = time.monotonic() + 60
    while True:
        seen = {(e["job"]["name"], e["eventType"]): e for e in list(events) if e.get("job")}
        wanted = {(f"{NIGHTLY}.{step}", kind) for step in ("extract", "validate", "merge") for kind in ("START", "COMPLETE")}
        if wanted <= set(seen) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert wanted <= set(seen), sorted(seen)
    for key in wanted:
        event = seen[key]
        assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [(source, SOURCE)], event["inputs"]
        assert sorted((d["namespace"], d["name"]) for d in event["outputs"]) == expected_outputs, event["outputs"]
        assert event["job"]["namespace"] == "tourlink"
    assert any(e.get("job", {}).get("name") == NIGHTLY and e["eventType"] == "COMPLETE" for e in events)  # the run


def _init(deployment: Deployment, bucket: str | None = None) -> None:
    """What deploy/docker-compose.yml's one-off `init` service does beside `airflow db migrate` (done once
    for all deployments here): `tourlink db upgrade` of the warehouse and, with object storage, the
    bucket, with the same command."""
    subprocess.run([str(BIN / "tourlink"), "db", "upgrade"], env={**deployment.env, "TOURLINK_HOME": str(
        deployment.folder / "init")}, check=True, capture_output=True, timeout=300)
    if bucket:
        subprocess.run([str(BIN / "python"), "-c", f"import s3fs; s3fs.S3FileSystem().makedirs({bucket!r}, exist_ok=True)"],
                       env=deployment.env, check=True, capture_output=True, timeout=120)


def _seconds(run: dict) -> float:
    return (datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["start_date"])).total_seconds()


def _assert_logs_served(deployment: Deployment, runs: list[tuple[str, str]], folders: dict[str, Path]) -> None:
    """Every task of `runs` ((dag id, run id)…) ran on a host of `folders` (hostname -> that host's log
    folder), and for each host one of its task logs, read through the api-server's REST API, is the log
    that host wrote, fetched from that host's log server at `worker_log_server_port` (the api-server's
    own log folder has none)."""
    ran = {
        (dag_id, run_id, t["task_id"]): t["hostname"]
        for dag_id, run_id in runs
        for t in deployment.api("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances")["task_instances"]
        if t["state"] == "success"
    }
    assert ran and set(ran.values()) <= set(folders), (ran, folders)
    for host, folder in folders.items():
        dag_id, run_id, task_id = next((key for key, h in sorted(ran.items()) if h == host), (None, None, None))
        assert task_id, f"no task ran on {host}: {ran}"
        written = next(p for p in folder.rglob(f"task_id={task_id}/attempt=1.log")
                       if f"dag_id={dag_id}/run_id={run_id}/" in str(p))
        own_lines = [json.loads(line).get("event") for line in written.read_text(encoding="utf-8").splitlines() if line]
        served = [m.get("event") for m in deployment.task_log(dag_id, run_id, task_id)]
        assert f"http://{host}:{deployment.log_port}/log/{written.relative_to(folder)}" in served, served[:5]
        assert own_lines and all(line in served for line in own_lines), (own_lines, served)
        assert not list((deployment.folder / "api-server" / "logs").rglob("attempt=*.log"))


def _exercise(deployment: Deployment, warehouse: str, reference: dict, sandbox: SandboxRegistry, label: str,
              lineage: list[dict], log_folders: dict[str, Path] | None = None) -> None:
    """Unpause the nightly and monthly DAGs, check what their runs did; `log_folders`: the hosts that run
    tasks and their log folders (default: the scheduler, whatever name the machine has)."""
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
    _assert_lineage(lineage, warehouse, sandbox)

    deployment.api("POST", f"/dags/{MONTHLY}/dagRuns", json={"logical_date": None, "conf": {"month": "2026-10"}})
    monthly = deployment.wait_for(
        MONTHLY, lambda runs: {"asset_triggered", "manual"} <= {r["run_type"] for r in runs}, timeout=300
    )
    by_type = {r["run_type"]: r for r in monthly}
    assert by_type["asset_triggered"]["logical_date"] is None and not by_type["asset_triggered"]["conf"]
    assert all(r["state"] == "success" for r in monthly), monthly
    ran = [(NIGHTLY, nightly[0]["dag_run_id"])] + [(MONTHLY, r["dag_run_id"]) for r in monthly]
    if log_folders is None:  # LocalExecutor: tasks run under the scheduler, which serves their logs
        path = f"/dags/{NIGHTLY}/dagRuns/{quote(nightly[0]['dag_run_id'], safe='')}/taskInstances"
        hosts = {t["hostname"] for t in deployment.api("GET", path)["task_instances"] if t["state"] == "success"}
        log_folders = {host: deployment.folder / "scheduler" / "logs" for host in hosts}
    _assert_logs_served(deployment, ran, log_folders)
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
    with fresh_database(template=migrated_metadata) as metadata, fresh_schema() as warehouse, webhook() as (
        receiver, lineage
    ):
        env = _shared_env(tmp_path, metadata, "LocalExecutor", warehouse, sandbox, receiver.removesuffix("/alerts"))
        deployment = Deployment(tmp_path, env)
        _init(deployment)
        try:
            # LocalExecutor: tasks run under the scheduler, so its TOURLINK_HOME holds the default storage.
            for component in ("api-server", "dag-processor", "scheduler"):
                deployment.start(component, component)
            _exercise(deployment, warehouse, reference_rows, sandbox, "LocalExecutor", lineage)
            _backfill_two_nights(deployment, warehouse, reference_rows)
        finally:
            deployment.stop()
    print(TIMINGS)


def test_celery_executor_with_two_workers_sharing_no_folder_hands_over_through_object_storage(
    migrated_metadata, sandbox, reference_rows, s3_server, tmp_path
):
    import uuid

    broker_db = free_redis_db()
    queue = bucket = f"tourlink-{uuid.uuid4().hex[:8]}"
    with fresh_database(template=migrated_metadata) as metadata, fresh_schema() as warehouse, webhook() as (
        receiver, lineage
    ):
        env = _shared_env(tmp_path, metadata, "CeleryExecutor", warehouse, sandbox, receiver.removesuffix("/alerts"))
        pg = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        env.update(
            {
                **s3_server.env,
                "TOURLINK_STORAGE_URL": f"s3://{bucket}/runs-and-landing",  # a bucket `_init` creates
                "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{broker_db}",
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + pg,
                "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
                "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
            }
        )
        deployment = Deployment(tmp_path, env)
        _init(deployment, bucket)
        try:
            for component in ("api-server", "dag-processor", "scheduler"):
                deployment.start(component, component)
            # Two workers as on two hosts: each its own address, log folder and log server.
            workers = {"worker-a": "127.0.0.2", "worker-b": "127.0.0.3"}
            for worker, address in workers.items():
                deployment.start_worker(worker, address, "--concurrency", "2", "--queues", queue)
            _exercise(deployment, warehouse, reference_rows, sandbox, "CeleryExecutor", lineage,
                      {address: tmp_path / worker / "logs" for worker, address in workers.items()})
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
