"""The web view in a real headless Chromium: log in, browse the region's failures, filter, waive."""

from __future__ import annotations

import sqlalchemy as sa

from tests.report import quarantine_sample as qs
from tests.web.conftest import PASSWORDS


def _log_in(browser, view, username: str) -> None:
    browser.goto(view.url + "/")
    assert browser.eval("location.pathname") == "/login"
    browser.fill("input[name=username]", username)
    browser.fill("input[name=password]", PASSWORDS[username])
    browser.submit("#login")
    assert browser.eval("location.pathname") == "/"


def test_a_city_steward_browses_filters_and_waives_in_a_browser(web_view, browser, tmp_path):
    _log_in(browser, web_view, "shenyang")
    assert browser.texts("#region") == ["地区 2101"]
    assert browser.texts("#total-entries") == ["4"]
    assert browser.texts("#visible-count") == ["6"]
    html = browser.eval("document.documentElement.outerHTML")
    assert qs.DALIAN not in html and qs.HEBEI not in html and "大连海滨" not in html
    assert qs.FULL_ID not in html and "2101**********123X" in browser.texts("td.value")

    browser.fill("#f-rule", "TYPE")
    assert browser.texts("#visible-count") == ["2"]
    browser.screenshot(tmp_path / "web-filtered.png")

    target = web_view.ids[f"{qs.SHENYANG_B}:3"]
    browser.fill(f"tr.failure[data-id='{target}'] form.waive input[name=reason]", "该团已取消，无需更正")
    browser.submit(f"tr.failure[data-id='{target}'] form.waive")
    assert browser.texts("#total-entries") == ["3"]
    assert browser.eval(f"document.querySelectorAll(\"tr.failure[data-id='{target}']\").length") == 0
    with web_view.engine.connect() as conn:
        row = conn.execute(sa.text("select status, status_reason from quarantine where id = :i"), {"i": target}).one()
        history = conn.execute(sa.text("select status, actor, reason from quarantine_history where quarantine_id = :i"), {"i": target}).all()
    assert tuple(row) == ("waived", "该团已取消，无需更正")
    assert [tuple(h) for h in history] == [("waived", "shenyang", "该团已取消，无需更正")]
    shot = browser.screenshot(tmp_path / "web.png")
    assert shot.stat().st_size > 10_000


def test_server_side_filters_in_the_address_stay_within_the_region(web_view, browser):
    _log_in(browser, web_view, "dalian")
    browser.goto(web_view.url + f"/?agency={qs.SHENYANG_A}")
    assert browser.texts("#total-entries") == ["0"]
    browser.goto(web_view.url + "/?rule=RIC_CHECKSUM")
    assert browser.texts("#total-entries") == ["1"]
    assert browser.eval("document.getElementById('download').getAttribute('href')") == "/failures.xlsx?rule=RIC_CHECKSUM"
