"""SPEC section 1: every accepted date/timestamp form; naive timestamps are Asia/Shanghai, stored UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from mappings.dates import parse_date, parse_timestamp


def _dates(values, fmt=None):
    return pl.DataFrame({"v": values}, schema={"v": pl.String}).select(parse_date(pl.col("v"), fmt).alias("v")).to_series().to_list()


def _stamps(values, fmt=None):
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String}).select(parse_timestamp(pl.col("v"), fmt).alias("v"))
    assert frame.schema["v"] == pl.Datetime("us", "UTC")
    return frame.to_series().to_list()


@pytest.mark.parametrize("text", ["2024-05-01", "2024/5/1", "2024/05/01", "20240501", "2024年5月1日", "2024.5.1", "45413", "45413.0"])
def test_every_date_form_of_spec_section_1(text):
    assert _dates([text]) == [date(2024, 5, 1)]


def test_a_timestamp_in_a_date_field_keeps_its_date():
    assert _dates(["2024-05-01 23:30", "2024年5月1日 08:00:00"]) == [date(2024, 5, 1)] * 2


@pytest.mark.parametrize("text", ["2024-13-01", "2024-02-30", "01/05/2024", "五月一日", "2024-5", "abc", "2024", "1990"])
def test_anything_else_is_not_a_date(text):
    assert _dates([text]) == [None]


@pytest.mark.parametrize("text", [
    "2024-05-01 08:30", "2024-05-01 08:30:00", "2024/5/1 8:30", "20240501083000", "2024年5月1日 08:30",
    "2024.5.1 08:30:00", "2024-05-01T08:30:00",
])
def test_timestamps_without_offset_are_shanghai_time(text):
    assert _stamps([text]) == [datetime(2024, 5, 1, 0, 30, tzinfo=UTC)]


@pytest.mark.parametrize("text, expected", [
    ("2024-05-01T08:30:00+08:00", datetime(2024, 5, 1, 0, 30, tzinfo=UTC)),
    ("2024-05-01T00:30:00Z", datetime(2024, 5, 1, 0, 30, tzinfo=UTC)),
    ("2024-05-01T08:30:00.250-05:00", datetime(2024, 5, 1, 13, 30, 0, 250000, tzinfo=UTC)),
    ("2024-05-01 09:30:00+0900", datetime(2024, 5, 1, 0, 30, tzinfo=UTC)),
])
def test_iso_8601_offsets_are_honoured(text, expected):
    assert _stamps([text]) == [expected]


def test_excel_serial_timestamp_is_shanghai_time_of_day():
    assert _stamps(["45413.5"]) == [datetime(2024, 5, 1, 4, 0, tzinfo=UTC)]


def test_a_date_alone_is_shanghai_midnight():
    assert _stamps(["2024-05-01"]) == [datetime(2024, 4, 30, 16, 0, tzinfo=UTC)]


def test_explicit_format_is_used_when_the_mapping_gives_one():
    assert _dates(["01/05/2024"], "%d/%m/%Y") == [date(2024, 5, 1)]
    assert _stamps(["20240501083000"], "%Y%m%d%H%M%S") == [datetime(2024, 5, 1, 0, 30, tzinfo=UTC)]


def test_unparseable_timestamps_and_nulls_are_null():
    assert _stamps(["2024-05-01 25:00", None]) == [None, None]
