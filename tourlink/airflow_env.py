"""The environment Airflow needs to run tourlink's DAGs from this checkout.

`airflow.cfg` at the repository root holds the static settings; the absolute paths (DAGs folder,
SQLite metadata database, logs) depend on where the checkout and TOURLINK_HOME are, so they are
set here. Used by the demo, the tests and `tourlink airflow-env` (for `eval` in a shell).
"""

from __future__ import annotations

import os
from pathlib import Path

from tourlink import settings

REPO = Path(__file__).resolve().parent.parent


def airflow_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) plus the variables Airflow reads."""
    env = dict(os.environ if base is None else base)
    home = settings.home() / "airflow"
    (home / "logs").mkdir(parents=True, exist_ok=True)
    env.setdefault("AIRFLOW_HOME", str(REPO))
    env.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
    env.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'airflow.db'}")
    env.setdefault("AIRFLOW__LOGGING__BASE_LOG_FOLDER", str(home / "logs"))
    env.setdefault("TOURLINK_HOME", str(settings.home()))
    return env
