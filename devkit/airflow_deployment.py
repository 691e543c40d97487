"""A real Airflow deployment started from this checkout, as deploy/docker-compose.yml starts one:
`airflow scheduler`, `airflow dag-processor`, `airflow api-server` (and `airflow celery worker`s)
as separate processes on ephemeral loopback ports, sharing only the metadata database, the
warehouse, the broker and the storage URL — and the secrets `tourlink airflow-env --new-deployment`
generates. Runs are triggered and watched through the REST API, as an operator would.

Used by tests/dags/test_scheduler_runs.py and `tourlink demo --scheduler`; production never imports
it (the dev kit's import contract)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import sqlalchemy as sa

from tourlink.airflow_env import metadata_urls, new_deployment_secrets

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_SERVER = os.environ.get("TOURLINK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("TOURLINK_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url(name: str) -> str:
    return sa.engine.make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)


@contextmanager
def fresh_database(template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database (a copy of `template`, if given: migrating costs ~30 s), dropped after."""
    name = f"airflow_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield name
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A warehouse URL whose search_path is a new schema of the test PostgreSQL (dropped after)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_SERVER)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    try:
        yield sa.engine.make_url(PG_SERVER).update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(
            hide_password=False
        )
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        engine.dispose()


def free_redis_db() -> int:
    """A Redis database number no one uses now (empty), for this deployment's broker."""
    import redis

    for number in range(15, 0, -1):
        client = redis.Redis.from_url(f"{REDIS}/{number}")
        if client.dbsize() == 0 and client.set("tourlink-test-claim", "1", nx=True, ex=900):
            client.close()
            return number
        client.close()
    raise RuntimeError("no empty Redis database for the broker")


def base_environment(folder: Path, metadata_db: str, executor: str, secrets: dict[str, str]) -> dict[str, str]:
    """What every component of the deployment shares (docs/deployment.md, "Settings")."""
    home = folder / "airflow-home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO / "airflow.cfg", home / "airflow.cfg")  # the checkout's settings, unchanged
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "TOURLINK_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__EXECUTOR": executor,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            **metadata_urls(_database_url(metadata_db).replace("postgresql+psycopg://", "postgresql://", 1)),
            **{k: v for k, v in secrets.items() if k.startswith("AIRFLOW__")},
        }
    )
    return env


