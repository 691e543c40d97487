"""API pages reach mapping and validation together (a fixed cost per frame, not per page), and a
quarantined row still names the exact raw page and position it came from."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from connectors import erp
from tourlink import settings


@pytest.mark.slow
def test_pages_are_mapped_in_large_frames_not_one_frame_per_page(sandbox_signed_json, tourlink_home, monkeypatch):
    import tourlink.pipeline

    handed: list = []
    real = tourlink.pipeline.load_frames

    def counting(frames, **kwargs):
        frames = list(frames)
        handed.extend(frames)
        return real(frames, **kwargs)

    monkeypatch.setattr(tourlink.pipeline, "load_frames", counting)
    result = erp.sync(sandbox_signed_json.source)  # page_size 7: 30 teams and their contracts = 9 pages
    assert result.pages >= 8
    assert len(handed) == len(result.streams), "one frame per stream (under rows_per_frame records)"
    assert sum(f.data.height for f in handed) == sum(result.streams.values())


@pytest.mark.slow
def test_a_quarantined_api_row_names_its_own_page_and_position(sandbox_signed_json, tourlink_home):
    box = sandbox_signed_json
    ordered = sorted(box.sandbox.data.groups, key=lambda g: (g["updated_at"], g["group_code"]))
    position = 17  # third page of 7
    ordered[position]["tourist_count"] = 0  # POSITIVE fails: the team row is quarantined
    erp.sync(box.source)
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
    sandbox_signed_json, tourlink_home
):
    """The bodies of a sync are the batch's raw inputs: mapped again, they give exactly what was loaded."""
    import json
    from datetime import UTC, datetime

    import polars as pl

    from devkit.conformance import canonical_rows, warehouse_rows
    from mappings.engine import load_mapping
    from tourlink import schema

    result = erp.sync(sandbox_signed_json.source)
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


def test_the_newest_update_time_of_a_page_is_found_for_text_ordered_and_offset_timestamps():
    from datetime import UTC, datetime

    from connectors.registry import SourceConfig

    source = SourceConfig(name="s", dialect="signed-json")
    signed = erp.SignedJson(source, None)
    page = [{"updateTime": "2026-10-01 09:00:00"}, {"updateTime": "2026-10-11 08:00:00"}, {"updateTime": None}]
    assert signed.latest(page) == datetime(2026, 10, 11, 0, 0, tzinfo=UTC)  # Asia/Shanghai
    oauth = erp.OAuthCursor(source, None)
    mixed = [
        {"modified_at": "2026-10-01T09:00:00+08:00"},
        {"modified_at": "2026-10-01T02:00:00+00:00"},
        {"id": "g", "deleted": True},
    ]
    assert oauth.latest(mixed) == datetime(2026, 10, 1, 2, 0, tzinfo=UTC), "offsets compare as instants, not text"
    assert oauth.latest([{"id": "g", "deleted": True}]) is None
