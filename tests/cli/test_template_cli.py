"""`tourlink template`: blank import templates an agency fills in and uploads, imported back cleanly."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import date
from pathlib import Path

import openpyxl

from devkit.demo.people import make_ric, make_uscc
from mappings.detection import detect_mapping
from mappings.spec import templates

TOURLINK = str(Path(sys.executable).parent / "tourlink")
CHINESE_NAMES = ["旅行社信息", "团队名单", "电子合同", "导游信息", "导游APP使用", "旅行社统计"]


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([TOURLINK, *args], capture_output=True, text=True, env=os.environ.copy(), timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"tourlink {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result


def fill(path: Path, rows: list[dict[str, object]]) -> list[str]:
    """Type `rows` (header -> value) under the template's header row, as an agency would; returns the headers."""
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[2]]
    for line, row in enumerate(rows, start=3):
        unknown = set(row) - set(headers)
        assert not unknown, unknown
        for header, value in row.items():
            sheet.cell(line, headers.index(header) + 1, value)
    book.save(path)
    return headers


def test_list_names_every_template():
    listed = run("template", "--list").stdout.splitlines()

    assert [line.split("\t")[1] for line in listed] == [m.name for m in templates()]
    assert sorted(line.split("\t")[0] for line in listed) == sorted(CHINESE_NAMES)


def test_every_template_is_written_with_the_headers_its_mapping_detects(tmp_path):
    for name in CHINESE_NAMES:
        out = tmp_path / f"{name}.xlsx"
        assert "列 →" in run("template", name, "--out", str(out)).stdout
        headers = [c.value for c in openpyxl.load_workbook(out).worksheets[0][2]]
        assert detect_mapping(headers).description == f"{name}导入模板"


def test_an_unknown_template_or_a_non_xlsx_file_is_refused_clearly(tmp_path):
    unknown = run("template", "团队", "--out", str(tmp_path / "x.xlsx"), check=False)
    assert unknown.returncode == 2 and "未知的导入模板" in unknown.stderr and "Traceback" not in unknown.stderr
    csv = run("template", "团队名单", "--out", str(tmp_path / "x.csv"), check=False)
    assert csv.returncode == 2 and ".xlsx" in csv.stderr
    assert not (tmp_path / "x.xlsx").exists() and not (tmp_path / "x.csv").exists()


def test_templates_filled_in_by_openpyxl_import_cleanly(tourlink_home, tmp_path):
    rng = random.Random(18)
    agency = make_uscc(rng, "210102")
    ids = [make_ric(rng, "210102", date(1975, 1, 1), "M"), make_ric(rng, "210103", date(1988, 5, 12), "F")]
    files = {name: tmp_path / f"{name}.xlsx" for name in ("旅行社信息", "团队名单", "电子合同", "旅行社统计")}
    for name, path in files.items():
        run("template", name, "--out", str(path))

    fill(files["旅行社信息"], [{
        "统一社会信用代码": agency, "旅行社名称": "沈阳远航国际旅行社有限公司", "单位类型": "总社", "许可证编号": "L-LN-CJ00012",
        "所在地区划代码": "210102", "经营范围": "国内旅游、入境旅游、出境旅游", "出境资质取得日期": "2019-01-01",
        "经营状态": "正常", "联系电话": "024-23456789", "更新时间": "2026-09-01 09:00:00",
    }])
    group = {"团号": "CJ2610001", "组团社统一社会信用代码": agency, "团队类型": "国内", "线路名称": "大连3日游",
             "出发日期": "2026-10-03", "返回日期": "2026-10-05", "目的地": "辽宁省", "游客人数": 2, "团队状态": "已报送",
             "领队证号": "D-2101-123456"}
    fill(files["团队名单"], [
        {**group, "序号": 1, "姓名": "王伟", "性别": "男", "出生日期": "1975-01-01", "证件类型": "身份证", "证件号码": ids[0],
         "国籍": "中国", "手机号码": "13800138000"},
        {**group, "序号": 2, "姓名": "李娜", "性别": "女", "出生日期": "1988-05-12", "证件类型": "身份证", "证件号码": ids[1],
         "国籍": "中国"},
    ])
    contract = {"合同编号": "HT2026100001", "旅行社统一社会信用代码": agency, "合同类型": "境内", "团号": "CJ2610001",
                "出发日期": "2026-10-03", "返回日期": "2026-10-05", "游客人数": 1, "合同金额": 1980, "合同状态": "已签署",
                "上传时间": "2026-09-20 10:00:00", "签署时间": "2026-09-20 09:30:00"}
    fill(files["电子合同"], [{**contract, "序号": 1, "姓名": "王伟", "性别": "男", "出生日期": "1975-01-01",
                              "证件类型": "身份证", "证件号码": ids[0], "国籍": "中国"}])
    fill(files["旅行社统计"], [{"统一社会信用代码": agency, "统计期": "2026-Q3", "国内组织人次": 120, "分社数量": 0}])

    # The receipt stamps are in the templates and left blank, as agencies do: they take the time of receipt.
    for name in ("团队名单", "电子合同"):
        headers = [c.value for c in openpyxl.load_workbook(files[name]).worksheets[0][2]]
        assert "更新时间" in headers and ("报送时间" in headers) == (name == "团队名单")

    out = json.loads(run("import", *map(str, files.values()), "--json").stdout)

    assert {e: c["quarantined"] for e, c in out["entities"].items()} == dict.fromkeys(out["entities"], 0), out
    loaded = {e: c["loaded"] for e, c in out["entities"].items()}
    assert loaded == {"travel_agency": 1, "tour_group": 1, "group_member": 2, "group_staff": 1, "e_contract": 1,
                      "contract_tourist": 1, "agency_statistics": 1}, out

    # Stamped anew on every receipt, the blank stamps are not content: importing the same files again writes nothing.
    again = json.loads(run("import", *map(str, files.values()), "--force", "--json").stdout)
    assert all(c["loaded"] == 0 for c in again["entities"].values()), again
