"""Every workbook format an agency saves from Excel, WPS or LibreOffice reads the same.

The same upload is written by three independent writers (openpyxl → xlsx, xlwt → xls, odfpy → ods):
each format yields the same rows, row numbers, merged-cell fill-down and numeric-cell flags.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from connectors.files import UnreadableFile, read_source
from tests.connectors.workbook_writers import write_odfpy, write_openpyxl, write_xlwt

HEADERS = ["团号", "序号", "*姓名", "证件号码(必填)", "出生日期", "报送时间"]
KNOWN = ["团号", "序号", "姓名", "证件号码", "出生日期", "报送时间"]
ID = "210102197501011234"
ROWS = [
    ["T1", 1, "王伟", ID, date(1975, 1, 1), datetime(2026, 3, 1, 9, 30)],
    ["T1", 2, "李娜", int(ID), "1988年5月12日", None],  # the ID typed as a number: digits lost
    ["T1", 3, "刘洋", "21010219900307001X", 19900307, None],
]
WRITERS = {"xlsx": write_openpyxl, "xls": write_xlwt, "ods": write_odfpy}


def _read(tmp_path: Path, fmt: str):
    path = tmp_path / f"团队名单.{fmt}"
    WRITERS[fmt](path, "三月团队名单", HEADERS, ROWS, 0)
    (frame,) = list(read_source(path, known_headers=KNOWN))
    return frame


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_each_format_yields_the_rows_the_steward_sees_with_merged_group_cells_filled(tmp_path, fmt):
    frame = _read(tmp_path, fmt)
    assert frame.sheet == "团队名单"
    assert frame.headers == KNOWN
    rows = frame.data.drop("证件号码").rows()
    assert rows == [
        ("T1", "1", "王伟", "1975-01-01", "2026-03-01 09:30:00", 3),
        ("T1", "2", "李娜", "1988年5月12日", None, 4),
        ("T1", "3", "刘洋", "19900307", None, 5),
    ]  # title row 1, header row 2, the 合计 row below is not data


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_each_format_flags_the_id_typed_as_a_number_and_never_renders_it_as_id_digits(tmp_path, fmt):
    frame = _read(tmp_path, fmt)
    ids = frame.data["证件号码"].to_list()
    assert ids[0] == ID and ids[2] == "21010219900307001X"
    assert "e+17" in ids[1] and ids[1].replace(".", "")[:15] == ID[:15]
    assert frame.numeric_cells["证件号码"].to_list() == [False, True, False]
    assert frame.numeric_cells["出生日期"].to_list() == [False, False, True]


def test_the_three_formats_read_identically(tmp_path):
    frames = {fmt: _read(tmp_path, fmt) for fmt in WRITERS}
    texts = {fmt: f.data.drop("证件号码").rows() for fmt, f in frames.items()}
    flags = {fmt: {k: v.to_list() for k, v in f.numeric_cells.items()} for fmt, f in frames.items()}
    assert texts["xls"] == texts["xlsx"] == texts["ods"]
    assert flags["xls"] == flags["xlsx"] == flags["ods"]


@pytest.mark.parametrize(("name", "named"), [("名单.et", "WPS表格（.et）"), ("名单.numbers", "Numbers")])
def test_formats_no_reader_opens_are_refused_naming_the_formats_to_save_as(tmp_path, name, named):
    path = tmp_path / name
    path.write_bytes(b"\xd0\xcf\x11\xe0 not read")
    with pytest.raises(UnreadableFile) as caught:
        read_source(path, known_headers=KNOWN)
    assert named in caught.value.reason_zh
    assert all(f in caught.value.reason_zh for f in (".xlsx", ".xls", ".ods", "CSV"))


@pytest.mark.parametrize("fmt", ["xls", "xlsb", "ods"])
def test_a_damaged_workbook_of_each_format_is_refused_naming_the_file(tmp_path, fmt):
    path = tmp_path / f"坏.{fmt}"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 200 if fmt != "xls" else b"\xd0\xcf\x11\xe0" + b"\x01" * 600)
    with pytest.raises(UnreadableFile) as caught:
        list(read_source(path, known_headers=KNOWN))
    assert caught.value.file == f"坏.{fmt}"
