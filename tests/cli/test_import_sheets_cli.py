"""`tourlink import` of a workbook whose roster is not on the first sheet: the roster loads, the
notes sheet is skipped and named on the batch record (`batch_file.sheets`) and, read back from it, in
the JSON `sheets` and the console; on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import openpyxl
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.cli.test_import_cells_and_lists_cli import HEADERS, ID_1975, ID_1988, ORGANIZER
from tourlink.cli import app
from warehouse import tables

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


@pytest.fixture
def cli_warehouse(tourlink_home, warehouse_url, monkeypatch) -> sa.Engine:
    """The CLI's warehouse on each dialect (`TOURLINK_WAREHOUSE_URL`), upgraded by its normal path."""
    monkeypatch.setenv("TOURLINK_WAREHOUSE_URL", warehouse_url)
    engine = sa.create_engine(warehouse_url)
    yield engine
    engine.dispose()


def _stored_sheets(engine: sa.Engine) -> list:
    f = tables.batch_file
    with engine.connect() as conn:
        return conn.execute(sa.select(f.c.file, f.c.sheets)).all()


def test_the_roster_on_sheet_two_loads_and_the_notes_sheet_is_recorded_skipped(cli_warehouse, tmp_path):
    path = _workbook(tmp_path / "团队名单.xlsx")
    result = runner.invoke(app, ["import", str(path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["entities"]["group_member"] == {"read": 2, "loaded": 2, "quarantined": 0, "unchanged": 0}
    [(file, sheets)] = _stored_sheets(cli_warehouse)
    assert file == str(path)
    assert [(s["name"], s["position"], s["template"]) for s in sheets["read"]] == [("团队名单", 2, "roster_template")]
    assert [(s["name"], s["position"]) for s in sheets["skipped"]] == [("填表说明", 1)]
    assert "无法识别表头" in sheets["skipped"][0]["reason"] and "导入模板" in sheets["skipped"][0]["reason"]
    assert [(s["sheet"], s["read"], s["template"]) for s in out["sheets"]] == [
        ("填表说明", False, None), ("团队名单", True, "roster_template")]
    assert out["sheets"][0]["reason"] == sheets["skipped"][0]["reason"]


def test_the_console_names_the_skipped_sheet_and_why_from_the_batch_record(cli_warehouse, tmp_path):
    result = runner.invoke(app, ["import", str(_workbook(tmp_path / "名单.xlsx"))])
    assert result.exit_code == 0, result.output
    [(_, sheets)] = _stored_sheets(cli_warehouse)
    assert f"工作表“填表说明”未导入：{sheets['skipped'][0]['reason']}" in result.output
    assert "工作表“填表说明”未导入：无法识别表头" in result.output


def test_a_csv_file_records_no_sheets(cli_warehouse, tmp_path):
    path = tmp_path / "名单.csv"
    path.write_text(",".join(HEADERS) + "\n" + ",".join([*GROUP, "1", "王伟", "男", "1975-01-01", "身份证", ID_1975, "辽宁"]) + "\n",
                    encoding="utf-8")
    result = runner.invoke(app, ["import", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert [sheets for _, sheets in _stored_sheets(cli_warehouse)] == [None]
    assert json.loads(result.stdout)["sheets"] == []
