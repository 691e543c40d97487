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

from devkit.demo.people import make_ric
from tests.cli.rosters import Member, load_agencies, tourlink, write_roster
from tests.web.conftest import PASSWORDS, login_csrf, serve, stewards_spec

BAD_BIRTH = "1975年13月45日"


@pytest.fixture
def leaky_roster(tourlink_home, tmp_path):
    """A Shenyang roster whose 地接社 column holds `AB<ID number>` and whose 序号2 has an unparsable birth date."""
    sample = load_agencies(tmp_path)
    rng = random.Random(11)
    ids = [make_ric(rng, "210102", date(1980, 5, 6), "M"), make_ric(rng, "210102", date(1975, 1, 12), "F")]
    members = [Member("王伟", "M", "1980-05-06", ids[0]), Member("李娜", "F", BAD_BIRTH, ids[1])]
    roster = write_roster(tmp_path / "团队名单_沈阳.xlsx", sample.agencies[0].uscc, "GN2610002", members,
                          receiving="AB" + ids[0])
    return {"roster": roster, "agencies": sample.files[0], "ids": ids, "home": tourlink_home, "tmp": tmp_path}


def _assert_masked(text: str, ids: list[str]) -> None:
    for number in ids:
        assert number not in text
    assert BAD_BIRTH not in text and "13月45日" not in text


def test_validate_masks_values_and_messages_in_text_and_json(leaky_roster):
    ids = leaky_roster["ids"]
    as_text = tourlink("validate", str(leaky_roster["agencies"]), str(leaky_roster["roster"]), code=1)
    as_json = tourlink("validate", str(leaky_roster["agencies"]), str(leaky_roster["roster"]), "--json", code=1)
    assert "USCC_CHECKSUM receiving_uscc" in as_text and "出生日期“1975年**月**日”" in as_text  # the rules are still shown
    _assert_masked(as_text, ids)
    _assert_masked(as_json, ids)
    rules = [r for f in json.loads(as_json)["failures"] for r in f["rules"]]
    assert {r["rule"] for r in rules if r["field"] == "birth_date"} == {"TYPE"}
    glued = [r["value"] for r in rules if r["field"] == "receiving_uscc"]
    assert glued == ["AB" + ids[0][:4] + "*" * 10 + ids[0][-4:]]


def test_the_report_the_listing_and_the_web_api_mask_them(leaky_roster):
    ids = leaky_roster["ids"]
    tourlink("import", str(leaky_roster["roster"]))
    listing = tourlink("quarantine", "list", "--json")
    assert "TYPE" in listing and "1975年**月**日" in listing
    _assert_masked(listing, ids)

    out = leaky_roster["tmp"] / "report"
    tourlink("report", "--out", str(out), "--status", "all", "--no-indicators", "--no-data-docs")
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
