"""What every tourlink DAG shares, written once: start date, the masking log filter, the alert
callback, and the default arguments of a daily maintenance DAG.

Importing this module installs the PII log filter (`tourlink.log_masking`) in the process that
parses the DAG file, which is also the process that runs its tasks (issue 20).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import CronTriggerTimetable

from tourlink.airflow_runs import TIMEZONE
from tourlink.alerts.callbacks import task_failed
from tourlink.log_masking import install_masking_everywhere

install_masking_everywhere()

START = pendulum.datetime(2026, 1, 1, tz=TIMEZONE)


def default_args(*, retries: int, execution_timeout: timedelta, owner: str = "tourlink", **more: Any) -> dict[str, Any]:
    """A task's defaults: owner, retries, a timeout, and the failure alert (`tourlink.alerts`)."""
    return {"owner": owner, "on_failure_callback": task_failed, "retries": retries,
            "execution_timeout": execution_timeout, **more}


def daily(dag_id: str, cron: str, *, tags: list[str], retries: int, execution_timeout: timedelta,
          doc_md: str | None) -> dict[str, Any]:
    """`DAG(**daily(...))`: a maintenance DAG on a Shanghai cron, one run at a time, no catch-up."""
    return {
        "dag_id": dag_id,
        "schedule": CronTriggerTimetable(cron, timezone=TIMEZONE),
        "start_date": START,
        "catchup": False,
        "max_active_runs": 1,
        "tags": tags,
        "default_args": default_args(retries=retries, execution_timeout=execution_timeout),
        "doc_md": doc_md,
    }
