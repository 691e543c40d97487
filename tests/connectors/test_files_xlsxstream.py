"""The streamed xlsx cells (`xlsxstream`): cell values become the text calamine renders (numbers
with their numeric flag, whole numbers written plainly kept, date styles)."""

from __future__ import annotations

from tests.connectors.test_files_xlsxbook import PLAIN, texts, workbook

NUMBERS = ["30", "0", "007", "1.50", "-5", "1E3", "123456789012345", "1234567890123456", "110101198701010011", " 42 "]


def test_numbers_are_rendered_as_calamine_renders_them_whole_numbers_written_plainly_kept(tmp_path):
    row = "".join(f'<c r="{chr(65 + k)}1"><v>{v}</v></c>' for k, v in enumerate(NUMBERS))
    assert texts(workbook(tmp_path, PLAIN, row)) == [
        "30", "0", "7", "1.5", "-5", "1000", "123456789012345", "1234567890123456.0", "1.1010119870101002e+17", "42",
    ]


def test_a_date_styled_number_is_a_date_and_a_plain_one_stays_a_number(tmp_path):
    styles = '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs>'
    row = '<c r="A1" s="1"><v>46296</v></c><c r="B1" s="0"><v>46296</v></c><c r="C1" s="1"><v>46296.5</v></c>'
    assert texts(workbook(tmp_path, PLAIN, row, styles)) == ["2026-10-01", "46296", "2026-10-01 12:00:00"]
