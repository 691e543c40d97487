"""The stewards' desk end to end through the CLI: import bad rows → report → export → correct → replay.

Real files (the demo's agencies and a 团队名单 template with two bad members), the real pipeline into
the embedded SQLite warehouse, the correction workbook edited with openpyxl as an agency would.
"""

from __future__ import annotations

import json
import random
import re
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from devkit.demo.people import make_ric
from devkit.demo.spreadsheets import write_template_xlsx
from tests.cli.operators import act_as
from tests.cli.rosters import Member, load_agencies, runner, tourlink, write_roster, wrong_check_digit
from tourlink.cli import app


@pytest.fixture
def bad_upload(tourlink_home, tmp_path):
    """Agencies loaded; a Shenyang agency's roster with a wrong check digit (序号2) and a bad birth date (序号3)."""
    agency = load_agencies(tmp_path).agencies[0]
    rng = random.Random(7)
    births = [date(1980, 5, 6), date(1991, 2, 3), date(1975, 11, 12)]
    ids = [make_ric(rng, "210102", b, "M") for b in births]
    wrong = wrong_check_digit(ids[1])
    members = [Member("王伟", "M", births[0].isoformat(), ids[0]), Member("李强", "M", births[1].isoformat(), wrong),
               Member("张军", "M", "1975-13-12", ids[2])]
    tourlink("import", str(write_roster(tmp_path / "团队名单_沈阳.xlsx", agency.uscc, "GN2610001", members)))
    return {"agency": agency, "ids": ids, "births": births, "wrong": wrong, "home": tourlink_home}


def _engine(home):
    return sa.create_engine(f"sqlite:///{home / 'warehouse.db'}")


def test_bad_rows_are_exported_corrected_replayed_and_resolved(bad_upload, tmp_path):
    agency = bad_upload["agency"]
    entries = [json.loads(line) for line in tourlink("quarantine", "list", "--json").splitlines()]
    mine = [e for e in entries if e["agency_uscc"] == agency.uscc]
    assert sorted(e["key"]["seq_no"] for e in mine if e["entity"] == "group_member") == [2, 3]
    assert bad_upload["wrong"] not in json.dumps(entries, ensure_ascii=False)  # masked in the listing

    out = tmp_path / "report"
    tourlink("report", "--out", str(out), "--region", "2101", "--no-data-docs", "--no-indicators")
    (xlsx,) = out.glob("failures-2101-*.xlsx")
    assert "RIC_CHECKSUM" in openpyxl.load_workbook(xlsx).sheetnames

    fix = tmp_path / "更正.xlsx"
    tourlink("quarantine", "export", "--agency", agency.uscc, "--out", str(fix))
    wb = openpyxl.load_workbook(fix)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[0] == "错误说明" and header[-3:] == ["隔离编号", "原文件", "原行号"]
    assert ws.column_dimensions[openpyxl.utils.get_column_letter(len(header) - 2)].hidden
    col = {h: i + 1 for i, h in enumerate(header)}
    by_seq = {ws.cell(r, col["序号"]).value: r for r in range(2, ws.max_row + 1)}
    assert set(by_seq) == {"2", "3"}
    assert "请核对第18位" in ws.cell(by_seq["2"], 1).value
    # the agency corrects its rows
    ws.cell(by_seq["2"], col["证件号码"]).value = bad_upload["ids"][1]
    ws.cell(by_seq["3"], col["出生日期"]).value = bad_upload["births"][2].isoformat()
    wb.save(fix)

    result = json.loads(tourlink("replay", str(fix), "--json"))
    exported = sorted(e["id"] for e in mine)
    assert result["resolved"] == exported and result["still_open"] == []
    engine = _engine(bad_upload["home"])
    with engine.connect() as conn:
        members = conn.execute(
            sa.text("select seq_no, doc_no, birth_date from group_member where organizer_uscc = :a order by seq_no"), {"a": agency.uscc}
        ).all()
        statuses = conn.execute(
            sa.text(f"select status, resolved_by_batch from quarantine where id in ({','.join(map(str, exported))})")
        ).all()
        history = conn.execute(sa.text("select count(*) from quarantine_history where status = 'resolved'")).scalar()
        batch_source = conn.execute(sa.text("select source from batch where batch_id = :b"), {"b": result["batch_id"]}).scalar()
    engine.dispose()
    assert [m.seq_no for m in members] == [1, 2, 3]  # the member loaded first is kept: a replay patches the roster
    assert members[1].doc_no == bad_upload["ids"][1]
    assert {s.status for s in statuses} == {"resolved"} and {s.resolved_by_batch for s in statuses} == {result["batch_id"]}
    assert history >= len(exported)
    assert batch_source == "replay"
    # nothing is deleted: the entries are still there, now resolved, and the open list no longer shows them
    assert agency.uscc not in tourlink("quarantine", "list", "--agency", agency.uscc)


