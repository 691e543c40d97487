"""The agency's correction workbook: one row per source row, the raw columns, escaped and read back."""

from __future__ import annotations

import openpyxl

from tests.report import quarantine_sample as qs
from tourlink.report.fix_template import IDS, collect_rows, read_fix_template, write_fix_template


def test_the_workbook_holds_the_agencys_raw_rows_with_their_ids_and_reasons(sample_engine, tmp_path):
    with sample_engine.connect() as conn:
        rows = collect_rows(conn, qs.SHENYANG_A)
    path = tmp_path / "fix.xlsx"
    assert write_fix_template(rows, qs.SHENYANG_A, path) == 2
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[0] == "错误说明" and "证件号码" in header and IDS in header
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    # the agency sees its own data unmasked (it must correct it), and why the row failed
    assert any(qs.FULL_ID in row for row in values)
    assert any("请核对第18位" in row[0] for row in values)
    # a formula payload is text, prefixed so Excel never evaluates it
    assert "'" + qs.FORMULA in [v for row in values for v in row]
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert wb["_tourlink"].sheet_state == "hidden"


def test_reading_it_back_undoes_the_escape_and_drops_the_steward_columns(sample_engine, tmp_path):
    with sample_engine.connect() as conn:
        rows = collect_rows(conn, qs.SHENYANG_A)
    path = tmp_path / "fix.xlsx"
    write_fix_template(rows, qs.SHENYANG_A, path)
    back = read_fix_template(path)
    assert back.agency == qs.SHENYANG_A
    (sheet,) = back.sheets
    assert "错误说明" not in sheet.headers and IDS not in sheet.headers
    names = [cells[sheet.headers.index("姓名")] for _n, cells, _ids in sheet.rows]
    assert qs.FORMULA in names
    assert sorted(i for _n, _c, ids in sheet.rows for i in ids) == sorted(r.ids[0] for r in rows)


def test_a_region_limits_what_can_be_exported(sample_engine):
    with sample_engine.connect() as conn:
        assert collect_rows(conn, qs.DALIAN, region="2101") == []
        assert len(collect_rows(conn, qs.DALIAN, region="2102")) == 1
