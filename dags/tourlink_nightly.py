"""Nightly sync DAGs: one per source registered in connectors/sources/*.yaml.

Adding a registry file adds a DAG; no Python edit. The DAGs only wire tourlink's steps together
(`tourlink.nightly`, which calls `tourlink.flow`): extract → validate (bad rows staged for
quarantine) → merge (one warehouse transaction, state included) → publish one Asset per entity the
run loaded; a drop folder's run is one `sync` step. Which shape a source's run has is the flow's
answer (`NightlyPlan.file_by_file`), not a dialect test here. No I/O at parse time beyond reading
the registry and mapping YAML files.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, CronDataIntervalTimetable, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from tourlink import airflow_dags, airflow_lineage, airflow_runs, nightly
from tourlink.airflow_assets import entity_asset
from tourlink.alerts import callbacks as alerts

DEFAULT_SCHEDULE = "0 2 * * *"


def _doc(source, entities: list[str]) -> str:  # noqa: ANN001 - a tourlink.flow.SourceConfig
    return f"""
### Nightly sync of `{source.name}` ({source.dialect})

- **Source**: `{source.base_url or "see registry options"}`, registry file `connectors/sources/{source.path.name if source.path else source.name + '.yaml'}`, mapping `{source.mapping}`.
- **Loads**: {", ".join(f"`{e}`" for e in entities) or "(see mapping)"} into the tourlink warehouse.
- **Window**: the run's data interval; a backfill of a past night re-syncs that night. A source with no
  watermark yet (first run) loads everything up to the interval's end.
- **Failures**: bad rows go to quarantine (`tourlink quarantine list`, the stewards' daily report of
  region `{source.region or "CN"}`); a run fails without retry on rejected credentials or configuration
  (fix the registry file or the secret), and retries with exponential backoff on transient errors.
- **Owner**: {source.owner or "tourlink"}.
"""


def _window() -> nightly.Window:
    return nightly.Window(*airflow_runs.sync_window(get_current_context()))


def _guarded(step, *args, **kwargs):  # noqa: ANN001, ANN202
    try:
        return step(*args, **kwargs)
    except nightly.ConfigurationError as exc:
        raise AirflowFailException(f"not retrying: {exc}") from None


def build_sync_dag(plan: nightly.NightlyPlan) -> DAG:
    source, entities = plan.source, plan.entities
    default_args = airflow_dags.default_args(
        owner=source.owner or "tourlink",
        retries=3,
        retry_delay=timedelta(seconds=float(source.option("retry_delay_seconds", 60))),
        retry_exponential_backoff=True,
        max_retry_delay=timedelta(minutes=30),
        execution_timeout=timedelta(minutes=float(source.option("execution_timeout_minutes", 60))),
        on_success_callback=alerts.task_succeeded,  # issue 20: failed and empty syncs alert
    )
    # OpenLineage (docs/operations.md, "Lineage"): each step reads the source, writes the tables.
    lineage = {"inlets": [airflow_lineage.source_dataset(source.name, source.base_url, source.dialect)],
               "outlets": airflow_lineage.warehouse_datasets(entities)}
    with DAG(
        dag_id=f"tourlink_sync__{source.name}",
        schedule=CronDataIntervalTimetable(source.schedule or DEFAULT_SCHEDULE, timezone="Asia/Shanghai"),
        start_date=airflow_dags.START,
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=timedelta(hours=3),
        tags=["tourlink", "nightly", source.dialect, *source.tags],
        default_args=default_args,
        doc_md=_doc(source, entities),
    ) as dag:
        if plan.file_by_file:

            @task(task_id="sync", **lineage)
            def sync_files() -> dict:
                return _guarded(nightly.sync_file_by_file, source.name, _window())

            loaded = sync_files()
        else:

            @task(**lineage)
            def extract() -> dict:
                run_id = get_current_context()["run_id"]
                return _guarded(nightly.extract, source.name, run_id, _window())

            @task(**lineage)
            def validate(_: dict) -> dict:
                return nightly.validate(source.name, get_current_context()["run_id"])

            @task(**lineage)
            def merge(_: dict) -> dict:
                return _guarded(nightly.merge, source.name, get_current_context()["run_id"])

            loaded = merge(validate(extract()))

        for entity in entities:

            @task(task_id=f"publish_{entity}", inlets=airflow_lineage.warehouse_datasets([entity]),
                  outlets=[entity_asset(entity)], retries=0)
            def publish(result: dict, entity: str = entity) -> None:
                if not nightly.touched(result, entity):
                    raise AirflowSkipException(f"no {entity} rows loaded in this run")

            publish(loaded)
    return dag


for _plan in nightly.nightly_plans():
    globals()[f"tourlink_sync__{_plan.source.name}"] = build_sync_dag(_plan)
