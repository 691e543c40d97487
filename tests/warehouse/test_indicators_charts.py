"""The indicator page of `tourlink report` (`tourlink/report/indicator_charts.py`)."""

from __future__ import annotations

from datetime import date, datetime

from tests.warehouse import test_indicators_builder as built
from tourlink.report.indicator_charts import render_indicator_page

engine, wh = built.engine, built.wh  # the warehouse fixtures, on SQLite and PostgreSQL


def test_the_page_shows_the_months_figures_and_two_charts(wh, tmp_path):
    wh.agency("SY", division="210102")
    wh.agency("DL", division="210202")
    wh.group("SY", "G1")
    wh.group("SY", "G-FEB", submitted=datetime(2026, 2, 10), start=date(2026, 2, 20))
    page = render_indicator_page(wh.engine, "2026-03", tmp_path / "out", region="210000")
    text = page.read_text(encoding="utf-8")
    assert page.name == "indicators-21-2026-03.html"
    assert "当月填报过出境团队的出境社数量占比" in text and "<td>50.0</td>" in text
    for png in ("indicators-21-2026-03-regions.png", "indicators-21-2026-03-trend.png"):
        assert f'src="{png}"' in text
        assert (tmp_path / "out" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
