"""`tourlink import` on the cell forms agencies really send: Excel date cells mixed with text dates,
IDs typed as numbers, and canonical CSV whose list fields are `|`-separated."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest
from stdnum.cn import ric, uscc
from typer.testing import CliRunner

from devkit.demo.spreadsheets import write_template_xlsx
from tourlink.cli import app

runner = CliRunner()

ORGANIZER = "91210102MA0U7654"
ORGANIZER = ORGANIZER + "3"
ORGANIZER = ORGANIZER[:17] + uscc.calc_check_digit(ORGANIZER[:17])
RECEIVER = "91210202MA0U1111"
RECEIVER = RECEIVER + "2"
RECEIVER = RECEIVER[:17] + uscc.calc_check_digit(RECEIVER[:17])


def resident_id(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "?")


ID_1975 = resident_id("21010219750101123")
ID_1988 = resident_id("21020219880512002")
ID_NUMERIC = resident_id("11010119900307001")  # typed into Excel as a number: its last digits are lost
ID_1992 = resident_id("21010219920229002")


def invoke(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def query(home: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(home / "warehouse.db") as conn:
        return conn.execute(sql).fetchall()


HEADERS = [
    "团号",
    "团队类型",
    "组团社统一社会信用代码",
    "出发日期",
    "返回日期",
    "目的地",
    "游客人数",
    "团队状态",
    "报送时间",
    "序号",
    "姓名",
    "性别",
    "出生日期",
    "证件类型",
    "证件号码",
    "常住省份",
]


@pytest.fixture
def roster(tmp_path) -> Path:
    group = [
        "LN-0301",
        "国内游",
        ORGANIZER,
        date(2026, 3, 10),
        "2026/3/12",
        "辽宁",
        4,
        "已提交",
        datetime(2026, 3, 1, 9, 30),
    ]
    rows = [
        [*group, 1, "王伟", "男", date(1975, 1, 1), "身份证", ID_1975, "辽宁"],  # a real Excel date cell
        [*group, 2, "李娜", "女", "1988年5月12日", "身份证", ID_1988, "21"],  # a typed Chinese date
        [*group, 3, "刘洋", "男", "19900307", "身份证", int(ID_NUMERIC), "北京"],  # the ID cell is a number
        [*group, 4, "陈静", "女", "1992.2.29", "二代身份证", ID_1992, None],  # dotted date, a synonym label
    ]
    path = tmp_path / "团队名单.xlsx"
    write_template_xlsx(path, HEADERS, rows, title="三月团队名单", total_row=True, merge_columns=("团号",))
    return path


def test_excel_date_cells_typed_dates_and_a_numeric_id_cell_land_rule_by_rule(tourlink_home, roster):
    out = invoke("import", str(roster))

    assert out["entities"]["tour_group"] == {"read": 1, "loaded": 1, "quarantined": 0, "unchanged": 0}
    assert out["entities"]["group_member"] == {"read": 4, "loaded": 3, "quarantined": 1, "unchanged": 0}
    assert query(
        tourlink_home, "select seq_no, birth_date, doc_no, residence_province from group_member order by seq_no"
    ) == [
        (1, "1975-01-01", ID_1975, "21"),
        (2, "1988-05-12", ID_1988, "21"),
        (4, "1992-02-29", ID_1992, None),
    ]
    ((row, rules, raw),) = query(tourlink_home, "select row, rules, raw from quarantine")
    assert row == 6  # title (1), blank (2), header (3), members from row 4
    assert [(r["rule"], r["field"]) for r in json.loads(rules)] == [("EXCEL_NUMERIC_ID", "doc_no")]
    assert ID_NUMERIC not in raw  # the digits Excel kept are not the ID: never guessed, never completed
    (group,) = query(
        tourlink_home, "select group_code, start_date, end_date, destinations, submitted_at from tour_group"
    )
    assert group[:4] == ("LN-0301", "2026-03-10", "2026-03-12", "21")
    assert group[4].startswith("2026-03-01 01:30:00")  # a 09:30 Shanghai date-time cell, stored as UTC


def test_text_id_cells_keep_every_digit_and_every_date_form_parses(tourlink_home, tmp_path):
    group = ["LN-0302", "国内", ORGANIZER, "2026-03-10", "2026-03-12", "21", 3, "已报送", "2026-03-01 09:30"]
    rows = [
        [*group, 1, "王伟", "男", date(1975, 1, 1), "身份证", ID_1975, "辽宁省"],
        [*group, 2, "李娜", "女", "1988年5月12日", "居民身份证", ID_1988, "21"],
        [*group, 3, "陈静", "女", "1992.2.29", "二代身份证", ID_1992, None],
    ]
    path = tmp_path / "名单.xlsx"
    write_template_xlsx(path, HEADERS, rows, title="三月", notes="注：证件号码请设为文本", total_row=True)

    out = invoke("import", str(path))

    assert out["entities"]["group_member"] == {"read": 3, "loaded": 3, "quarantined": 0, "unchanged": 0}
    assert query(
        tourlink_home,
        "select seq_no, birth_date, doc_type, doc_no, residence_province from group_member order by seq_no",
    ) == [
        (1, "1975-01-01", "CN_RIC", ID_1975, "21"),
        (2, "1988-05-12", "CN_RIC", ID_1988, "21"),
        (3, "1992-02-29", "CN_RIC", ID_1992, None),
    ]


def test_list_and_set_fields_of_canonical_csv_validate_and_load_and_reload_unchanged(tourlink_home, tmp_path):
    agency = tmp_path / "travel_agency.csv"
    agency.write_text(
        "uscc,name,unit_type,licence_no,division_code,business_scope,outbound_granted_date,status,updated_at\n"
        f"{ORGANIZER},沈阳远航国际旅行社,HEAD,L-LN-CJ00012,210102,OUTBOUND|DOMESTIC|INBOUND|DOMESTIC,2019-01-01,ACTIVE,"
        "2026-01-01 09:00\n"
        f"{RECEIVER},大连地接社,HEAD,L-LN-00021,210202,国内旅游|入境,,ACTIVE,2026-01-01 09:00\n",
        encoding="utf-8",
    )
    groups = tmp_path / "tour_group.csv"
    groups.write_text(
        "group_code,organizer_uscc,group_type,receiving_uscc,start_date,end_date,destinations,exit_port,"
        "tourist_count,status,submitted_at,updated_at\n"
        f"OUT-1,{ORGANIZER},OUTBOUND,,2026-03-10,2026-03-14,JPN|韩国|HK,大连,2,SUBMITTED,2026-03-01 10:00,2026-03-01 10:00\n"
        f"DOM-1,{ORGANIZER},DOMESTIC,{RECEIVER},2026-03-10,2026-03-14,210200|辽宁,,2,SUBMITTED,2026-03-01 10:00,"
        "2026-03-01 10:00\n"
        f"DOM-2,{ORGANIZER},DOMESTIC,,2026-03-10,2026-03-14,,,2,SUBMITTED,2026-03-01 10:00,2026-03-01 10:00\n"
        f"OUT-2,{ORGANIZER},OUTBOUND,,2026-03-10,2026-03-14,,大连,2,SUBMITTED,2026-03-01 10:00,2026-03-01 10:00\n"
        f"OUT-3,{ORGANIZER},OUTBOUND,,2026-03-10,2026-03-14,JPN|火星,大连,2,SUBMITTED,2026-03-01 10:00,2026-03-01 10:00\n",
        encoding="utf-8",
    )

    checked = runner.invoke(app, ["validate", str(agency), str(groups), "--json"])
    assert checked.exit_code == 1, checked.output  # two groups would be quarantined
    failures = {(f["row"], r["rule"], r["field"]) for f in json.loads(checked.stdout)["failures"] for r in f["rules"]}
    assert failures == {(5, "REQUIRED", "destinations"), (6, "CODE_LIST", "destinations")}

    out = invoke("import", str(groups), str(agency))
    assert out["entities"]["travel_agency"] == {"read": 2, "loaded": 2, "quarantined": 0, "unchanged": 0}
    assert out["entities"]["tour_group"] == {"read": 5, "loaded": 3, "quarantined": 2, "unchanged": 0}
    assert query(tourlink_home, "select name, business_scope from travel_agency order by name") == [
        ("大连地接社", "DOMESTIC|INBOUND"),
        ("沈阳远航国际旅行社", "DOMESTIC|INBOUND|OUTBOUND"),  # a set: sorted, deduplicated
    ]
    assert query(tourlink_home, "select group_code, destinations from tour_group order by group_code") == [
        ("DOM-1", "210200|21"),
        ("DOM-2", None),
        ("OUT-1", "JPN|KOR|HKG"),
    ]

    again = invoke("import", str(agency), str(groups), "--force")  # re-validated, not skipped as already loaded
    assert again["entities"]["tour_group"] == {"read": 5, "loaded": 0, "quarantined": 2, "unchanged": 3}
    assert again["entities"]["travel_agency"]["unchanged"] == 2
    assert query(tourlink_home, "select count(*) from quarantine where status = 'open'") == [(2,)]


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--entity", "tour_groups", "未知实体"),
        ("--mapping", "no_such_template", "roster_template"),
        ("--mapping", "canonical:no_such_entity", "无法加载映射"),
    ],
)
def test_an_unknown_entity_or_mapping_is_a_usage_error_before_anything_is_read(
    tourlink_home, tmp_path, option, value, named
):
    path = tmp_path / "tour_group.csv"
    path.write_text("group_code\nG1\n", encoding="utf-8")
    for command in ("import", "validate"):
        result = runner.invoke(app, [command, str(path), option, value, "--json"])
        assert result.exit_code == 2, result.output  # not a traceback (exit 1)
        assert named in result.output
    assert not (tourlink_home / "warehouse.db").exists()