def test_a_row_still_wrong_after_correction_stays_open_with_its_reason(bad_upload, tmp_path):
    agency = bad_upload["agency"]
    fix = tmp_path / "更正.xlsx"
    tourlink("quarantine", "export", "--agency", agency.uscc, "--out", str(fix))
    wb = openpyxl.load_workbook(fix)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(header)}
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, col["序号"]).value == "3":
            ws.cell(r, col["出生日期"]).value = bad_upload["births"][2].isoformat()  # only 序号3 is fixed
    wb.save(fix)
    result = json.loads(tourlink("replay", str(fix), "--json"))
    assert len(result["resolved"]) == 1 and len(result["still_open"]) == 1
    listed = [json.loads(line) for line in tourlink("quarantine", "list", "--json", "--agency", agency.uscc).splitlines()]
    assert [e["key"]["seq_no"] for e in listed if e["entity"] == "group_member"] == [2]


def test_a_steward_waives_an_entry_with_a_reason_and_it_is_kept(bad_upload):
    agency = bad_upload["agency"]
    entry = next(json.loads(line) for line in tourlink("quarantine", "list", "--json", "--agency", agency.uscc).splitlines())
    act_as(bad_upload["home"], "steward-sy", "21")  # the actor comes from the stewards file, not a flag
    tourlink("quarantine", "waive", str(entry["id"]), "--reason", "游客已退团")
    waived = [json.loads(line) for line in tourlink("quarantine", "list", "--json", "--status", "waived").splitlines()]
    assert [(e["id"], e["status_reason"]) for e in waived] == [(entry["id"], "游客已退团")]
    again = runner.invoke(app, ["quarantine", "waive", str(entry["id"]), "--reason", "x"])
    assert again.exit_code == 1
    shown = json.loads(tourlink("quarantine", "show", str(entry["id"]), "--json"))
    assert shown["status"] == "waived" and shown["status_reason"] == "游客已退团"
    assert [(h["status"], h["actor"], h["reason"]) for h in shown["history"]] == [("waived", "steward-sy", "游客已退团")]
    assert "waived by steward-sy" in tourlink("quarantine", "show", str(entry["id"]))
    act_as(bad_upload["home"], "steward-dl", "2102")
    dalian_steward = runner.invoke(app, ["quarantine", "show", str(entry["id"])])
    assert dalian_steward.exit_code == 2 and "不属于您管辖的地区" in dalian_steward.output


def test_a_workbook_that_is_not_a_correction_template_is_refused(tourlink_home, tmp_path):
    other = tmp_path / "other.xlsx"
    write_template_xlsx(other, ["姓名"], [["张三"]])
    result = runner.invoke(app, ["replay", str(other)])
    assert result.exit_code == 2 and "更正模板" in result.output


def test_a_report_with_a_bad_region_is_refused(tourlink_home, tmp_path):
    result = runner.invoke(app, ["report", "--out", str(tmp_path), "--region", "21%"])
    assert result.exit_code == 2


def _indicator(number: int, month: str, region: str | None = None) -> int:
    args = ["indicators", "--month", month, "--json"] + (["--region", region] if region else [])
    (figure,) = [f for f in json.loads(tourlink(*args)) if f["indicator"] == number]
    return figure["numerator"]


def test_a_group_fixed_and_replayed_lands_in_the_core_tables_and_moves_the_indicators(tourlink_home, tmp_path):
    """End to end: a roster whose group has an impossible 出发日期 is quarantined whole (its members as
    ORPHAN), so October's indicator 5 (团队填报数量) does not count it; once the agency corrects the
    date in the exported workbook and it is replayed, the group and its tourists are in the core tables,
    every entry is resolved, and indicator 5 counts the group for the city and the nation."""
    agency = load_agencies(tmp_path).agencies[0]
    rng = random.Random(11)
    births = [date(1980, 5, 6), date(1991, 2, 3)]
    ids = [make_ric(rng, "210102", b, "M") for b in births]
    members = [Member(name, "M", births[n].isoformat(), ids[n], "13812345678") for n, name in enumerate(["王伟", "李强"])]
    roster = write_roster(tmp_path / "团队名单_出发日期错误.xlsx", agency.uscc, "GN2610077", members, start="2026-10-40")
    tourlink("import", str(roster))

    entries = [json.loads(line) for line in tourlink("quarantine", "list", "--json", "--agency", agency.uscc).splitlines()]
    assert sorted((e["entity"], e["rules"][0]["rule"]) for e in entries) == [
        ("group_member", "ORPHAN"), ("group_member", "ORPHAN"), ("tour_group", "TYPE")
    ]
    before = (_indicator(5, "2026-10", "2101"), _indicator(5, "2026-10"))

    fix = tmp_path / "更正.xlsx"
    tourlink("quarantine", "export", "--agency", agency.uscc, "--out", str(fix))
    wb = openpyxl.load_workbook(fix)
    ws = wb.worksheets[0]
    col = {c.value: i + 1 for i, c in enumerate(ws[1])}
    assert ws.max_row == 3  # one row per source row: the two tourists (the group repeats on each)
    for r in range(2, ws.max_row + 1):
        assert ws.cell(r, col["出发日期"]).value == "2026-10-40"
        ws.cell(r, col["出发日期"]).value = "2026-10-10"
    wb.save(fix)

    result = json.loads(tourlink("replay", str(fix), "--json"))
    assert result["resolved"] == sorted(e["id"] for e in entries) and result["still_open"] == []
    after = (_indicator(5, "2026-10", "2101"), _indicator(5, "2026-10"))
    assert after == (before[0] + 1, before[1] + 1)
    engine = _engine(tourlink_home)
    with engine.connect() as conn:
        start = conn.execute(sa.text("select start_date from tour_group where group_code = 'GN2610077'")).scalar()
        members = conn.execute(sa.text("select count(*) from group_member where group_code = 'GN2610077'")).scalar()
        open_left = conn.execute(sa.text("select count(*) from quarantine where status = 'open'")).scalar()
    engine.dispose()
    assert str(start) == "2026-10-10" and members == 2 and open_left == 0
    trail = json.loads(tourlink("quarantine", "show", str(entries[0]["id"]), "--json"))["history"]
    assert [(h["status"], h["batch_id"]) for h in trail] == [("resolved", result["batch_id"])]


