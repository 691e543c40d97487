"""`tourlink import` of one roster saved as xlsx, xls, ods and xlsb (four independent writers) loads the
same groups and tourists and quarantines the same rows; a CSV exported from Excel with an ID shown
as `2.10102E+17` is the same `EXCEL_NUMERIC_ID` a steward knows from the workbook."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cli.test_import_cells_and_lists_cli import HEADERS, ID_1975, ID_1988, ID_1992, ID_NUMERIC, ORGANIZER
from tests.connectors.workbook_writers import write_odfpy, write_openpyxl, write_pyxlsbwriter, write_xlwt
from tourlink.cli import app

runner = CliRunner()
GROUP = ["LN-0301", "国内游", ORGANIZER, date(2026, 3, 10), "2026/3/12", "辽宁", 4, "已提交",
         datetime(2026, 3, 1, 9, 30)]
ROWS = [
    [*GROUP, 1, "王伟", "男", date(1975, 1, 1), "身份证", ID_1975, "辽宁"],
    [*GROUP, 2, "李娜", "女", "1988年5月12日", "身份证", ID_1988, "21"],
    [*GROUP, 3, "刘洋", "男", "19900307", "身份证", int(ID_NUMERIC), "北京"],  # the ID cell is a number
    [*GROUP, 4, "陈静", "女", "1992.2.29", "二代身份证", ID_1992, None],
]
WRITERS = {"xlsx": write_openpyxl, "xls": write_xlwt, "ods": write_odfpy, "xlsb": write_pyxlsbwriter}


def _import(home: Path, path: Path) -> tuple[dict, list, list]:
    result = runner.invoke(app, ["import", str(path), "--json"])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(home / "warehouse.db") as conn:
        members = conn.execute("select seq_no, birth_date, doc_no from group_member order by seq_no").fetchall()
        quarantined = [(row, [(r["rule"], r["field"]) for r in json.loads(rules)])
                       for row, rules in conn.execute("select row, rules from quarantine order by row")]
    return json.loads(result.stdout)["entities"], members, quarantined


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_the_roster_in_each_format_loads_the_same_rows_and_quarantines_the_numeric_id(tourlink_home, tmp_path, fmt):
    path = tmp_path / f"团队名单.{fmt}"
    WRITERS[fmt](path, "三月团队名单", HEADERS, ROWS, 0)  # 团号 merged over the group's rows
    entities, members, quarantined = _import(tourlink_home, path)
    assert entities["tour_group"] == {"read": 1, "loaded": 1, "quarantined": 0, "unchanged": 0}
    assert entities["group_member"] == {"read": 4, "loaded": 3, "quarantined": 1, "unchanged": 0}
    assert members == [(1, "1975-01-01", ID_1975), (2, "1988-05-12", ID_1988), (4, "1992-02-29", ID_1992)]
    assert quarantined == [(5, [("EXCEL_NUMERIC_ID", "doc_no")])]  # title 1, header 2, members from row 3


@pytest.mark.parametrize("shown", ["2.10102E+17", "2.10102198706152E+17"])
def test_a_csv_id_in_excel_scientific_form_is_excel_numeric_id(tourlink_home, tmp_path, shown):
    path = tmp_path / "团队名单.csv"
    lines = [",".join(HEADERS)]
    for row in ROWS:
        cells = ["" if v is None else (v.isoformat() if isinstance(v, date) else str(v)) for v in row]
        lines.append(",".join(cells))
    lines[3] = lines[3].replace(ID_NUMERIC, shown)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    entities, members, quarantined = _import(tourlink_home, path)
    assert entities["group_member"]["loaded"] == 3
    assert quarantined == [(4, [("EXCEL_NUMERIC_ID", "doc_no")])]
