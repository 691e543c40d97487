"""The monthly close (the month's indicators published as a new snapshot version, the cross-check
findings stored) and the stewards' failure reports; Airflow's monthly and steward DAGs run them
through `tourlink.nightly`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tourlink import settings


def close_month(month: str) -> dict[str, Any]:
    """Compute and publish the month's indicators, store the cross-check findings. The warehouse's
    schema is created or upgraded first: a fresh warehouse may see the monthly close before any load."""
    from warehouse.cross_checks import cross_checks, store_findings
    from warehouse.load import Warehouse
    from warehouse.snapshots import publish

    engine = Warehouse().engine
    with engine.begin() as conn:
        snapshot = publish(conn, month)
        findings = cross_checks(conn, month=month)
        store_findings(conn, findings, month=month)
    return {"month": month, "version": snapshot.version, "figures": len(snapshot.figures), "findings": len(findings)}


def write_steward_reports(day: str | None = None) -> list[str]:
    """The failure report for the nation and for each province with failures (quarantined on `day`,
    or every open one), copied to storage every worker reaches (`tourlink.storage.keep_reports`)."""
    from tourlink import storage
    from tourlink.report.failures import regions_with_failures, write_failure_report
    from warehouse.load import Warehouse

    Warehouse()  # creates or upgrades the schema: the report may run before any load
    out = settings.reports_dir() / (day or "open")
    written = [str(write_failure_report(out / "CN", day=day))]
    for region in regions_with_failures(day):
        written.append(str(write_failure_report(out / region, region=region, day=day)))
    storage.keep_reports([str(Path(p).parent) for p in written], settings.reports_dir())
    return written
