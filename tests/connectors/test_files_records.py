"""Reading record files (JSON Lines, Parquet): native types kept, 1-based record numbers."""

from __future__ import annotations

import json

import polars as pl
import pytest

from connectors.files import UnreadableFile, read_source
from tourlink.frames import ROW

RECORDS = [
    {
        "teamNo": "T1",
        "personCount": 2,
        "amount": 1999.5,
        "tourists": [{"no": 1, "name": "张三"}, {"no": 2, "name": "李四"}],
    },
    {"teamNo": "T2", "personCount": 1, "amount": None, "tourists": [{"no": 1, "name": "王五"}]},
    {"teamNo": "T3", "personCount": 0, "amount": 10.0, "tourists": []},
]


def test_json_lines_keep_nested_records_and_number_them(tmp_path):
    path = tmp_path / "teams.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS), encoding="utf-8")
    frames = list(read_source(path, chunk_rows=2))
    assert [f.data.height for f in frames] == [2, 1]
    data = pl.concat([f.data for f in frames], how="diagonal_relaxed")
    assert data[ROW].to_list() == [1, 2, 3]
    assert data.drop(ROW).to_dicts() == RECORDS
    assert data.schema["personCount"] == pl.Int64
    assert isinstance(data.schema["tourists"], pl.List)


def test_a_json_line_that_is_not_json_is_unreadable_naming_the_line(tmp_path):
    path = tmp_path / "bad.ndjson"
    path.write_text('{"a": 1}\n{"a": 2\n', encoding="utf-8")
    with pytest.raises(UnreadableFile) as caught:
        list(read_source(path))
    assert caught.value.file == "bad.ndjson"
    assert caught.value.reason_zh == "第2行不是合法的JSON"


def test_parquet_round_trips_in_chunks(tmp_path):
    path = tmp_path / "teams.parquet"
    original = pl.DataFrame(RECORDS)
    original.write_parquet(path, row_group_size=2)
    frames = list(read_source(path, chunk_rows=2))
    assert [f.data.height for f in frames] == [2, 1]
    data = pl.concat([f.data for f in frames])
    assert data[ROW].to_list() == [1, 2, 3]
    assert data.drop(ROW).equals(original)


def test_a_corrupt_parquet_file_is_unreadable(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(UnreadableFile, match="broken.parquet"):
        read_source(path)