class Deployment:
    """The processes of one deployment; `stop()` ends each by its own process group."""

    def __init__(self, folder: Path, env: dict[str, str]):
        self.folder, self.env = folder, env
        self.api_port, self.log_port = free_port(), free_port()
        self.env["AIRFLOW__API__PORT"] = str(self.api_port)
        # One port for the deployment, as on separate hosts: the api-server fetches a finished task's
        # log from http://<the task's hostname>:<this port>/log/… (the worker that ran it).
        self.env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(self.log_port)
        self.env["AIRFLOW__API__BASE_URL"] = f"http://127.0.0.1:{self.api_port}"
        self.env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://127.0.0.1:{self.api_port}/execution/"
        self.processes: dict[str, subprocess.Popen] = {}
        self._token: str | None = None

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
        done = subprocess.run([str(BIN / "airflow"), *args], env={**self.env, **(env or {})}, capture_output=True,
                              text=True, timeout=timeout)
        assert done.returncode == 0, f"airflow {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout

    def start(self, name: str, *args: str, env: dict[str, str] | None = None, program: str = "airflow") -> None:
        """Start `airflow <args>` as component `name`, with a TOURLINK_HOME and log folder of its own."""
        own = self.folder / name
        (own / "logs").mkdir(parents=True, exist_ok=True)
        (own / "home").mkdir(parents=True, exist_ok=True)
        component_env = {
            **self.env,
            "TOURLINK_HOME": str(own / "home"),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(own / "logs"),
            **(env or {}),
        }
        log = open(own / "process.log", "wb")  # noqa: SIM115 (closed when the process is stopped)
        self.processes[name] = subprocess.Popen(
            [str(BIN / program), *args], env=component_env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_worker(self, name: str, address: str, *args: str) -> None:
        """`airflow celery worker <args>` as if on a host of its own, named `address` (a loopback
        address of its own, 127.0.0.2, 127.0.0.3…: all of 127.0.0.0/8 is loopback on Linux). Its
        tasks record `address` as their hostname (`[core] hostname_callable`), and its log server,
        Airflow's own app, listens on `address` at the deployment's `worker_log_server_port`: the
        worker's built-in one binds every interface, so two on one machine could not share the port."""
        named = {"AIRFLOW__CORE__HOSTNAME_CALLABLE": "devkit.airflow_deployment.advertised_hostname",
                 "TOURLINK_WORKER_ADDRESS": address}
        self.start(name, "celery", "worker", "--skip-serve-logs", "--celery-hostname", f"{name}@{address}", *args,
                   env=named)
        self.start(f"{name}-log-server", "-c", f"from devkit.airflow_deployment import serve_worker_logs as s; s({address!r})",
                   env={**named, "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.folder / name / "logs")},
                   program="python")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def logs(self) -> str:
        """The tail of every component's output and every task log (for a failing assertion)."""
        parts = []
        for path in sorted(self.folder.rglob("*.log")):
            parts.append(f"--- {path.relative_to(self.folder)}\n{path.read_text(errors='replace')[-2500:]}")
        return "\n".join(parts)[-30000:]

    # ------------------------------------------------------------------ REST API

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """One REST call; a timeout is retried (a loaded 2-core box can stall the API server for seconds)."""
        headers = kwargs.pop("headers", {})
        for attempt in range(4):
            try:
                if self._token is None:
                    self._token = httpx.get(f"http://127.0.0.1:{self.api_port}/auth/token", timeout=60).json()[
                        "access_token"
                    ]
                answer = httpx.request(method, f"http://127.0.0.1:{self.api_port}/api/v2{path}",
                                       headers={"Authorization": f"Bearer {self._token}", **headers}, timeout=60,
                                       **kwargs)
                answer.raise_for_status()
                return answer.json()
            except httpx.TimeoutException:
                if attempt == 3:
                    raise
        raise AssertionError("unreachable")

    def wait_until_up(self, dag_ids: list[str], timeout: float = 180) -> None:
        """Until the API answers and the dag-processor has parsed every DAG of `dag_ids`."""
        deadline = time.monotonic() + timeout
        while True:
            dead = [n for n, p in self.processes.items() if p.poll() is not None]
            assert not dead, f"{dead} exited\n{self.logs()}"
            try:
                known = {d["dag_id"] for d in self.api("GET", "/dags", params={"limit": 100})["dags"]}
                if set(dag_ids) <= known:
                    return
            except (httpx.HTTPError, KeyError):
                pass
            assert time.monotonic() < deadline, f"DAGs {dag_ids} not parsed in {timeout} s\n{self.logs()}"
            time.sleep(1)

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> list[dict[str, Any]]:
        """A task's log as the api-server serves it (`GET …/taskInstances/{task}/logs/{try}`): the
        api-server's own log folder does not hold it, so it fetches it from the log server of the
        host that ran the task."""
        path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/logs/{try_number}"
        return self.api("GET", path, params={"full_content": True}, headers={"Accept": "application/json"})["content"]

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "run_after"})["dag_runs"]

    def wait_for(self, dag_id: str, done: Any, timeout: float = 240) -> list[dict[str, Any]]:
        """Poll `dag_id`'s runs until `done(runs)` is true and none is still queued or running."""
        deadline = time.monotonic() + timeout
        while True:
            runs = self.runs(dag_id)
            if done(runs) and all(r["state"] in ("success", "failed") for r in runs):
                return runs
            if any(r["state"] == "failed" for r in runs):
                raise AssertionError(f"{dag_id}: a run failed {runs}\n{self.tasks(dag_id, runs)}\n{self.logs()}")
            assert time.monotonic() < deadline, f"{dag_id}: runs not done in {timeout} s: {runs}\n{self.logs()}"
            time.sleep(1)

    def tasks(self, dag_id: str, runs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
        return {
            r["dag_run_id"]: {
                t["task_id"]: f"{t['state']} on {t.get('hostname')}"
                for t in self.api("GET", f"/dags/{dag_id}/dagRuns/{r['dag_run_id']}/taskInstances")["task_instances"]
            }
            for r in runs
        }


def advertised_hostname() -> str:
    """`[core] hostname_callable` of `Deployment.start_worker`'s workers: their own loopback address
    (`TOURLINK_WORKER_ADDRESS`); elsewhere the machine's FQDN, Airflow's default."""
    return os.environ.get("TOURLINK_WORKER_ADDRESS") or socket.getfqdn()


def serve_worker_logs(address: str) -> None:
    """Airflow's worker log server (`airflow.utils.serve_logs`, which `airflow celery worker` forks)
    on `address` alone, at `[logging] worker_log_server_port`: it checks the api-server's requests
    with `[api] secret_key` and serves this worker's `base_log_folder`."""
    import uvicorn
    from airflow.configuration import conf

    uvicorn.run("airflow.utils.serve_logs.log_server:get_app", factory=True, host=address,
                port=conf.getint("logging", "worker_log_server_port"), log_config=None, access_log=False)


def deployment_secrets() -> dict[str, str]:
    """A new deployment's shared secrets, as `tourlink airflow-env --new-deployment` writes them."""
    return new_deployment_secrets()


def connections_backend(folder: Path, connections: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The settings of a secrets backend serving `connections` (conn id -> login/password/extra) from a
    file only the deployment's user reads (Airflow's LocalFilesystemBackend; a vault in production:
    docs/deployment.md, "Source credentials")."""
    import json

    path = folder / "connections.json"
    path.write_text(json.dumps(connections), encoding="utf-8")
    path.chmod(0o600)
    return {
        "AIRFLOW__SECRETS__BACKEND": "airflow.secrets.local_filesystem.LocalFilesystemBackend",
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"connections_file_path": str(path)}),
    }


def lineage_transport(url: str, namespace: str = "tourlink") -> dict[str, str]:
    """The settings that send every task's OpenLineage events to the HTTP receiver at `url`."""
    import json

    return {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "http", "url": url, "endpoint": "api/v1/lineage"}),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": namespace,
    }
