"""API pages reach mapping and validation together (a fixed cost per frame, not per page): the
reader groups a stream's pages into frames, each row naming its page and position."""

from __future__ import annotations

import pytest

from connectors import erp


@pytest.mark.slow
def test_pages_are_mapped_in_large_frames_not_one_frame_per_page(sandbox_signed_json, tourlink_home):
    result = erp.read(sandbox_signed_json.source, {})  # page_size 7: 30 teams and their contracts = 9 pages
    handed = result.frames  # what the flow hands mapping and validation
    assert result.pages >= 8
    assert len(handed) == len(result.streams), "one frame per stream (under rows_per_frame records)"
    assert sum(f.data.height for f in handed) == sum(result.streams.values())


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
