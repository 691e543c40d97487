"""Real Airflow runs in this test process: this checkout's airflow.cfg and dags/, a migrated SQLite
metadata DB per test process, and registry files that point the DAGs at sandboxes on loopback."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors import registry
from connectors.registry import load_sources
from devkit.sandbox import SandboxSource, start_for

REPO = Path(__file__).resolve().parents[2]
REGISTERED = load_sources(registry.SOURCES_DIR)  # the checked-in registry, read before any test patches it

# Connector and Airflow retries shrunk to milliseconds/seconds: the tests exercise them, never wait on them.
FAST_OPTIONS = {
    "page_size": 7,
    "requests_per_second": None,
    "backoff_seconds": 0.01,
    "backoff_cap_seconds": 0.05,
    "retry_delay_seconds": 0,
}


@pytest.fixture(scope="session")
def airflow_metadata(tmp_path_factory) -> Iterator[Path]:
    """One migrated metadata DB per test process (migrating costs ~30 s on a loaded 2-core box, so it
    is shared); every test still has its own TOURLINK_HOME, warehouse and run ids."""
    folder = tmp_path_factory.mktemp("airflow")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {
            "AIRFLOW_HOME": str(REPO),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{folder / 'airflow.db'}",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(folder / "logs"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }.items():
            mp.setenv(key, value)
        from airflow import settings
        from airflow.utils import db

        # Airflow reads the metadata URL once at import: point its ORM at this process's DB.
        settings.dispose_orm()
        settings.configure_vars()
        settings.configure_orm()
        db.initdb()
        yield folder
        settings.dispose_orm()


class SandboxRegistry:
    """Starts the sandbox of a registry source on a free loopback port, exports its credentials and
    registers it at that port, in a registry folder of the test (so tests never share a port)."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch):
        self.folder, self.monkeypatch, self.started = folder, monkeypatch, []
        folder.mkdir(parents=True, exist_ok=True)
        monkeypatch.setattr(registry, "SOURCES_DIR", folder)

    def start(self, name: str, *, credentials: dict[str, str] | None = None, **options: Any) -> SandboxSource:
        registered = REGISTERED[name]
        sandbox = start_for(registered, port=0, export_env=False, quick=True)
        url = sandbox.url
        self.started.append(sandbox)
        for role, ref in registered.credentials.items():
            value = (credentials or {}).get(role, sandbox.credentials[role])
            self.monkeypatch.setenv(ref.removeprefix("env:"), value)
        spec = yaml.safe_load(registered.path.read_text(encoding="utf-8"))
        spec["base_url"] = url
        spec["options"] = {**(spec.get("options") or {}), **FAST_OPTIONS, **options}
        (self.folder / f"{name}.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        return SandboxSource(sandbox, registry.get_source(name))

    def stop(self) -> None:
        for sandbox in self.started:
            sandbox.stop()


@pytest.fixture
def sandbox_registry(tmp_path, monkeypatch) -> Iterator[SandboxRegistry]:
    sandboxes = SandboxRegistry(tmp_path / "sources", monkeypatch)
    yield sandboxes
    sandboxes.stop()


def nightly_dag(source_name: str):
    """The DAG exactly as Airflow builds it from dags/ (parsed now, against the current registry)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / "tourlink_nightly.py"))
    assert bag.import_errors == {}
    return bag.dags[f"tourlink_sync__{source_name}"]


def task_states(run) -> dict[str, tuple[str, int]]:
    """task id -> (state, try number) of a finished dag.test() run."""
    return {ti.task_id: (str(ti.state), ti.try_number) for ti in run.get_task_instances()}


def xcom(run, task_id: str) -> Any:
    """The return value a task of `run` pushed (read from the metadata DB, as downstream tasks do)."""
    import sqlalchemy as sa
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        value = session.scalar(
            sa.select(XComModel.value).where(
                XComModel.dag_id == run.dag_id,
                XComModel.run_id == run.run_id,
                XComModel.task_id == task_id,
                XComModel.key == "return_value",
            )
        )
    return json.loads(value) if isinstance(value, str | bytes) else value


def night(year: int, month: int, day: int) -> datetime:
    """A logical date inside the night of `day` (Asia/Shanghai), as the scheduler would stamp it."""
    import pendulum

    return pendulum.datetime(year, month, day, 2, 0, tz="Asia/Shanghai")


@dataclasses.dataclass
class S3Storage:
    """An S3-compatible server (moto's server mode) on a free loopback port, with one bucket."""

    endpoint: str
    url: str  # TOURLINK_STORAGE_URL pointing into the bucket
    env: dict[str, str]  # what a process (a worker) needs to reach it


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Storage]:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "tourlink-test",
        "AWS_SECRET_ACCESS_KEY": "tourlink-test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                 aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                 ).create_bucket(Bucket="tourlink")
    yield S3Storage(endpoint=env["AWS_ENDPOINT_URL"], url="s3://tourlink/handover", env=env)
    server.stop()


@pytest.fixture
def s3_storage(s3_server, monkeypatch) -> S3Storage:
    """TOURLINK_STORAGE_URL in this test points at a prefix of its own in the S3 server's bucket."""
    import uuid

    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    url = f"{s3_server.url}/{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("TOURLINK_STORAGE_URL", url)
    return dataclasses.replace(s3_server, url=url)
