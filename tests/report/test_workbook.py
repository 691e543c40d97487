"""The xlsx report read back with openpyxl: sheets per rule, masking, formulas never evaluated."""

from __future__ import annotations

from datetime import UTC, datetime

import openpyxl

from tests.report import quarantine_sample as qs
from tourlink.report.failures import Scope
from tourlink.report.publish import publish_report

NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)


def _cells(ws) -> list[object]:
    return [c.value for row in ws.iter_rows() for c in row if c.value is not None]


def test_the_workbook_has_a_summary_all_failures_and_one_sheet_per_rule(sample_engine, tmp_path):
    files = publish_report(sample_engine, Scope(region="2101"), tmp_path, now=NOW)
    wb = openpyxl.load_workbook(files.xlsx)
    assert wb.sheetnames[:2] == ["汇总", "全部失败"]
    assert sorted(wb.sheetnames[2:]) == ["MOBILE_FORMAT", "REQUIRED", "RIC_CHECKSUM", "RIC_FORMAT", "TYPE"]
    # each rule sheet holds exactly that rule's failures (2 header rows)
    ws = wb["TYPE"]
    assert ws.max_row - 2 == 2
    assert {ws.cell(r, 10).value for r in range(3, ws.max_row + 1)} == {"TYPE"}
    assert wb["全部失败"].max_row - 2 == 6


def test_identifiers_and_phones_are_masked_in_every_sheet(sample_engine, tmp_path):
    files = publish_report(sample_engine, Scope(), tmp_path, now=NOW)
    wb = openpyxl.load_workbook(files.xlsx)
    everything = " ".join(str(v) for ws in wb.worksheets for v in _cells(ws))
    for secret in (qs.FULL_ID, qs.DALIAN_ID, qs.MOBILE, "130102198001010011"):
        assert secret not in everything
    assert "2101**********123X" in everything and "138****5678" in everything


def test_a_formula_payload_is_text_that_starts_with_an_apostrophe(sample_engine, tmp_path):
    files = publish_report(sample_engine, Scope(region="2101"), tmp_path, now=NOW)
    wb = openpyxl.load_workbook(files.xlsx)
    values = _cells(wb["TYPE"])
    assert "'" + qs.FORMULA in values
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula"
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@")), cell.value


def test_a_regions_workbook_never_mentions_another_region(sample_engine, tmp_path):
    files = publish_report(sample_engine, Scope(region="2102"), tmp_path, now=NOW)
    wb = openpyxl.load_workbook(files.xlsx)
    everything = " ".join(str(v) for ws in wb.worksheets for v in _cells(ws))
    assert qs.DALIAN in everything
    for other in (qs.SHENYANG_A, qs.SHENYANG_B, qs.HEBEI, qs.UNREGISTERED, "沈阳", "太行"):
        assert other not in everything
    assert files.xlsx.name == "failures-2102-2026-03-05.xlsx"


def test_the_summary_trend_has_a_line_per_agency_that_adds_up_to_the_total(sample_engine, tmp_path):
    files = publish_report(sample_engine, Scope(region="2101"), tmp_path, now=NOW)
    ws = openpyxl.load_workbook(files.xlsx)["汇总"]
    rows = {str(r[0].value): [c.value for c in r[1:15]] for r in ws.iter_rows() if r[0].value is not None}
    total = rows["合计"]
    ours = (qs.SHENYANG_A, qs.SHENYANG_B, qs.UNREGISTERED)  # the unregistered one: by the entry's own division
    agencies = [v for k, v in rows.items() if k.endswith(tuple(f"（{a}）" for a in ours))]
    assert len(agencies) == 3 and sum(total) > 0
    assert f"（未登记旅行社）（{qs.UNREGISTERED}）" in rows
    assert [sum(day) for day in zip(*agencies, strict=True)] == total
    assert not any(qs.DALIAN in k for k in rows)  # another city's agency has no line, even in the trend
