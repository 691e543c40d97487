"""Airflow runs against this checkout: its airflow.cfg, its dags/ folder, a per-test SQLite metadata DB."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tourlink.airflow_env import airflow_environment

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def airflow_env(tourlink_home, monkeypatch) -> dict[str, str]:
    """Airflow's variables for this test's TOURLINK_HOME, applied to the process, metadata DB migrated."""
    env = airflow_environment({k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")})
    for key, value in env.items():
        if key.startswith("AIRFLOW") or key == "TOURLINK_HOME":
            monkeypatch.setenv(key, value)
    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], env=env, check=True,
                   capture_output=True, timeout=300)
    return env
