"""API pages reach mapping and validation together (a fixed cost per frame, not per page): the
reader groups a stream's pages into frames, each row naming its page and position."""

from __future__ import annotations

import polars as pl
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


PAGES = [
    ("teams-page-0001.json", [{"no": "T1", "amount": 1, "port": None, "tourists": []},
                              {"no": "T2", "amount": 2, "port": None, "tourists": []}]),
    ("teams-page-0002.json", [{"no": "T1", "amount": 2.5, "port": "北京", "tourists": [{"no": 1, "name": "张三"}]},
                              {"no": "T3", "amount": 3, "port": "上海", "tourists": [], "extra": "新字段"}]),
]  # fmt: skip


def test_a_stream_s_frame_put_together_from_its_pages_frames_is_the_frame_its_records_make():
    """Each page's frame is made as the page arrives (`StreamRead.frames`); the stream's frame puts
    them together: T1 repeated on page 2 kept once (its last copy), types widened across pages
    (an integer page and a decimal one, a null column and a text one, an empty list and a list of
    structs, a field only one page has) exactly as one frame built from every record has them."""
    from connectors.erp.pages import distinct_pages, pages_frame, records_frame

    pages = distinct_pages(PAGES, key=lambda r: r["no"])
    built = {name: records_frame(records) for name, records in PAGES}
    together = pages_frame(pages, ("tourists",), built)
    from_records = pages_frame(pages, ("tourists",))
    assert together.data.schema == from_records.data.schema
    assert together.data.equals(from_records.data)
    assert together.data["no"].to_list() == ["T2", "T1", "T3"] and together.data["__row"].to_list() == [2, 1, 2]


def test_pages_whose_frames_cannot_be_put_together_are_made_from_their_records():
    from connectors.erp.pages import pages_frame, records_frame

    pages = [("p1", [{"a": "x"}], [1]), ("p2", [{"a": 1}], [1])]
    built = {name: records_frame(records) for name, records, _ in pages}
    assert pages_frame(pages, (), {"p1": built["p1"]}).data.equals(pages_frame(pages, ()).data), "a page without a frame"
    odd = [("p1", [{"a": "x"}], [1]), ("p2", [{"a": {"b": 1}}], [1])]  # text on one page, an object on the next
    built = {name: records_frame(records) for name, records, _ in odd}
    with pytest.raises(pl.exceptions.PolarsError):  # as from the records alone: never the object as text
        pages_frame(odd, (), built)
