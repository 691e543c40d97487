"""The indicator page of `tourlink report`: the three ★ indicators per region, and their last six months.

PNG charts via matplotlib (Agg) in an HTML page beside them. Chinese labels need a CJK font; when
none is installed the charts fall back to indicator numbers and region codes (the HTML table keeps
the Chinese names, which the browser renders).
"""

from __future__ import annotations

import html
from pathlib import Path

from warehouse.engine import open_connection
from warehouse.indicators import (
    INDICATOR_NAMES,
    KEY_INDICATORS,
    compute_all_regions,
    compute_indicators,
)
from warehouse.regions import NATION, Month, normalise_region

_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
              "SimHei", "Microsoft YaHei", "PingFang SC", "Noto Serif CJK SC", "AR PL UMing CN")


def cjk_font() -> str | None:
    """The name of an installed font that can draw Chinese, or None."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in _CJK_FONTS if name in installed), None)


def _label(indicator: int, chinese: bool) -> str:
    return f"{indicator}★ {INDICATOR_NAMES[indicator]}" if chinese else f"Indicator {indicator} (%)"


def render_indicator_page(conn, month: str, out_dir: Path, region: str | None = None) -> Path:
    """Write `indicators-<region>-<month>.html` (+ two PNGs) into `out_dir`; return the HTML path.

    Bars: the ★ indicators of each sub-region (provinces of the nation, prefectures of a province).
    Line: the region's ★ indicators over the six months ending with `month`.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m, r = Month.parse(month), normalise_region(region)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    font = cjk_font()
    if font:
        plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
        plt.rcParams["axes.unicode_minus"] = False
    chinese = font is not None

    with open_connection(conn) as c:
        everything = compute_all_regions(c, m.label)
        child_len = 2 if r == NATION else 4
        children = sorted({f.region for f in everything if len(f.region) == child_len
                           and (r == NATION or f.region.startswith(r))}) or [r]
        bars = {(f.region, f.indicator): f for f in everything}
        months = [m.previous(n) for n in range(5, -1, -1)]
        history = {mm.label: {f.indicator: f for f in compute_indicators(c, mm.label, r)} for mm in months}

    stem = f"indicators-{r}-{m.label}"
    bar_png, line_png = out_dir / f"{stem}-regions.png", out_dir / f"{stem}-trend.png"

    fig, axes = plt.subplots(len(KEY_INDICATORS), 1, figsize=(max(6, 0.5 * len(children) + 2), 3 * len(KEY_INDICATORS)))
    for ax, i in zip(axes, KEY_INDICATORS, strict=True):
        values = [float(bars[(x, i)].value) if (x, i) in bars and bars[(x, i)].value is not None else 0.0 for x in children]
        ax.bar(children, values, color="#c0392b" if i == 7 else "#2c7fb8")
        ax.set_title(_label(i, chinese), fontsize=10)
        ax.set_ylabel("%")
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    fig.tight_layout()
    fig.savefig(bar_png, dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 3.5))
    labels = [mm.label for mm in months]
    for i in KEY_INDICATORS:
        ys = [float(v) if (v := history[x][i].value) is not None else float("nan") for x in labels]
        ax.plot(labels, ys, marker="o", label=_label(i, chinese))
    ax.set_ylabel("%")
    ax.legend(fontsize=8)
    ax.set_title(f"{r} {labels[0]} – {labels[-1]}", fontsize=10)
    fig.tight_layout()
    fig.savefig(line_png, dpi=100)
    plt.close(fig)

    rows = "\n".join(
        f"<tr><td>{f.indicator}{'★' if f.indicator in KEY_INDICATORS else ''}</td>"
        f"<td>{html.escape(INDICATOR_NAMES[f.indicator])}</td><td>{f.numerator}</td>"
        f"<td>{'' if f.denominator is None else f.denominator}</td><td>{'—' if f.value is None else f.value}</td></tr>"
        for f in history[m.label].values()
    )
    title = f"{m.label} 指标（{'全国' if r == NATION else r}）"
    page = out_dir / f"{stem}.html"
    page.write_text(f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px}}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<table><tr><th>指标</th><th>名称</th><th>分子</th><th>分母</th><th>值</th></tr>
{rows}
</table>
<h2>★ 指标分地区</h2><img src="{bar_png.name}" alt="★ 指标分地区">
<h2>★ 指标近六个月</h2><img src="{line_png.name}" alt="★ 指标近六个月">
</body></html>
""", encoding="utf-8")
    return page
