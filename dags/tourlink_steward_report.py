"""The stewards' morning report: yesterday's validation failures, one report per region.

Runs daily at 07:00 Asia/Shanghai, after the nightly syncs; writes HTML + xlsx per province into
`$TOURLINK_HOME/reports/<date>/<region>/` (统一平台，分级管理: each region sees only its own rows).
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, get_current_context, task

from tourlink import airflow_dags, airflow_runs, nightly

with DAG(**airflow_dags.daily("tourlink_steward_report", "0 7 * * *", tags=["tourlink", "stewards"], retries=1,
                              execution_timeout=timedelta(minutes=20), doc_md=__doc__)) as dag:

    @task
    def write_reports() -> list[str]:
        return nightly.steward_reports(airflow_runs.report_day(get_current_context()))

    write_reports()
