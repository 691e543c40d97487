"""Retention of identity numbers at rest: daily, after the nightly syncs and before the morning report.

Landing files whose last group ended (and closed quarantine entries whose raw rows are) more than
`TOURLINK_RETENTION_DAYS` ago lose their identity numbers: encrypted with the key of
`TOURLINK_RETENTION_KEY_FILE`, else redacted (text) or deleted (binary). Warehouse rows, lineage and
quarantine entries stay. Each run is written to the audit log (`tourlink audit --action retention`).

Failures: each landing file is replaced atomically, so a failed run leaves every file either done or
untouched and the next run (or the one retry) finishes the rest; a missing or wrong key file fails
the run with its path in the log.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, task

from tourlink import airflow_dags

with DAG(**airflow_dags.daily("tourlink_retention", "30 5 * * *", tags=["tourlink", "security"], retries=1,
                              execution_timeout=timedelta(hours=2), doc_md=__doc__)) as dag:

    @task
    def retain() -> dict:
        from tourlink.retention.scheduled import scheduled_run

        return scheduled_run(origin="dag:tourlink_retention")

    retain()
