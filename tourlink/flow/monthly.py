"""The monthly close: the month's indicators published as a new snapshot version, and the
cross-check findings stored (Airflow's monthly DAG runs it through `tourlink.nightly.monthly_close`)."""

from __future__ import annotations

from typing import Any

from tourlink import settings


def close_month(month: str) -> dict[str, Any]:
    """Compute and publish the month's indicators, store the cross-check findings."""
    import sqlalchemy as sa

    from warehouse.cross_checks import cross_checks, store_findings
    from warehouse.snapshots import publish

    engine = sa.create_engine(settings.warehouse_url())
    with engine.begin() as conn:
        snapshot = publish(conn, month)
        findings = cross_checks(conn, month=month)
        store_findings(conn, findings, month=month)
    return {"month": month, "version": snapshot.version, "figures": len(snapshot.figures), "findings": len(findings)}
