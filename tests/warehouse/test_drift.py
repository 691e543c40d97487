"""The drift tables: a stream's last sightings come back newest first, old sightings are pruned, findings stay."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from warehouse import drift
from warehouse.tables import drift_finding, source_field


def test_last_sightings_are_newest_first_per_stream_and_only_the_last_ones_are_kept(warehouse):
    start = datetime(2026, 3, 1)
    for n in range(drift.KEEP + 2):
        drift.record_sighting(
            warehouse.engine, sighting=f"s{n:02d}", source="erp", at=start + timedelta(hours=n),
            fields={"teams": {"teamNo": "text", f"f{n}": "number"}, "contracts": {"contractNo": "text"}},
            findings=[{"stream": "teams", "kind": "added", "field": f"f{n}", "renamed_to": None, "fills": None, "alerted": None}],
        )
    last = drift.last_sightings(warehouse.engine, "erp", "teams", 3)
    assert last == [{"teamNo": "text", f"f{n}": "number"} for n in (drift.KEEP + 1, drift.KEEP, drift.KEEP - 1)]
    assert drift.last_sightings(warehouse.engine, "other", "teams", 3) == []
    with warehouse.engine.connect() as conn:
        kept = conn.execute(sa.select(sa.func.count(sa.distinct(source_field.c.sighting))).where(source_field.c.stream == "teams")).scalar()
        found = conn.execute(sa.select(sa.func.count()).select_from(drift_finding)).scalar()
    assert kept == drift.KEEP and found == drift.KEEP + 2
    assert [f["field"] for f in drift.findings(warehouse.engine, ["erp"])][:2] == [f"f{drift.KEEP + 1}", f"f{drift.KEEP}"]
