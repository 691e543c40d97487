"""`tourlink demo --scheduler` (`make demo SCHEDULER=1`): step 2 of the demo, the nightly sync of every
sandbox source, through a real Airflow instead of `dag.test()`.

The deployment is the one tests/dags/test_scheduler_runs.py starts (`devkit.airflow_deployment`):
`airflow scheduler`, `airflow dag-processor` and `airflow api-server` as separate processes,
LocalExecutor, a fresh PostgreSQL metadata database on the server of `TOURLINK_TEST_PG_URL` (default
the local one, `postgresql+psycopg://postgres@127.0.0.1:5432/test`), dropped afterwards. Each nightly
DAG is unpaused in turn, so the scheduler makes its scheduled run (the latest night), and paused again
once that run ended: one writer at a time on the embedded SQLite warehouse.
"""

from __future__ import annotations

import time
from typing import Any

from rich.table import Table

from devkit.airflow_deployment import Deployment, base_environment, deployment_secrets, fresh_database
from tourlink import settings


def _sandbox_sources() -> list[Any]:
    from connectors.registry import load_sources
    from devkit.sandbox import SANDBOXES

    return [s for s in load_sources().values() if s.dialect in SANDBOXES and "sandbox" in s.tags]


def nightly_sync_through_scheduler(console: Any) -> dict[str, float]:
    """Every sandbox source's nightly DAG run by a real scheduler; returns seconds per step."""
    from devkit.sandbox import start_for

    console.rule("[bold]2. 夜间同步 nightly sync through a real Airflow scheduler (LocalExecutor, PostgreSQL metadata)")
    timings: dict[str, float] = {}
    started = time.monotonic()
    sources = _sandbox_sources()
    sandboxes = [start_for(source) for source in sources]  # exports their credentials into this environment
    folder = settings.home() / "airflow-scheduler"
    folder.mkdir(parents=True, exist_ok=True)
    table = Table()
    for col in ("DAG", "dialect", "run", "state", "seconds"):
        table.add_column(col)
    try:
        with fresh_database() as metadata:
            env = base_environment(folder, metadata, "LocalExecutor", deployment_secrets())
            env.update({"TOURLINK_WAREHOUSE_URL": settings.warehouse_url(), "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"})
            deployment = Deployment(folder, env)
            deployment.run("db", "migrate", timeout=900)
            timings["metadata migrated"] = time.monotonic() - started
            try:
                deployment.start("api-server", "api-server")
                deployment.start("dag-processor", "dag-processor")
                # Tasks run under the scheduler (LocalExecutor): its TOURLINK_HOME is the demo's, so
                # landing copies and reports land where the rest of the demo looks.
                deployment.start("scheduler", "scheduler", env={"TOURLINK_HOME": str(settings.home())})
                dag_ids = [f"tourlink_sync__{s.name}" for s in sources]
                deployment.wait_until_up(dag_ids, timeout=300)
                timings["deployment up"] = time.monotonic() - started
                for source, dag_id in zip(sources, dag_ids, strict=True):
                    began = time.monotonic()
                    deployment.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
                    try:
                        runs = deployment.wait_for(dag_id, lambda runs: len(runs) >= 1, timeout=600)
                    finally:
                        deployment.api("PATCH", f"/dags/{dag_id}", json={"is_paused": True})
                    timings[dag_id] = time.monotonic() - began
                    table.add_row(dag_id, source.dialect, runs[0]["run_type"], runs[0]["state"], f"{timings[dag_id]:.0f}")
            finally:
                deployment.stop()
    finally:
        for box in sandboxes:
            box.stop()
    timings["total"] = time.monotonic() - started
    console.print(table)
    console.print(f"through the scheduler: {timings['total']:.0f} s in all (metadata migrated after "
                  f"{timings['metadata migrated']:.0f} s, DAGs parsed after {timings['deployment up']:.0f} s)")
    return timings
