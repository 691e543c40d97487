"""Indicators 1–10 of 附件2 (SPEC section 6), computed as set-based SQL in the warehouse.

One query (`warehouse/indicator_sql.py`) folds the month's groups, contracts and rosters onto the
head offices (`A_all`, with an `is_out` flag for `A_out`) and sums them per region; a second counts
the guides of indicator 8, which must be distinct per region (a guide may lead groups of several
agencies). Only the per-region sums come back to Python, where the values are rounded half up with `Decimal`.

Decisions where SPEC leaves room (written down here and tested):
- Counts (1, 3, 5, 6) carry `denominator = None` and `value = numerator`.
- A unit whose organizer/agency code is unknown, or a branch without `parent_uscc`, has no head and
  counts nowhere (the cross-check `UNKNOWN_AGENCY` reports it).
- A `CANCELLED`/`REVOKED` agency without `status_date` stays in `A_all` (SPEC excludes only those
  with a status date before the month).
- Indicator 8: a guide is in a region's numerator when one of their assignments *in that region*
  has an opened day inside its window and inside the month.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from warehouse.engine import open_connection
from warehouse.indicator_sql import guide_sums, metric_sums
from warehouse.regions import NATION, Month, normalise_region, region_level

INDICATOR_NAMES = {
    1: "出境团队填报数量",
    2: "当月填报过出境团队的出境社数量占比",
    3: "出境游电子合同数量",
    4: "当月上传过出境游电子合同的出境社数量占比",
    5: "当月填报团队信息数量",
    6: "当月上传电子合同数量",
    7: "当月出境游团队游客签订电子合同数量占比",
    8: "带团导游APP开启率",
    9: "本地区重点城市推进情况",
    10: "本地区重点企业填报情况",
}
KEY_INDICATORS = (2, 4, 7)  # ★
RATIO_INDICATORS = (2, 4, 7, 8)
KEY_AGENCY_INDICATORS = (1, 3, 5, 6, 7)


@dataclass(frozen=True)
class IndicatorFigure:
    month: str
    region: str  # CN, 2-digit province or 4-digit prefecture (or a uscc for indicator 10)
    indicator: int
    numerator: int
    denominator: int | None
    value: Decimal | None

    def as_dict(self) -> dict:
        return {
            "month": self.month,
            "region": self.region,
            "indicator": self.indicator,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": _json_value(self.value),
        }


@dataclass(frozen=True)
class KeyCityFigures:
    city_code: str
    name: str | None
    rank: int
    figures: list[IndicatorFigure] = field(default_factory=list)


@dataclass(frozen=True)
class KeyAgencyFigures:
    uscc: str
    name: str | None
    rank: int | None
    month: str
    figures: list[IndicatorFigure]
    filed: bool


def _json_value(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)


def ratio(numerator: int, denominator: int) -> Decimal | None:
    """100 × num / den, rounded half up to one decimal; `None` for a zero denominator."""
    if not denominator:
        return None
    return (Decimal(100) * Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _grouped(conn, month: Month, level: int, prefix: str | None) -> dict:
    """{region: sums for indicators 1–8} per region of `level` within `prefix`."""
    out = metric_sums(conn, month, level, prefix)
    for region, guides in guide_sums(conn, month, level, prefix).items():
        if region in out:
            out[region].update(guides)
    return out


def _roll_up(sums: dict[str, dict], level: int) -> dict[str, dict]:
    """Add up per-prefecture sums of indicators 1–7 into provinces (level 2) or the nation (0)."""
    out: dict[str, dict] = {}
    for region, s in sums.items():
        if level and not region:
            continue  # a head office without a division code counts only nationally
        key = region[:level] if level else NATION
        acc = out.setdefault(key, dict.fromkeys(s, 0))
        for k, v in s.items():
            acc[k] += v
    return out


_EMPTY = dict.fromkeys(("i1", "i2", "a_out", "i3", "i4", "a_all", "i5", "i6", "i7n", "i7d", "i8n", "i8d"), 0)


def _figures(month: str, region: str, sums: dict | None, indicators: Iterable[int] = range(1, 9)) -> list[IndicatorFigure]:
    s = {**_EMPTY, **(sums or {})}
    pairs = {
        1: (s["i1"], None),
        2: (s["i2"], s["a_out"]),
        3: (s["i3"], None),
        4: (s["i4"], s["a_out"]),
        5: (s["i5"], None),
        6: (s["i6"], None),
        7: (s["i7n"], s["i7d"]),
        8: (s["i8n"], s["i8d"]),
    }
    out = []
    for i in indicators:
        num, den = pairs[i]
        value = Decimal(num) if den is None else ratio(num, den)
        out.append(IndicatorFigure(month, region, i, num, den, value))
    return out


def compute_indicators(conn, month: str, region: str | None = None) -> list[IndicatorFigure]:
    """Indicators 1–8 for `month` (YYYY-MM) and one region (`None`/`CN`, 2, 4 or 6 digits)."""
    with open_connection(conn) as c:
        m = Month.parse(month)
        r = normalise_region(region)
        sums = _grouped(c, m, 0, None if r == NATION else r)
        return _figures(m.label, r, sums.get(NATION))


def compute_all_regions(conn, month: str) -> list[IndicatorFigure]:
    """Indicators 1–8 for the nation and for every province and prefecture with an agency in A_all.

    Indicators 1–7 are summed once per prefecture and rolled up; indicator 8 is counted per level.
    """
    with open_connection(conn) as c:
        m = Month.parse(month)
        prefectures = metric_sums(c, m, 4)
        levels = {0: _roll_up(prefectures, 0), 2: _roll_up(prefectures, 2), 4: prefectures}
        figures: list[IndicatorFigure] = []
        for level, sums in levels.items():
            for region, guides in guide_sums(c, m, level).items():
                if region in sums:
                    sums[region].update(guides)
            for region in sorted(r for r in sums if r):
                figures += _figures(m.label, region, sums[region])
        if not levels[0]:
            figures = _figures(m.label, NATION, None)
        return figures


def key_cities(conn, month: str, province: str) -> list[KeyCityFigures]:
    """Indicator 9: indicators 1–8 per key city of the month's year in `province`, ranked by indicator 2.

    Ranking: indicator 2 descending, cities without outbound agencies (value null) last, ties by code.
    """
    with open_connection(conn) as c:
        m = Month.parse(month)
        p = normalise_region(province)
        if region_level(p) != 2:
            raise ValueError(f"重点城市须按省份查询: {province!r}")
        rows = c.execute(
            sa.text("SELECT city_code, name FROM key_city WHERE year = :y AND city_code LIKE :p ORDER BY city_code"),
            {"y": m.first.year, "p": p + "%"},
        ).all()
        sums = _grouped(c, m, 4, p)
        cities = [(code, name, _figures(m.label, code, sums.get(code))) for code, name in rows]

        def rank_key(item):
            value = item[2][1].value
            return (value is None, -(value or 0), item[0])

        return [KeyCityFigures(code, name, i + 1, figs) for i, (code, name, figs) in enumerate(sorted(cities, key=rank_key))]


def key_agencies(conn, month: str, region: str | None = None) -> list[KeyAgencyFigures]:
    """Indicator 10: indicators 1, 3, 5, 6, 7 for each key agency of the year alone, and `filed` (1 > 0).

    A key agency is in the region by its own `division_code`; one not in `A_all` that month (or
    unknown to the warehouse) is reported with zero figures.
    """
    with open_connection(conn) as c:
        m = Month.parse(month)
        r = normalise_region(region)
        sql = (
            "SELECT k.uscc, COALESCE(a.name, k.name) AS name, k.rank, a.division_code FROM key_agency k"
            " LEFT JOIN travel_agency a ON a.uscc = k.uscc WHERE k.year = :y"
        )
        params: dict = {"y": m.first.year}
        if r != NATION:
            sql += " AND a.division_code LIKE :p"
            params["p"] = r + "%"
        rows = c.execute(sa.text(sql + " ORDER BY k.rank, k.uscc"), params).all()
        sums = metric_sums(c, m, 18, None if r == NATION else r, key_agency_year=m.first.year)
        out = []
        for uscc, name, rank, _div in rows:
            figs = _figures(m.label, uscc, sums.get(uscc), KEY_AGENCY_INDICATORS)
            out.append(KeyAgencyFigures(uscc, name, rank, m.label, figs, figs[0].numerator > 0))
        return out
