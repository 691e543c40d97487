"""No output shows a full ID number or a birth date: the HTML/xlsx report, `quarantine list --json`,
`validate` (text and JSON) and the web API, for the two leaks issue 16 found — an ID number glued to
letters in a non-personal column, and an unparsable birth date quoted inside a rule message.

Real files: the demo's agencies and a 团队名单 xlsx, imported into the embedded SQLite warehouse.
"""

from __future__ import annotations

import json
import random
from datetime import date

import httpx
import openpyxl
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from devkit.demo.people import make_ric
from devkit.demo.sample import write_sample
from devkit.demo.spreadsheets import write_template_xlsx
from tests.web.conftest import PASSWORDS, login_csrf, serve, stewards_spec
from tourlink.cli import app

runner = CliRunner()

HEADERS = ["团号", "团队类型", "组团社统一社会信用代码", "地接社统一社会信用代码", "线路名称", "出发日期", "返回日期",
           "目的地", "出境口岸", "入境口岸", "客源地", "游客人数", "团队状态", "报送时间",
           "序号", "姓名", "性别", "出生日期", "证件类型", "证件号码", "手机号码"]  # fmt: skip
BAD_BIRTH = "1975年13月45日"


def _tourlink(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.stdout


@pytest.fixture
def leaky_roster(tourlink_home, tmp_path):
    """A Shenyang roster whose 地接社 column holds `AB<ID number>` and whose 序号2 has an unparsable birth date."""
    sample = write_sample(tmp_path / "sample")
    agency = sample.agencies[0]
    _tourlink("import", str(sample.files[0]))
    rng = random.Random(11)
    ids = [make_ric(rng, "210102", date(1980, 5, 6), "M"), make_ric(rng, "210102", date(1975, 1, 12), "F")]
    glued = "AB" + ids[0]
    group = ["GN2610002", "国内", agency.uscc, glued, "辽东3日游", "2026-10-10", "2026-10-12", "辽宁省", "", "", "21", 2,
             "已提交", "2026-10-05 09:00:00"]  # fmt: skip
    rows = [
        [*group, 1, "王伟", "男", "1980-05-06", "身份证", ids[0], "13812345678"],
        [*group, 2, "李娜", "女", BAD_BIRTH, "身份证", ids[1], "13912345678"],
    ]
    roster = tmp_path / "团队名单_沈阳.xlsx"
    write_template_xlsx(roster, HEADERS, rows, title="团队名单（2026年10月）")
    return {"roster": roster, "agencies": sample.files[0], "ids": ids, "home": tourlink_home, "tmp": tmp_path}


def _assert_masked(text: str, ids: list[str]) -> None:
    for number in ids:
        assert number not in text
    assert BAD_BIRTH not in text and "13月45日" not in text


def test_validate_masks_values_and_messages_in_text_and_json(leaky_roster):
    ids = leaky_roster["ids"]
    as_text = _tourlink("validate", str(leaky_roster["agencies"]), str(leaky_roster["roster"]), code=1)
    as_json = _tourlink("validate", str(leaky_roster["agencies"]), str(leaky_roster["roster"]), "--json", code=1)
    assert "USCC_CHECKSUM receiving_uscc" in as_text and "出生日期“1975年**月**日”" in as_text  # the rules are still shown
    _assert_masked(as_text, ids)
    _assert_masked(as_json, ids)
    rules = [r for f in json.loads(as_json)["failures"] for r in f["rules"]]
    assert {r["rule"] for r in rules if r["field"] == "birth_date"} == {"TYPE"}
    glued = [r["value"] for r in rules if r["field"] == "receiving_uscc"]
    assert glued == ["AB" + ids[0][:4] + "*" * 10 + ids[0][-4:]]


def test_the_report_the_listing_and_the_web_api_mask_them(leaky_roster):
    ids = leaky_roster["ids"]
    _tourlink("import", str(leaky_roster["roster"]))
    listing = _tourlink("quarantine", "list", "--json")
    assert "TYPE" in listing and "1975年**月**日" in listing
    _assert_masked(listing, ids)

    out = leaky_roster["tmp"] / "report"
    _tourlink("report", "--out", str(out), "--status", "all", "--no-indicators", "--no-data-docs")
    html = "\n".join(p.read_text(encoding="utf-8") for p in out.rglob("*.html"))
    assert "1975年**月**日" in html
    _assert_masked(html, ids)
    workbooks = list(out.rglob("*.xlsx"))
    assert workbooks
    for path in workbooks:
        cells = [str(c) for ws in openpyxl.load_workbook(path).worksheets for row in ws.iter_rows(values_only=True) for c in row if c]
        _assert_masked("\n".join(cells), ids)

    engine = sa.create_engine(f"sqlite:///{leaky_roster['home'] / 'warehouse.db'}")
    with serve(engine, stewards_spec()) as url, httpx.Client(base_url=url) as client:
        login = {"username": "liaoning", "password": PASSWORDS["liaoning"], "csrf": login_csrf(client)}
        assert client.post("/login", data=login).status_code == 303
        entries = client.get("/api/entries").text
        assert "1975年**月**日" in entries
        _assert_masked(entries, ids)
        for entry in json.loads(entries):
            _assert_masked(client.get(f"/api/entries/{entry['id']}").text, ids)
        _assert_masked(client.get("/", headers={"accept": "text/html"}).text, ids)
    engine.dispose()
