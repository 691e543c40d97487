"""The HTML report in a real headless Chromium: counts, masking, filters and region scoping in the DOM."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import validators
from tests.report import quarantine_sample as qs
from tests.web.chromium import Chromium
from tourlink.report.failures import Scope
from tourlink.report.publish import publish_report

NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
def browser(tmp_path):
    b = Chromium(tmp_path / "chromium-profile")
    yield b
    b.close()


def test_the_city_report_shows_its_failures_masked_and_filterable(sample_engine, tmp_path, browser):
    (tmp_path / "out" / "data-docs").mkdir(parents=True)
    (tmp_path / "out" / "data-docs" / "index.html").write_text("<html>GX</html>", encoding="utf-8")
    files = publish_report(sample_engine, Scope(region="2101"), tmp_path / "out", now=NOW)
    browser.goto(files.html.as_uri())

    assert browser.texts("#total-entries") == ["4"]
    assert browser.texts("#visible-count") == ["6"]
    assert len(browser.texts("tr.failure")) == 6
    values = browser.texts("td.value")
    assert "2101**********123X" in values and "138****5678" in values
    page = browser.eval("document.body.innerText")
    assert qs.FULL_ID not in page and qs.MOBILE not in page
    assert qs.FORMULA in values  # shown as text: HTML escaping keeps it inert
    assert browser.eval("document.querySelectorAll('a[href^=\"http\"]').length") == 0
    assert browser.eval("document.getElementById('data-docs').getAttribute('href')") == "data-docs/index.html"
    # region scoping in the DOM: no other city's agency anywhere, even in the filter lists and trend
    assert "大连" not in page and "石家庄" not in page and qs.DALIAN not in browser.eval("document.documentElement.outerHTML")

    browser.fill("#f-rule", "RIC_CHECKSUM")
    assert browser.texts("#visible-count") == ["1"]
    (message,) = browser.visible_texts("tr.failure td.hint .message")
    assert message == "证件号码 2101**********123X 校验位错误，请核对第18位"
    assert browser.visible_texts("tr.failure td.hint .fix") == [validators.catalogue()["RIC_CHECKSUM"].hint_zh]
    assert browser.visible_texts("tr.failure td.rule") == ["身份证号码校验位错误 RIC_CHECKSUM"]
    browser.fill("#f-rule", "")
    browser.fill("#f-agency", qs.SHENYANG_A)
    assert browser.texts("#visible-count") == ["4"]
    browser.fill("#f-source", "sftp:erp")
    assert browser.texts("#visible-count") == ["0"]
    assert browser.visible_texts("tbody.agency-group tr.group-head") == []
    browser.screenshot(tmp_path / "report.png")
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_a_filter_in_the_link_applies_when_the_page_opens(sample_engine, tmp_path, browser):
    files = publish_report(sample_engine, Scope(), tmp_path, now=NOW)
    browser.goto(files.html.as_uri() + "#day=2026-03-03")
    assert browser.texts("#visible-count") == ["1"]
    assert browser.visible_texts("tr.failure td.row") == ["9"]


def test_the_failure_page_links_the_indicator_page_whose_charts_load(sample_engine, tmp_path, browser):
    """Issue 3's indicator page, reached from the stewards' report: the table and both PNG charts render."""
    files = publish_report(sample_engine, Scope(region="210000"), tmp_path / "out", now=NOW, month="2026-03")
    browser.goto(files.html.as_uri())
    href = browser.eval("document.getElementById('indicator-page').getAttribute('href')")
    assert href == "indicators-21-2026-03.html"
    browser.goto((files.html.parent / href).as_uri())
    assert browser.texts("h1") == ["2026-03 指标（21）"]
    assert len(browser.texts("table tr")) == 9  # header + indicators 1-8
    widths = browser.eval("Array.from(document.images).map(function (i) { return i.complete ? i.naturalWidth : 0; })")
    assert len(widths) == 2 and min(widths) > 100
    browser.screenshot(tmp_path / "indicators.png")
    assert (tmp_path / "indicators.png").stat().st_size > 10_000
