"""A steward sees and touches only their own region's entries (统一平台，分级管理), over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import sqlalchemy as sa

from tests.report import quarantine_sample as qs
from tests.web.conftest import PASSWORDS, login_csrf


@contextmanager
def _login(view, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=view.url, follow_redirects=False) as client:
        r = client.post("/login", data={"username": username, "password": PASSWORDS[username], "csrf": login_csrf(client)})
        assert r.status_code == 303
        yield client


def test_a_wrong_password_is_refused(web_view):
    with httpx.Client(base_url=web_view.url) as client:
        r = client.post("/login", data={"username": "shenyang", "password": "guess", "csrf": login_csrf(client)})
        assert r.status_code == 401
        assert client.get("/api/entries").status_code == 401


def test_a_city_steward_lists_only_their_citys_entries(web_view):
    with _login(web_view, "dalian") as client:
        entries = client.get("/api/entries").json()
        assert {e["agency_uscc"] for e in entries} == {qs.DALIAN}
        # a region in the query string does not widen the scope
        assert client.get("/api/entries", params={"region": "21", "agency": qs.SHENYANG_A}).json() == []


def test_a_steward_of_region_a_gets_403_for_region_bs_entry(web_view):
    shenyang_entry = web_view.ids[f"{qs.SHENYANG_A}:5"]
    with _login(web_view, "dalian") as client:
        assert client.get(f"/api/entries/{shenyang_entry}").status_code == 403
        page = client.get("/")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        r = client.post(f"/entries/{shenyang_entry}/waive", data={"reason": "不是我的", "csrf": csrf})
        assert r.status_code == 403
    with web_view.engine.connect() as conn:
        assert conn.execute(sa.text("select status from quarantine where id = :i"), {"i": shenyang_entry}).scalar() == "open"
        assert conn.execute(sa.text("select count(*) from quarantine_history")).scalar() == 0


def test_a_province_steward_reaches_every_city_of_the_province_only(web_view):
    with _login(web_view, "liaoning") as client:
        agencies = {e["agency_uscc"] for e in client.get("/api/entries").json()}
        assert agencies == {qs.SHENYANG_A, qs.SHENYANG_B, qs.DALIAN, qs.UNREGISTERED}
        hebei = web_view.ids[f"{qs.HEBEI}:4"]
        assert client.get(f"/api/entries/{hebei}").status_code == 403


def test_a_waive_without_the_session_csrf_token_is_refused(web_view):
    entry = web_view.ids[f"{qs.DALIAN}:4"]
    with _login(web_view, "dalian") as client:
        assert client.post(f"/entries/{entry}/waive", data={"reason": "x", "csrf": "forged"}).status_code == 403


def test_the_xlsx_download_holds_only_the_region(web_view, tmp_path):
    import openpyxl

    with _login(web_view, "dalian") as client:
        r = client.get("/failures.xlsx")
        assert r.status_code == 200
    (tmp_path / "d.xlsx").write_bytes(r.content)
    wb = openpyxl.load_workbook(tmp_path / "d.xlsx")
    text = " ".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None)
    assert qs.DALIAN in text and qs.SHENYANG_A not in text and qs.DALIAN_ID not in text


def test_an_entrys_history_shows_who_waived_it_and_why(web_view):
    entry = web_view.ids[f"{qs.DALIAN}:4"]
    with _login(web_view, "dalian") as client:
        assert client.get(f"/api/entries/{entry}").json()["history"] == []
        csrf = client.get("/").text.split('name="csrf" value="')[1].split('"')[0]
        assert client.post(f"/entries/{entry}/waive", data={"reason": "重复报送", "csrf": csrf}).status_code == 303
        shown = client.get(f"/api/entries/{entry}").json()
        assert client.get("/api/entries", params={"status": "bogus"}).status_code == 400
    assert shown["status"] == "waived"
    assert [(h["status"], h["actor"], h["reason"]) for h in shown["history"]] == [("waived", "dalian", "重复报送")]


def test_a_steward_downloads_the_correction_template_of_an_agency_of_their_region_only(web_view, tmp_path):
    import openpyxl

    with _login(web_view, "dalian") as client:
        page = client.get("/", params={"agency": qs.DALIAN}).text
        assert f'href="/agencies/{qs.DALIAN}/fix.xlsx"' in page
        mine = client.get(f"/agencies/{qs.DALIAN}/fix.xlsx")
        theirs = client.get(f"/agencies/{qs.SHENYANG_A}/fix.xlsx")
    assert mine.status_code == 200 and theirs.status_code == 404 and qs.SHENYANG_A not in theirs.text
    (tmp_path / "fix.xlsx").write_bytes(mine.content)
    sheet = openpyxl.load_workbook(tmp_path / "fix.xlsx").worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[0] == "错误说明" and header[-3:] == ["隔离编号", "原文件", "原行号"]
    cells = " ".join(str(c.value) for row in sheet.iter_rows(min_row=2) for c in row if c.value is not None)
    assert qs.DALIAN_ID in cells  # unmasked: the agency must see what to correct
