"""`tourlink import` end to end: real messy files in, the warehouse and quarantine checked row by row."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from stdnum.cn import ric, uscc

from devkit.demo.spreadsheets import write_template_csv, write_template_xlsx

TOURLINK = str(Path(sys.executable).parent / "tourlink")

ORGANIZER = "91210102MA0U1234" + "5"
ORGANIZER = ORGANIZER[:17] + uscc.calc_check_digit(ORGANIZER[:17])


def resident_id(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "?")


GOOD_ID = resident_id("21010219750101123")  # Shenyang 和平区, born 1975: genuine, stdnum would reject it
OTHER_ID = resident_id("21020219880512002")
BAD_CHECKSUM = GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")

ROSTER_HEADERS = [
    "团队编号", "团队类型", "组团社统一社会信用代码", "线路名称", "出团日期", "回团日期", "目的地", "出境口岸",
    "游客人数", "团队状态", "报送时间", "序号", "游客姓名", "性别", "出生日期", "证件类型", "证件号", "国籍", "领队证号",
]


def roster_rows() -> list[list]:
    group = ["ＣＪ２６１０００１", "出境", ORGANIZER, "日本5日游", "2026-10-03", "2026年10月7日", "日本、韩国", "沈阳桃仙机场",
             4, "已提交", "2026-09-25 10:00:00"]
    return [
        [*group, 1, "王 伟", "男", "1975-01-01", "身份证", GOOD_ID, "中国", "D-2101-123456"],
        [*group, 2, "李娜", "女", "1988-05-12", "身份证", OTHER_ID, "中国", "D-2101-123456"],
        [*group, 3, "张敏", "女", "1988-05-12", "身份证", BAD_CHECKSUM, "中国", "D-2101-123456"],
        [*group, 4, "赵强", "男", "1990-01-01", "护照", "Ｅ１２３４５６７８", "中国", "D-2101-123456"],
    ]


def run(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([TOURLINK, *args], capture_output=True, text=True, env=env or os.environ.copy(), timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"tourlink {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result


def query(home: Path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(home / "warehouse.db") as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture
def roster_xlsx(tmp_path) -> Path:
    path = tmp_path / "团队名单导入模板.xlsx"
    write_template_xlsx(path, ROSTER_HEADERS, roster_rows(), title="2026年10月 团队名单", notes="注：证件号码请设为文本格式",
                        total_row=True, merge_columns=("团队编号",))
    return path


@pytest.fixture
def agency_csv(tmp_path) -> Path:
    path = tmp_path / "旅行社信息.csv"
    headers = ["统一社会信用代码", "旅行社名称", "许可证编号", "所在地区划代码", "经营范围", "出境资质取得日期", "经营状态", "更新时间"]
    rows = [[ORGANIZER, "沈阳远航国际旅行社有限公司", "L-LN-CJ00012", "210102", "国内旅游、入境旅游、出境旅游", "2019-01-01", "正常", "2026-09-01 09:00"]]
    write_template_csv(path, headers, rows, encoding="gbk", title="旅行社信息导入模板")
    return path


def test_a_messy_roster_and_a_gbk_agency_file_land_row_by_row(tourlink_home, roster_xlsx, agency_csv):
    # Children's file first: the batch orders parents before children whatever order files come in.
    out = json.loads(run("import", str(roster_xlsx), str(agency_csv), "--json").stdout)

    assert out["entities"]["travel_agency"] == {"read": 1, "loaded": 1, "quarantined": 0, "unchanged": 0}
    assert out["entities"]["tour_group"]["loaded"] == 1
    assert out["entities"]["group_member"] == {"read": 4, "loaded": 3, "quarantined": 1, "unchanged": 0}
    assert out["entities"]["group_staff"]["loaded"] == 1

    group = query(tourlink_home, "select group_code, start_date, end_date, destinations, status from tour_group")
    assert group == [("CJ2610001", "2026-10-03", "2026-10-07", "JPN|KOR", "SUBMITTED")]
    members = query(tourlink_home, "select seq_no, name, doc_type, doc_no, nationality from group_member order by seq_no")
    assert members == [
        (1, "王伟", "CN_RIC", GOOD_ID, "CHN"),  # inner space of a Chinese name dropped
        (2, "李娜", "CN_RIC", OTHER_ID, "CHN"),
        (4, "赵强", "CN_PASSPORT", "E12345678", "CHN"),  # full-width digits normalised
    ]
    (file, row, entity, rules, raw), = query(tourlink_home, "select file, row, entity, rules, raw from quarantine")
    assert (Path(file).name, entity) == ("团队名单导入模板.xlsx", "group_member")
    assert row == 6  # title (1), blank (2), header (3), tourists from row 4: the third is where Excel shows it
    assert sorted((r["rule"], r["severity"], r["field"]) for r in json.loads(rules)) == [
        ("PINYIN_MISSING", "WARN", "name_pinyin"),  # every rule that failed, not just the first
        ("RIC_CHECKSUM", "ERROR", "doc_no"),
    ]
    assert json.loads(raw)["证件号"] == BAD_CHECKSUM  # the row as received, original headers
    # Loaded rows keep their warnings as findings: the outbound roster has no pinyin.
    assert query(tourlink_home, "select rule, count(*) from finding group by rule") == [("PINYIN_MISSING", 3)]


def test_reimporting_the_same_files_changes_nothing(tourlink_home, roster_xlsx, agency_csv):
    run("import", str(agency_csv), str(roster_xlsx))
    tables = ["travel_agency", "tour_group", "group_member", "group_staff", "quarantine"]
    before = {t: query(tourlink_home, f"select * from {t} order by 1, 2") for t in tables}  # noqa: S608

    # --force: read, validate and merge them again (by default files already loaded are skipped unread).
    out = json.loads(run("import", str(roster_xlsx), str(agency_csv), "--force", "--json").stdout)

    assert all(c["loaded"] == 0 for c in out["entities"].values()), out
    assert out["entities"]["group_member"]["unchanged"] == 3
    assert {t: query(tourlink_home, f"select * from {t} order by 1, 2") for t in tables} == before  # noqa: S608


def test_every_raw_input_is_kept_in_the_landing_folder_by_content_hash(tourlink_home, roster_xlsx, agency_csv):
    import hashlib

    run("import", str(agency_csv), str(roster_xlsx))
    for path in (roster_xlsx, agency_csv):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        (landing,) = query(tourlink_home, "select landing_path from batch_file where sha256 = ?", digest)[0]
        kept = next((tourlink_home / "landing").rglob(Path(landing).name))
        assert kept.read_bytes() == path.read_bytes()


def test_an_unreadable_file_fails_the_batch_with_exit_2_and_loads_nothing(tourlink_home, roster_xlsx, tmp_path):
    broken = tmp_path / "损坏的文件.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is not really a workbook")

    result = run("import", str(roster_xlsx), str(broken), check=False)

    assert result.returncode == 2
    assert "损坏的文件.xlsx" in result.stderr
    if (tourlink_home / "warehouse.db").exists():
        assert query(tourlink_home, "select count(*) from tour_group") == [(0,)]
        assert query(tourlink_home, "select count(*) from quarantine") == [(0,)]


def test_validate_reports_every_failing_rule_and_writes_nothing(tourlink_home, roster_xlsx, agency_csv):
    result = run("validate", str(agency_csv), str(roster_xlsx), "--json", check=False)

    assert result.returncode == 1
    failures = json.loads(result.stdout)["failures"]
    errors = [(f["row"], r["rule"]) for f in failures for r in f["rules"] if r["severity"] == "ERROR"]
    assert errors == [(6, "RIC_CHECKSUM")]
    masked = [r["value"] for f in failures for r in f["rules"] if r["rule"] == "RIC_CHECKSUM"]
    assert masked and BAD_CHECKSUM not in masked  # identifiers never printed in full
    assert query(tourlink_home, "select count(*) from tour_group") == [(0,)]


def _canonical_files(tmp_path: Path, groups: int, members_per_group: int, bad_members: int = 0) -> tuple[Path, Path]:
    import polars as pl

    codes = [f"G{i:06d}" for i in range(groups)]
    pl.DataFrame({
        "group_code": codes, "organizer_uscc": ORGANIZER, "group_type": "DOMESTIC", "start_date": "2026-10-01",
        "end_date": "2026-10-03", "destinations": "21", "tourist_count": members_per_group, "status": "SUBMITTED",
        "submitted_at": "2026-09-20 10:00:00", "updated_at": "2026-09-20 10:00:00",
    }).write_csv(tmp_path / "tour_group.csv")
    n = groups * members_per_group
    pl.DataFrame({
        "organizer_uscc": [ORGANIZER] * n,
        "group_code": [codes[i // members_per_group] for i in range(n)],
        "seq_no": [i % members_per_group + 1 for i in range(n)],
        "name": ["王伟"] * n, "gender": ["M"] * n, "birth_date": ["1975-01-01"] * n,
        "doc_type": ["CN_RIC"] * n, "doc_no": [GOOD_ID] * n,
    }).with_columns(
        doc_no=pl.when(pl.int_range(0, n) < bad_members).then(pl.lit(BAD_CHECKSUM))
        .otherwise(pl.lit("E") + (pl.int_range(0, n) + 10_000_000).cast(pl.String)),
        doc_type=pl.when(pl.int_range(0, n) < bad_members).then(pl.lit("CN_RIC")).otherwise(pl.lit("CN_PASSPORT")),
    ).write_csv(tmp_path / "group_member.csv")
    return tmp_path / "tour_group.csv", tmp_path / "group_member.csv"


@pytest.mark.parametrize("crash_at", ["merged:tour_group", "merged:group_member", "quarantined:group_member",
                                      "before-commit"])
def test_a_batch_killed_anywhere_in_its_commit_leaves_nothing_and_a_rerun_completes_it(tourlink_home, tmp_path,
                                                                                       crash_at):
    groups, per_group = 300, 20
    files = _canonical_files(tmp_path, groups, per_group, bad_members=1)

    killed = run("import", *map(str, files), env={**os.environ, "TOURLINK_CRASH_AT": crash_at}, check=False)

    assert killed.returncode == -signal.SIGKILL
    assert query(tourlink_home, "select count(*) from group_member") == [(0,)]
    assert query(tourlink_home, "select count(*) from tour_group") == [(0,)]
    assert query(tourlink_home, "select count(*) from quarantine") == [(0,)]

    out = json.loads(run("import", *map(str, files), "--json").stdout)

    assert out["entities"]["group_member"]["loaded"] == groups * per_group - 1
    assert out["entities"]["group_member"]["quarantined"] == 1
    assert query(tourlink_home, "select count(*), count(distinct group_code || '/' || seq_no) from group_member") == [
        (groups * per_group - 1, groups * per_group - 1)
    ]
    assert query(tourlink_home, "select count(*) from quarantine") == [(1,)]
    statuses = dict(query(tourlink_home, "select status, count(*) from batch group by status"))
    assert statuses.get("committed") == 1


def test_a_route_named_like_a_total_and_two_tourists_under_one_seq_no_are_never_dropped(tourlink_home, tmp_path):
    rows = roster_rows()
    for row in rows:
        row[3] = "合计"  # the route is named 合计 on every row, the last one included
    rows[2][15:17] = ["身份证", resident_id("21020219880512004")]  # the third tourist is valid
    rows[3][11:17] = [2, "李丽", "女", "1988-05-12", "身份证", resident_id("21020219880512020")]  # a second 序号 2
    path = tmp_path / "团队名单.xlsx"
    write_template_xlsx(path, ROSTER_HEADERS, rows, notes="注：证件号码请设为文本格式", total_row=True)
    out = json.loads(run("import", str(path), "--json", check=False).stdout)
    assert out["entities"]["tour_group"] == {"read": 1, "loaded": 1, "quarantined": 0, "unchanged": 0}
    assert out["entities"]["group_member"] == {"read": 4, "loaded": 2, "quarantined": 2, "unchanged": 0}
    conflicts = query(tourlink_home, "select row, rules from quarantine order by row")
    assert [(row, sorted(r["rule"] for r in json.loads(rules) if r["severity"] == "ERROR")) for row, rules in conflicts] \
        == [(3, ["KEY_CONFLICT"]), (5, ["KEY_CONFLICT"])]  # both tourists of 序号 2, each an ERROR


@pytest.mark.parametrize("damage", [b"\xef\xbb\xbf\xef\xbb\xbf", b"\x00"], ids=["double-BOM", "leading-NUL"])
def test_a_roster_whose_first_header_cell_is_damaged_is_still_read_as_a_roster(tourlink_home, tmp_path, damage):
    path = tmp_path / "团队名单.csv"
    write_template_csv(path, ROSTER_HEADERS, roster_rows(), encoding="utf-8")
    path.write_bytes(damage + path.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    out = json.loads(run("import", str(path), "--json").stdout)
    assert "guide" not in out["entities"]
    assert out["entities"]["group_member"] == {"read": 4, "loaded": 3, "quarantined": 1, "unchanged": 0}
