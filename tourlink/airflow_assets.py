"""The Airflow Assets tourlink publishes: one per canonical entity in the warehouse.

Nightly sync DAGs emit them when a run loaded rows of the entity; the monthly indicator DAG is
scheduled on them, so late filings refresh the published figures.
"""

from __future__ import annotations

from airflow.sdk import Asset


def entity_asset(entity: str) -> Asset:
    return Asset(name=f"tourlink.{entity}", uri=f"tourlink://warehouse/{entity}", group="tourlink")
