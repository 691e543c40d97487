"""`connectors/files/table.py`: a chunk's blank, notes and trailing totals rows are dropped whatever its
size; the cheap pass runs over slices of the chunk (its joined texts are the largest transient of a read)."""

from __future__ import annotations

import polars as pl

from connectors.files.table import data_rows_only


def test_notes_and_trailing_totals_past_the_first_slice_are_dropped_and_data_kept():
    n = 45_000  # past two slices of the cheap pass
    names = [f"张{i}" for i in range(n)]
    names[21_000] = "注：以上为十月名单"
    frame = pl.DataFrame({"团号": [f"T{i}" if i != 21_000 else None for i in range(n)] + ["合计", None],
                          "姓名": names + ["3人", None]})
    kept = data_rows_only(frame, ["团号", "姓名"])
    assert kept.height == n - 1
    assert "注：以上为十月名单" not in kept["姓名"].to_list() and "合计" not in kept["团号"].to_list()
    assert kept["姓名"][-1] == f"张{n - 1}"


def test_an_empty_chunk_is_returned_as_it_is():
    empty = pl.DataFrame({"团号": pl.Series([], dtype=pl.String)})
    assert data_rows_only(empty, ["团号"]).height == 0
