"""The streamed xlsx path bounds the sheet's extent as it reads (no whole-file pre-pass): a cell past
the column bound far below the header is refused naming it; the same sheet within the bound reads."""

from __future__ import annotations

import pytest

from connectors.files import UnreadableFile, read_source
from connectors.files.limits import ReaderLimits
from tests.connectors.hostile import _row, _xlsx

HEADER = _row(1, [("A1", "团号"), ("B1", "姓名")])
DATA = "".join(_row(r, [(f"A{r}", f"G{r}"), (f"B{r}", "王伟")]) for r in range(2, 4000))


def test_a_cell_past_the_column_bound_far_below_the_header_is_refused_naming_it(tmp_path):
    path = _xlsx(tmp_path / "far.xlsx", HEADER + DATA + _row(4000, [("A4000", "G"), ("ALM4000", "x")]))
    frames = read_source(path, known_headers={"团号", "姓名"}, chunk_rows=500)
    with pytest.raises(UnreadableFile) as refused:
        for _ in frames:
            pass
    assert refused.value.file == "far.xlsx"
    assert "单元格ALM4000超出平台上限" in refused.value.reason_zh


def test_the_same_sheet_reads_when_the_bound_allows_the_cell(tmp_path):
    path = _xlsx(tmp_path / "far.xlsx", HEADER + DATA + _row(4000, [("A4000", "G"), ("ALM4000", "x")]))
    frames = read_source(path, known_headers={"团号", "姓名"}, limits=ReaderLimits(max_columns=2000))
    rows = sum(f.data.height for f in frames)
    assert rows == 3999
