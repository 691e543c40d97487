"""`tourlink demo --scheduler` (`make demo SCHEDULER=1`): step 2 of the demo, the nightly sync of every
sandbox source, through a real Airflow instead of `dag.test()`.

The deployment is the one tests/dags/test_scheduler_runs.py starts (`devkit.airflow_deployment`):
`airflow scheduler`, `airflow dag-processor` and `airflow api-server` as separate processes,
LocalExecutor, a fresh PostgreSQL metadata database on the server of `TOURLINK_TEST_PG_URL` (default
the local one, `postgresql+psycopg://postgres@127.0.0.1:5432/test`), dropped afterwards. Each nightly
DAG is unpaused at once, so the scheduler makes their scheduled runs (the latest night) side by side,
and paused again once they ended. At load 7–9 on 2 cores the six took 87 s side by side against 181 s
one after another (README, "make demo SCHEDULER=1"); the table shows each run's own seconds.
"""

from __future__ import annotations

import time
from datetime import datetime
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
    for col in ("DAG", "dialect", "run", "state", "run seconds"):
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
                # All unpaused at once, as a deployment runs its nightlies: the scheduler runs them side by
                # side (LocalExecutor parallelism); the SQLite warehouse takes one writer at a time
                # (BEGIN IMMEDIATE, busy timeout: warehouse/engine.py), the others wait their turn.
                began = time.monotonic()
                try:
                    for dag_id in dag_ids:
                        deployment.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
                    done = {dag_id: deployment.wait_for(dag_id, lambda runs: len(runs) >= 1, timeout=600)[0]
                            for dag_id in dag_ids}
                finally:
                    for dag_id in dag_ids:
                        deployment.api("PATCH", f"/dags/{dag_id}", json={"is_paused": True})
                timings["nightlies"] = time.monotonic() - began
                for source, dag_id in zip(sources, dag_ids, strict=True):
                    run = done[dag_id]
                    timings[dag_id] = (datetime.fromisoformat(run["end_date"])
                                       - datetime.fromisoformat(run["start_date"])).total_seconds()
                    table.add_row(dag_id, source.dialect, run["run_type"], run["state"], f"{timings[dag_id]:.0f}")
            finally:
                deployment.stop()
    finally:
        for box in sandboxes:
            box.stop()
    timings["total"] = time.monotonic() - started
    console.print(table)
    console.print(f"through the scheduler: {timings['total']:.0f} s in all (metadata migrated after "
                  f"{timings['metadata migrated']:.0f} s, DAGs parsed after {timings['deployment up']:.0f} s, "
                  f"the {len(sources)} nightlies side by side in {timings['nightlies']:.0f} s)")
    return timings
