"""`SourceFrame`: the rows a connector read, as the pipeline hands them on."""

from __future__ import annotations

import polars as pl

from tourlink.frames import ROW, SourceFrame


def test_a_slice_keeps_each_cells_numeric_flag_beside_its_row():
    frame = SourceFrame(
        data=pl.DataFrame({"证件号码": ["1", "2", "3", "4"], ROW: [5, 6, 7, 8]}),
        file="团队名单.xlsx",
        sheet="名单",
        numeric_cells={"证件号码": pl.Series("证件号码", [False, True, False, True])},
    )

    rest = frame.slice(1)
    middle = frame.slice(2, 1)

    assert rest.data[ROW].to_list() == [6, 7, 8] and rest.numeric_cells["证件号码"].to_list() == [True, False, True]
    assert middle.data.rows() == [("3", 7)] and middle.numeric_cells["证件号码"].to_list() == [False]
    assert (rest.file, rest.sheet) == ("团队名单.xlsx", "名单")
