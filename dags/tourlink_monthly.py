"""The monthly close: the previous month's indicators published, cross-checks stored, report written.

Scheduled on the first day of each month (03:00 Asia/Shanghai) and whenever a nightly sync publishes
an entity Asset, so a late filing produces a new published version of the month's figures (a
recomputation with unchanged figures publishes nothing new).
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, AssetAny, AssetOrTimeSchedule, CronTriggerTimetable, get_current_context, task

from tourlink import airflow_dags, airflow_lineage, airflow_runs, nightly
from tourlink.airflow_assets import entity_asset

ENTITIES = [
    "travel_agency", "licensing_event", "tour_group", "group_member", "group_staff", "e_contract", "contract_tourist",
    "guide", "guide_app_day", "agency_statistics",
]

with DAG(
    dag_id="tourlink_monthly_indicators",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 3 1 * *", timezone="Asia/Shanghai"),
        assets=AssetAny(*(entity_asset(e) for e in ENTITIES)),
    ),
    start_date=airflow_dags.START,
    catchup=False,
    max_active_runs=1,
    tags=["tourlink", "monthly", "indicators"],
    default_args=airflow_dags.default_args(retries=2, retry_delay=timedelta(minutes=5),
                                           execution_timeout=timedelta(minutes=30)),
    params={"month": None},
    doc_md="""
### Monthly indicators (附件2) and cross-checks

Computes indicators 1–10 of the previous month (or `params.month`, `YYYY-MM`) for the nation,
provinces and prefectures, publishes them as a new version when they changed (`tourlink indicators
--month M` shows the same figures), stores the cross-check findings (SPEC section 7) and writes the
stewards' report. Failures: task logs; the figures are never half-published (one transaction).
""",
) as dag:

    # OpenLineage (docs/operations.md, "Lineage"): the close reads the entities, writes figures and findings.
    @task(inlets=airflow_lineage.warehouse_datasets(ENTITIES),
          outlets=airflow_lineage.warehouse_datasets(["indicator_snapshot", "finding"]))
    def close_month() -> dict:
        return nightly.monthly_close(airflow_runs.close_month(get_current_context()))

    @task
    def report(_: dict) -> list[str]:
        return nightly.steward_reports()

    report(close_month())
