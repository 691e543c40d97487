"""A synced ERP batch (`tourlink.flow.sync`): a quarantined row still names the exact raw page and
position it came from, and the raw pages kept in the landing folder replay to the same warehouse."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from connectors import erp
from tourlink import flow, settings


@pytest.mark.slow
def test_a_quarantined_api_row_names_its_own_page_and_position(sandbox_signed_json, tourlink_home):
    box = sandbox_signed_json
    ordered = sorted(box.sandbox.data.groups, key=lambda g: (g["updated_at"], g["group_code"]))
    position = 17  # third page of 7
    ordered[position]["tourist_count"] = 0  # POSITIVE fails: the team row is quarantined
    flow.sync(box.source)
    engine = sa.create_engine(settings.warehouse_url())
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select file, row, natural_key from quarantine where entity = 'tour_group'")).all()
    engine.dispose()
    assert len(rows) == 1
    file, row, key = rows[0]
    assert file == "teams-page-0003.json", "the raw body's name in batch_file, not a frame of many pages"
    assert row == position - 14 + 1
    assert ordered[position]["group_code"] in key


@pytest.mark.slow
def test_every_raw_page_is_kept_in_the_landing_folder_and_replays_to_the_same_warehouse(
    sandbox_signed_json, tourlink_home, warehouse_url, monkeypatch
):
    """The bodies of a sync are the batch's raw inputs (on PostgreSQL landed while the read goes on,
    recorded once it is whole): mapped again, they give exactly what was loaded."""
    import json
    from datetime import UTC, datetime

    import polars as pl

    from devkit.conformance import canonical_rows, warehouse_rows
    from mappings.engine import load_mapping
    from tourlink import schema

    monkeypatch.setenv("TOURLINK_WAREHOUSE_URL", warehouse_url)
    result = flow.sync(sandbox_signed_json.source)
    engine = sa.create_engine(settings.warehouse_url())
    with engine.connect() as conn:
        kept = conn.execute(
            sa.text("select file, landing_path from batch_file where batch_id = :b order by file"),
            {"b": result.batch_id},
        ).all()
    engine.dispose()
    assert len(kept) == result.pages
    assert {name for name, _ in kept} >= {"teams-page-0001.json", "contracts-page-0001.json"}
    pages = []
    for name, landing_path in kept:
        body = (settings.landing_dir() / landing_path).read_bytes()
        records = erp.check_signed_json(body, name)["data"]["list"]
        pages.append((name, records, list(range(1, len(records) + 1))))
    mapping = load_mapping("signed_json")
    replayed = mapping.apply(
        erp.pages_frame(pages, erp.SignedJson.list_columns), received_at=datetime.now(UTC), source="replay"
    )
    loaded = warehouse_rows(settings.warehouse_url())
    for entity, frame in replayed.items():
        rows = frame.select(schema.entity(entity).field_names).to_dicts()
        assert canonical_rows(entity, rows) == canonical_rows(entity, loaded[entity]), entity
    assert json.loads(result.to_json())["pages"] == result.pages
    assert isinstance(replayed["tour_group"], pl.DataFrame)