def test_the_report_links_the_months_indicator_page_and_the_gx_data_docs(bad_upload, tmp_path):
    """Issue 3's indicator page (★ bars per region, six-month line, PNG in HTML) comes with the failure
    report and is linked from it, as are the validators' GX Data Docs for engineers, built once a day
    under `$TOURLINK_HOME/reports/data-docs/` and shared by every region's page."""
    out = tmp_path / "report"
    summary = json.loads(tourlink("report", "--out", str(out), "--region", "2101", "--month", "2026-10", "--json"))
    page = out / "indicators-2101-2026-10.html"
    assert summary["indicators"] == str(page)
    text = page.read_text(encoding="utf-8")
    assert "当月填报团队信息数量" in text  # indicator 5, which counts the uploaded group
    for png in ("indicators-2101-2026-10-regions.png", "indicators-2101-2026-10-trend.png"):
        assert f'src="{png}"' in text and (out / png).read_bytes()[:4] == b"\x89PNG"

    docs = bad_upload["home"] / "reports" / "data-docs" / "index.html"
    assert summary["data_docs"] == str(docs) and docs.is_file()
    html = Path(summary["html"]).read_text(encoding="utf-8")
    links = dict(re.findall(r'<a id="([\w-]+)" href="([^"]+)"', html))
    assert links["indicator-page"] == page.name
    assert (out / links["data-docs"]).resolve() == docs.resolve()
    assert "group_member" in docs.read_text(encoding="utf-8")  # one suite per entity

    built = docs.stat().st_mtime_ns
    again = json.loads(tourlink("report", "--out", str(out), "--region", "210102", "--date", "2026-10-05", "--json"))
    assert docs.stat().st_mtime_ns == built  # today's build is reused, not rebuilt per region
    assert again["indicators"] is None  # a district has no indicators of its own (prefecture at most)
    assert 'id="indicator-page"' not in Path(again["html"]).read_text(encoding="utf-8")


def test_the_list_narrows_to_one_file_as_listed_or_by_its_path_and_to_one_rule(bad_upload, tmp_path):
    """A steward who imported several files lists one of them (the name `quarantine list` shows, or
    the path they gave `tourlink import`) and one rule; a rule id the catalogue lacks is refused."""
    agency = load_agencies(tmp_path / "more").agencies[1]
    other = write_roster(tmp_path / "团队名单_另一个.xlsx", agency.uscc, "GN2610002",
                         [Member("赵六", "M", "1975-13-12", make_ric(random.Random(3), "210102", date(1975, 1, 2), "M"))])
    tourlink("import", str(other))
    names = {Path(e["file"]).name for e in (json.loads(line) for line in tourlink("quarantine", "list", "--json").splitlines())}
    assert names == {"团队名单_沈阳.xlsx", other.name}

    by_name = [json.loads(line) for line in tourlink("quarantine", "list", "--json", "--file", "团队名单_沈阳.xlsx").splitlines()]
    by_path = [json.loads(line) for line in tourlink("quarantine", "list", "--json", "--file", str(other)).splitlines()]
    assert {Path(e["file"]).name for e in by_name} == {"团队名单_沈阳.xlsx"} and len(by_name) == 2
    assert {e["file"] for e in by_path} == {str(other)} and len(by_path) == 1
    assert tourlink("quarantine", "list", "--json", "--file", "团队名单_沈%.xlsx") == ""  # a name, not a pattern
    mistyped = runner.invoke(app, ["quarantine", "list", "--file", "团队名单_沈洋.xlsx"])
    assert mistyped.exit_code == 0 and mistyped.stdout == ""
    assert f"no entries of '团队名单_沈洋.xlsx'; entries are in: {other.name}, 团队名单_沈阳.xlsx" in mistyped.stderr

    checksum = [json.loads(line) for line in tourlink("quarantine", "list", "--json", "--rule", "ric_checksum").splitlines()]
    assert [(Path(e["file"]).name, e["key"]["seq_no"]) for e in checksum] == [("团队名单_沈阳.xlsx", 2)]
    refused = runner.invoke(app, ["quarantine", "list", "--rule", "RIC_CHECKSUMM"])
    assert refused.exit_code == 2 and "unknown rule 'RIC_CHECKSUMM'" in refused.output
