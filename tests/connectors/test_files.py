"""Reading the platform's xlsx import templates as agencies really fill them in."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
import python_calamine

from connectors.files import UnreadableFile, normalise_header, read_source
from devkit.demo.spreadsheets import write_template_xlsx
from tourlink.frames import ROW

KNOWN = ["团号", "姓名", "游客姓名", "证件号码", "证件号", "手机号码", "出发日期", "出团日期", "序号"]
HEADERS = ["团号", "序号", "*游客姓名", "证件号码（必填）", "手机号码", "出团日期"]
ID_1 = "210102199001011234"
ID_2 = "21010219900101123X"


def _roster(tmp_path: Path, **options) -> tuple[Path, list[int]]:
    rows = [
        ["T20261001", "1", "张三", ID_1, "13800138000", date(2026, 10, 1)],
        ["T20261001", "2", "ＡＢＣ　李四", ID_2, "13900139000", "2026/10/1"],
        ["T20261001", "3", "王五", ID_2, "13700137000", "2026年10月1日"],
        ["T20261002", "1", "赵六", ID_2, "13600136000", datetime(2026, 10, 2, 8, 30)],
    ]
    path = tmp_path / "团队名单.xlsx"
    sheet_rows = write_template_xlsx(
        path,
        HEADERS,
        rows,
        title="沈阳某某旅行社 团队名单（2026-10）",
        notes="注：每位游客一行，团队信息每行重复填写。",
        total_row=True,
        blank_rows_at=(3,),
        numeric_columns=("证件号码（必填）", "手机号码"),
        **options,
    )
    return path, sheet_rows


def _read_one(path: Path, **options):
    frames = list(read_source(path, known_headers=KNOWN, **options))
    assert len(frames) == 1
    return frames[0]


def test_the_header_row_is_found_below_a_merged_title_and_named_by_its_normalised_text(tmp_path):
    path, _ = _roster(tmp_path)
    frame = _read_one(path)
    assert frame.headers == ["团号", "序号", "游客姓名", "证件号码", "手机号码", "出团日期"]
    assert frame.sheet == "导入模板"
    assert frame.file == "团队名单.xlsx"
    assert all(frame.data.schema[c] == pl.String for c in frame.headers)
    assert frame.data.schema[ROW] == pl.Int64


def test_row_numbers_are_the_sheet_rows_a_steward_sees_and_blank_notes_and_total_rows_are_skipped(tmp_path):
    path, sheet_rows = _roster(tmp_path)
    frame = _read_one(path)
    # title row 1, empty row 2, header row 3, data from row 4; a blank row before the fourth tourist
    assert sheet_rows == [4, 5, 6, 8]
    assert frame.data[ROW].to_list() == sheet_rows
    assert frame.data["游客姓名"].to_list() == ["张三", "ＡＢＣ　李四", "王五", "赵六"]
    cells = [v for row in frame.data.drop(ROW).rows() for v in row if v is not None]
    assert not any(v.startswith("注") or "合计" in v or v.endswith("人") for v in cells)


def test_full_width_text_is_kept_as_typed(tmp_path):
    path, _ = _roster(tmp_path)
    assert _read_one(path).data["游客姓名"][1] == "ＡＢＣ　李四"


def test_date_cells_are_rendered_iso_and_text_dates_are_left_as_typed(tmp_path):
    path, _ = _roster(tmp_path)
    frame = _read_one(path)
    assert frame.data["出团日期"].to_list() == ["2026-10-01", "2026/10/1", "2026年10月1日", "2026-10-02 08:30:00"]
    assert not frame.numeric_cells["出团日期"].any()


def test_an_18_digit_id_stored_as_a_number_is_flagged_and_its_lost_digits_are_not_made_up(tmp_path):
    path, _ = _roster(tmp_path)
    frame = _read_one(path)
    ids = frame.data["证件号码"].to_list()
    # Excel keeps 15-17 significant digits: the float is shown as one, never as made-up digits
    assert ids[0] == "2.101021990010112e+17"
    assert ids[1:] == [ID_2, ID_2, ID_2]  # ending in X: Excel keeps it as text
    assert frame.numeric_cells["证件号码"].to_list() == [True, False, False, False]


def test_a_phone_stored_as_a_number_reads_without_a_decimal_point(tmp_path):
    path, _ = _roster(tmp_path)
    frame = _read_one(path)
    assert frame.data["手机号码"].to_list() == ["13800138000", "13900139000", "13700137000", "13600136000"]
    assert frame.numeric_cells["手机号码"].all()
    assert not frame.numeric_cells["游客姓名"].any()
    assert all(len(flags) == frame.data.height for flags in frame.numeric_cells.values())


def test_group_columns_merged_vertically_are_filled_down_from_the_top_cell(tmp_path):
    path, sheet_rows = _roster(tmp_path, merge_columns=("团号",))
    sheet = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    raw = sheet.to_python(skip_empty_area=False)
    assert raw[sheet_rows[1] - 1][0] == ""  # the file really holds one merged cell, not copies
    frame = _read_one(path)
    assert frame.data["团号"].to_list() == ["T20261001", "T20261001", "T20261001", "T20261002"]


def test_a_merged_range_spanning_two_chunks_is_filled_in_both(tmp_path):
    path = tmp_path / "merged.xlsx"
    rows = [["G1", str(i), f"游客{i}"] for i in range(1, 8)]
    sheet_rows = write_template_xlsx(path, ["团号", "序号", "姓名"], rows, merge_columns=("团号",))
    frames = list(read_source(path, known_headers=KNOWN, chunk_rows=3))
    assert [f.data.height for f in frames] == [3, 3, 1]
    data = pl.concat([f.data for f in frames])
    assert data["团号"].to_list() == ["G1"] * 7
    assert data[ROW].to_list() == sheet_rows


def test_numbers_booleans_and_other_floats_are_rendered_as_text(tmp_path):
    path = tmp_path / "numbers.xlsx"
    rows = [["1", 3, 1.5, True], ["2", 0.1, 2.5e-7, False], ["3", -42.0, 1234567890123456.0, None]]
    write_template_xlsx(path, ["序号", "人数", "金额", "是否"], rows)
    (frame,) = read_source(path)
    assert frame.data["人数"].to_list() == ["3", "0.1", "-42"]
    assert frame.data["金额"].to_list() == ["1.5", "2.5e-07", "1234567890123456.0"]
    assert frame.data["是否"].to_list() == ["true", "false", None]
    assert frame.numeric_cells["人数"].all()
    assert frame.numeric_cells["是否"].to_list() == [False, False, False]


def test_without_known_headers_the_first_row_is_the_header(tmp_path):
    path = tmp_path / "plain.xlsx"
    write_template_xlsx(path, ["code", "name"], [["a", "甲"], ["b", "乙"]])
    (frame,) = read_source(path)
    assert frame.headers == ["code", "name"]
    assert frame.data[ROW].to_list() == [2, 3]


def test_empty_headers_are_dropped_and_repeated_headers_get_a_suffix(tmp_path):
    path = tmp_path / "dupes.xlsx"
    write_template_xlsx(path, ["团号", "", "姓名", "姓名 "], [["T1", "x", "张三", "Zhang San"]])
    frame = _read_one(path)
    assert frame.headers == ["团号", "姓名", "姓名_2"]
    assert frame.data.row(0) == ("T1", "张三", "Zhang San", 2)


def test_surrounding_whitespace_is_kept_and_empty_cells_are_null(tmp_path):
    path = tmp_path / "spaces.xlsx"
    write_template_xlsx(path, ["团号", "姓名", "手机号码"], [[" T1 ", "张三 ", None], ["T2", "李四", ""]])
    frame = _read_one(path)
    assert frame.data.rows() == [(" T1 ", "张三 ", None, 2), ("T2", "李四", None, 3)]


def test_a_template_with_a_header_and_no_rows_yields_one_empty_frame(tmp_path):
    path = tmp_path / "empty-table.xlsx"
    write_template_xlsx(path, ["团号", "姓名"], [], title="团队名单", total_row=True)
    (frame,) = read_source(path, known_headers=KNOWN)
    assert frame.headers == ["团号", "姓名"]
    assert frame.data.height == 0


def test_a_sheet_without_a_matching_header_row_is_unreadable(tmp_path):
    path = tmp_path / "no-header.xlsx"
    write_template_xlsx(path, ["A", "B", "C"], [["1", "2", "3"]], title="随便写的表")
    with pytest.raises(UnreadableFile) as caught:
        read_source(path, known_headers=KNOWN)
    assert caught.value.file == "no-header.xlsx"
    assert caught.value.reason_zh == "无法识别表头：前50行中没有与导入模板匹配的列名"
    assert "no-header.xlsx" in str(caught.value)


def test_a_header_below_row_50_is_not_found(tmp_path):
    path = tmp_path / "deep.xlsx"
    rows = [[f"说明{i}", None] for i in range(55)] + [["团号", "姓名"], ["T1", "张三"]]
    write_template_xlsx(path, ["x", "y"], rows)
    with pytest.raises(UnreadableFile, match="deep.xlsx"):
        read_source(path, known_headers=KNOWN)


def test_a_corrupt_xlsx_is_unreadable(tmp_path):
    path = tmp_path / "broken.xlsx"
    good = tmp_path / "good.xlsx"
    write_template_xlsx(good, ["团号", "姓名"], [["T1", "张三"]])
    path.write_bytes(good.read_bytes()[:400])
    with pytest.raises(UnreadableFile) as caught:
        read_source(path, known_headers=KNOWN)
    assert caught.value.file == "broken.xlsx"
    assert "损坏" in caught.value.reason_zh


def test_an_empty_file_is_unreadable(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(UnreadableFile) as caught:
        read_source(path, known_headers=KNOWN)
    assert (caught.value.file, caught.value.reason_zh) == ("empty.csv", "文件为空")
    assert "empty.csv" in str(caught.value)


def test_an_unknown_extension_is_unreadable(tmp_path):
    path = tmp_path / "名单.docx"
    path.write_bytes(b"PK\x03\x04 not a template")
    with pytest.raises(UnreadableFile) as caught:
        read_source(path, known_headers=KNOWN)
    assert caught.value.file == "名单.docx"
    assert ".docx" in caught.value.reason_zh


@pytest.mark.parametrize(
    ("header", "normalised"),
    [
        ("证件号码", "证件号码"),
        (" 证件 号码\n", "证件号码"),
        ("*证件号码", "证件号码"),
        ("＊证件号码＊", "证件号码"),
        ("证件号码(必填)", "证件号码"),
        ("证件号码（必填）", "证件号码"),
        ("*证件号码（必填）(18位)", "证件号码"),
        ("证件号码【必填】", "证件号码"),
        ("ＡＢＣ１２３", "ABC123"),
        ("(备注)", "(备注)"),  # nothing left to name the column: the note is the name
        ("", ""),
    ],
)
def test_header_normalisation(header, normalised):
    assert normalise_header(header) == normalised


def test_a_notes_box_merged_over_several_rows_and_columns_is_not_data(tmp_path):
    import xlsxwriter

    path = tmp_path / "notes-box.xlsx"
    with xlsxwriter.Workbook(str(path)) as workbook:
        sheet = workbook.add_worksheet()
        sheet.write_row(0, 0, ["团号", "姓名", "证件号码"])
        sheet.write_row(1, 0, ["T1", "张三", ID_2])
        sheet.merge_range(2, 0, 4, 2, "填表说明：1. 每位游客一行；2. 证件号码请设置为文本格式。")
        sheet.write_row(5, 0, ["T1", "李四", ID_2])
    frame = _read_one(path)
    assert frame.data.select("姓名", ROW).rows() == [("张三", 2), ("李四", 6)]


def test_a_table_that_starts_in_column_b_fills_its_merged_cells_in_the_right_column(tmp_path):
    import xlsxwriter

    path = tmp_path / "offset.xlsx"
    with xlsxwriter.Workbook(str(path)) as workbook:
        sheet = workbook.add_worksheet()
        sheet.write_row(3, 1, ["团号", "姓名", "证件号码"])
        sheet.merge_range(4, 1, 6, 1, "T9")
        for row, name in zip(range(4, 7), ["甲", "乙", "丙"], strict=True):
            sheet.write_string(row, 2, name)
            sheet.write_string(row, 3, ID_2)
    frame = _read_one(path)
    assert frame.data.rows() == [("T9", n, ID_2, r) for n, r in [("甲", 5), ("乙", 6), ("丙", 7)]]


def test_a_complete_row_whose_cell_reads_like_a_total_or_a_note_is_data_wherever_it_stands(tmp_path):
    path = tmp_path / "routes.xlsx"
    rows = [
        ["T1", "1", "张三", ID_1, "合计", "2026-10-01"],  # a route named 合计, in the middle
        ["T1", "2", "小计", ID_2, "13900139000", "2026-10-01"],  # a tourist named 小计
        ["备注"] * 6,  # every cell 备注: not one value alone in one cell, so not a note
        ["T1", "4", "王五", ID_2, "总计：", "2026-10-01"],  # the last row, still complete
    ]
    write_template_xlsx(path, HEADERS, rows, title="团队名单", notes="注：每位游客一行。", total_row=True)
    frame = _read_one(path)
    assert frame.data["序号"].to_list() == ["1", "2", "备注", "4"]


def test_a_totals_row_followed_by_data_is_data_and_only_trailing_totals_are_skipped(tmp_path):
    path = tmp_path / "subtotals.xlsx"
    rows = [["T1", "1", "张三", ID_1, None, None], ["小计", "1人", None, None, None, None],
            ["T2", "1", "李四", ID_2, None, None], ["合计", "2", None, None, None, None]]
    write_template_xlsx(path, HEADERS, rows)
    frame = _read_one(path)
    assert frame.data["团号"].to_list() == ["T1", "小计", "T2"]  # the subtotal is loud downstream, never lost
