"""The Airflow environment: PostgreSQL metadata through psycopg for both engines, the embedded
default under TOURLINK_HOME, and a new deployment's shared secrets written owner-only, never twice."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tourlink.airflow_env import airflow_environment, metadata_urls, new_deployment_secrets, write_secrets_file

CLI = Path(sys.executable).parent / "tourlink"


@pytest.mark.parametrize("scheme", ["postgresql+psycopg2", "postgresql", "postgres", "postgresql+asyncpg", "postgresql+psycopg"])
def test_a_postgresql_metadata_url_of_any_driver_uses_psycopg_for_the_sync_and_the_async_engine(scheme):
    urls = metadata_urls(f"{scheme}://airflow:pw@db:5432/airflow")
    assert urls == {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg://airflow:pw@db:5432/airflow",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": "postgresql+psycopg://airflow:pw@db:5432/airflow",
    }


def test_the_embedded_default_keeps_airflows_metadata_and_logs_under_tourlink_home(tmp_path):
    env = airflow_environment({"TOURLINK_HOME": str(tmp_path)})
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path / 'airflow' / 'airflow.db'}"
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC" not in env
    assert env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] == str(tmp_path / "airflow" / "logs")
    assert Path(env["AIRFLOW__CORE__DAGS_FOLDER"], "tourlink_nightly.py").exists()


def test_new_deployment_secrets_are_fresh_each_time_and_the_fernet_key_is_valid():
    from cryptography.fernet import Fernet

    first, second = new_deployment_secrets(), new_deployment_secrets()
    assert set(first) >= {"AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY"}
    assert all(first[k] != second[k] for k in first)
    token = Fernet(first["AIRFLOW__CORE__FERNET_KEY"].encode()).encrypt(b"source secret")
    assert Fernet(first["AIRFLOW__CORE__FERNET_KEY"].encode()).decrypt(token) == b"source secret"


def test_the_secrets_file_is_owner_only_and_never_overwritten(tmp_path):
    path = write_secrets_file(tmp_path / "secrets.env", {"A": "1"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        write_secrets_file(path, {"A": "2"})
    assert path.read_text().endswith("A=1\n")


def test_the_cli_prints_exports_for_eval_and_writes_a_new_deployment_once(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "TOURLINK_HOME": str(tmp_path / "home"), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    shown = subprocess.run([str(CLI), "airflow-env"], env=env, capture_output=True, text=True, check=True, timeout=60)
    exported = dict(line.removeprefix("export ").split("=", 1) for line in shown.stdout.splitlines())
    assert exported["TOURLINK_HOME"] == str(tmp_path / "home")
    assert exported["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("sqlite:///")
    target = tmp_path / "secrets.env"
    subprocess.run([str(CLI), "airflow-env", "--new-deployment", str(target)], env=env, check=True, timeout=60, capture_output=True)
    assert "AIRFLOW__CORE__FERNET_KEY=" in target.read_text()
    again = subprocess.run([str(CLI), "airflow-env", "--new-deployment", str(target)], env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "not overwritten" in again.stderr
    assert "FERNET" not in again.stderr + again.stdout
