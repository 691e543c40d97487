"""The retention run as the `tourlink_retention` DAG does it: configured days and key, applied, audited."""

from __future__ import annotations

from typing import Any

from tourlink import settings
from tourlink.audit.log import Event, record
from tourlink.retention.policy import run


def scheduled_run(*, origin: str | None = None) -> dict[str, Any]:
    """Apply the configured retention (`TOURLINK_RETENTION_DAYS`, `TOURLINK_RETENTION_KEY_FILE`) to
    the configured warehouse and landing folder; logged as the `airflow` system actor."""
    from warehouse.load import Warehouse

    engine = Warehouse().engine
    key_file = settings.retention_key_file()
    result = run(engine, settings.landing_dir(), days=settings.retention_days(),
                 key=key_file.read_bytes().strip() if key_file else None, apply=True)
    summary = result.to_json()
    record(engine, Event(actor="airflow", role="system", channel="airflow", origin=origin, action="retention",
                         rows=summary["quarantine_rows"] + len(summary["landing_files"]),
                         detail={k: v for k, v in summary.items() if k != "landing_files"}))
    return summary
