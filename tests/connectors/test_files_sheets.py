"""Workbooks with several sheets: every sheet whose header row matches a template is read, in
workbook order; the others are skipped and named with the reason the steward is told."""

from __future__ import annotations

import threading
from pathlib import Path

import openpyxl
import pytest

from connectors.files import UnreadableFile, WorkbookFrames, read_source

KNOWN = ["团号", "姓名", "证件号码", "导游证号", "身份证号"]


def _book(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


NOTES = [["填表说明"], ["1. 每位游客一行"], ["2. 证件号码请设置为文本格式"]]
ROSTER = [["团号", "姓名", "证件号码"], ["T1", "张三", "210102199001011234"]]
GUIDES = [["导游证号", "姓名", "身份证号"], ["D-1", "李四", "210102199001011234"]]


def test_a_roster_on_the_second_sheet_is_read_and_the_notes_sheet_is_named_as_skipped(tmp_path):
    frames = read_source(_book(tmp_path / "名单.xlsx", {"说明": NOTES, "名单": ROSTER}), known_headers=KNOWN)
    assert isinstance(frames, WorkbookFrames)
    assert [(s.name, s.read) for s in frames.sheets] == [("说明", False), ("名单", True)]
    assert "没有与导入模板匹配的列名" in frames.skipped[0].reason_zh
    (frame,) = list(frames)
    assert frame.sheet == "名单" and frame.data.select("姓名", "__row").rows() == [("张三", 2)]


def test_every_matching_sheet_is_read_in_workbook_order_and_an_empty_sheet_is_skipped(tmp_path):
    path = _book(tmp_path / "多表.xlsx", {"一团": ROSTER, "空": [], "导游": GUIDES})
    frames = read_source(path, known_headers=KNOWN)
    assert [(s.name, s.read, s.reason_zh) for s in frames.sheets][1] == ("空", False, "工作表是空的")
    assert [(f.sheet, f.headers) for f in frames] == [("一团", ["团号", "姓名", "证件号码"]),
                                                     ("导游", ["导游证号", "姓名", "身份证号"])]


def test_one_sheet_is_read_alone_when_named(tmp_path):
    path = _book(tmp_path / "多表.xlsx", {"一团": ROSTER, "导游": GUIDES})
    assert [f.sheet for f in read_source(path, known_headers=KNOWN, sheet="导游")] == ["导游"]
    with pytest.raises(UnreadableFile, match="no sheet named"):
        read_source(path, known_headers=KNOWN, sheet="没有")


def test_a_workbook_without_any_matching_sheet_is_refused_naming_each_sheet(tmp_path):
    path = _book(tmp_path / "说明.xlsx", {"说明": NOTES, "空": []})
    with pytest.raises(UnreadableFile) as caught:
        read_source(path, known_headers=KNOWN)
    assert "“说明”" in caught.value.reason_zh and "“空”：工作表是空的" in caught.value.reason_zh


def test_a_sheet_whose_deflate_stream_is_broken_is_refused_naming_the_sheet_not_a_traceback(tmp_path):
    import zipfile

    rows = [["团号", "姓名", "证件号码"]] + [[f"T{i}", f"游客{i}", f"21010219900101{i:04d}"] for i in range(3000)]
    path = _book(tmp_path / "名单.xlsx", {"名单": rows})
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    raw = bytearray(path.read_bytes())
    header = raw[info.header_offset : info.header_offset + 30]
    start = info.header_offset + 30 + int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
    raw[start + 200 : start + 400] = b"\xff" * 200  # no longer a deflate stream from there on
    path.write_bytes(bytes(raw))
    with pytest.raises(UnreadableFile) as caught:
        list(read_source(path, known_headers=KNOWN))
    assert "工作表“名单”的内容已损坏" in caught.value.reason_zh and "sheet1.xml" in str(caught.value)


def _sheet_threads() -> int:
    return sum(t.name == "tourlink-sheet-ahead" for t in threading.enumerate())


def test_only_the_sheet_being_read_runs_ahead_so_a_workbook_of_many_sheets_holds_one_sheets_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr("connectors.files.xlsxbook.BLOCK_BYTES", 4096)  # a dozen blocks a sheet
    rows = [ROSTER[0], *([f"T{i}", "张三", "210102199001011234"] for i in range(500))]
    path = _book(tmp_path / "四表.xlsx", {f"第{k}团": rows for k in range(4)})
    frames = read_source(path, known_headers=KNOWN)
    assert [s.read for s in frames.sheets] == [True] * 4
    assert _sheet_threads() == 0, "planning reads every sheet's header on the caller's thread"
    seen = []
    for frame in frames:
        seen.append((frame.sheet, _sheet_threads()))
    assert [sheet for sheet, _ in seen] == [f"第{k}团" for k in range(4)]
    assert max(threads for _, threads in seen) <= 2, "one sheet's two stages at a time"
    assert _sheet_threads() == 0
