"""`tourlink import` of a workbook whose roster is not on the first sheet: the roster loads, the
notes sheet is skipped and named (JSON `sheets` and the console), each matching sheet with its own
template."""

from __future__ import annotations

import json

import openpyxl
from typer.testing import CliRunner

from tests.cli.test_import_cells_and_lists_cli import HEADERS, ID_1975, ID_1988, ORGANIZER
from tourlink.cli import app

runner = CliRunner()
GROUP = ["LN-0301", "国内游", ORGANIZER, "2026-03-10", "2026-03-12", "辽宁", "2", "已提交", "2026-03-01 09:30:00"]


def _workbook(path):
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "填表说明"
    for line in ("填表说明", "1. 每位游客一行", "2. 证件号码请设置为文本格式"):
        notes.append([line])
    roster = book.create_sheet("团队名单")
    roster.append(HEADERS)
    roster.append([*GROUP, "1", "王伟", "男", "1975-01-01", "身份证", ID_1975, "辽宁"])
    roster.append([*GROUP, "2", "李娜", "女", "1988-05-12", "身份证", ID_1988, "辽宁"])
    book.save(path)
    return path


def test_the_roster_on_sheet_two_loads_and_the_notes_sheet_is_reported_skipped(tourlink_home, tmp_path):
    path = _workbook(tmp_path / "团队名单.xlsx")
    result = runner.invoke(app, ["import", str(path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["entities"]["group_member"] == {"read": 2, "loaded": 2, "quarantined": 0, "unchanged": 0}
    assert [(s["sheet"], s["read"]) for s in out["sheets"]] == [("填表说明", False), ("团队名单", True)]
    assert "导入模板" in out["sheets"][0]["reason"]


def test_the_console_names_the_skipped_sheet_and_why(tourlink_home, tmp_path):
    result = runner.invoke(app, ["import", str(_workbook(tmp_path / "名单.xlsx"))])
    assert result.exit_code == 0, result.output
    assert "工作表“填表说明”未导入：无法识别表头" in result.output
