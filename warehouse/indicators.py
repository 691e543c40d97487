"""Indicators 1–10 of 附件2 (SPEC section 6), computed as set-based SQL in the warehouse.

One query folds the month's groups, contracts and rosters onto the head offices (`A_all`, with
an `is_out` flag for `A_out`) and sums them per region; a second counts the guides of indicator 8,
which must be distinct per region (a guide may lead groups of several agencies). Only the
per-region sums come back to Python, where the values are rounded half up with `Decimal`.

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


# --- SQL -------------------------------------------------------------------------------------------

# The head office of every unit: a branch's or outlet's head is its parent (legal-person view).
_UNIT = """
unit AS (
  SELECT uscc,
         CASE WHEN unit_type IN ('BRANCH', 'OUTLET') THEN parent_uscc ELSE uscc END AS head_uscc
  FROM travel_agency
)"""

# A_all(M) with the A_out flag. Scope is `|`-joined text: bracket it so OUTBOUND never matches a prefix.
_HEADS = """
heads AS (
  SELECT uscc, division_code,
         CASE WHEN '|' || COALESCE(business_scope, '') || '|' LIKE '%|OUTBOUND|%'
                   AND outbound_granted_date IS NOT NULL AND outbound_granted_date <= :m_last
              THEN 1 ELSE 0 END AS is_out
  FROM travel_agency
  WHERE (unit_type IS NULL OR unit_type = 'HEAD')
    AND (established_date IS NULL OR established_date <= :m_last)
    AND (status IS NULL OR status NOT IN ('CANCELLED', 'REVOKED') OR status_date IS NULL OR status_date >= :m_first)
)"""

_HEAD_METRICS = f"""
WITH {_UNIT},
{_HEADS},
filed AS (
  SELECT u.head_uscc,
         SUM(CASE WHEN g.group_type = 'OUTBOUND' THEN 1 ELSE 0 END) AS out_groups,
         SUM(CASE WHEN g.group_type IN ('OUTBOUND', 'DOMESTIC') THEN 1 ELSE 0 END) AS groups
  FROM tour_group g JOIN unit u ON u.uscc = g.organizer_uscc
  WHERE (g.status IS NULL OR g.status <> 'CANCELLED') AND g.submitted_at >= :lo AND g.submitted_at < :hi
  GROUP BY u.head_uscc
),
uploaded AS (
  SELECT u.head_uscc,
         SUM(CASE WHEN c.contract_type IN ('OUTBOUND', 'TAIWAN') THEN 1 ELSE 0 END) AS out_contracts,
         SUM(CASE WHEN c.contract_type IN ('OUTBOUND', 'TAIWAN', 'DOMESTIC', 'ONE_DAY') THEN 1 ELSE 0 END)
           AS contracts
  FROM e_contract c JOIN unit u ON u.uscc = c.agency_uscc
  WHERE (c.status IS NULL OR c.status <> 'CANCELLED') AND c.registered_at >= :lo AND c.registered_at < :hi
  GROUP BY u.head_uscc
),
signed AS (
  SELECT u.head_uscc, COUNT(*) AS tourists
  FROM e_contract c
  JOIN unit u ON u.uscc = c.agency_uscc
  JOIN contract_tourist t ON t.contract_code = c.contract_code
  WHERE (c.status IS NULL OR c.status <> 'CANCELLED') AND c.contract_type IN ('OUTBOUND', 'TAIWAN')
    AND c.signed_at >= :lo AND c.signed_at < :hi
  GROUP BY u.head_uscc
),
roster AS (
  SELECT u.head_uscc, COUNT(*) AS members
  FROM tour_group g
  JOIN unit u ON u.uscc = g.organizer_uscc
  JOIN group_member m ON m.organizer_uscc = g.organizer_uscc AND m.group_code = g.group_code
  WHERE (g.status IS NULL OR g.status <> 'CANCELLED') AND g.group_type = 'OUTBOUND'
    AND g.start_date >= :m_first AND g.start_date <= :m_last
  GROUP BY u.head_uscc
),
head_metrics AS (
  SELECT h.uscc, h.division_code, h.is_out,
         COALESCE(f.out_groups, 0) AS out_groups, COALESCE(f.groups, 0) AS groups,
         COALESCE(up.out_contracts, 0) AS out_contracts, COALESCE(up.contracts, 0) AS contracts,
         COALESCE(s.tourists, 0) AS tourists, COALESCE(r.members, 0) AS members
  FROM heads h
  LEFT JOIN filed f ON f.head_uscc = h.uscc
  LEFT JOIN uploaded up ON up.head_uscc = h.uscc
  LEFT JOIN signed s ON s.head_uscc = h.uscc
  LEFT JOIN roster r ON r.head_uscc = h.uscc
)"""

_SUMS = """
  SUM(CASE WHEN is_out = 1 THEN out_groups ELSE 0 END) AS i1,
  SUM(CASE WHEN is_out = 1 AND out_groups > 0 THEN 1 ELSE 0 END) AS i2,
  SUM(is_out) AS a_out,
  SUM(CASE WHEN is_out = 1 THEN out_contracts ELSE 0 END) AS i3,
  SUM(CASE WHEN is_out = 1 AND out_contracts > 0 THEN 1 ELSE 0 END) AS i4,
  COUNT(*) AS a_all,
  SUM(groups) AS i5,
  SUM(contracts) AS i6,
  SUM(CASE WHEN is_out = 1 THEN tourists ELSE 0 END) AS i7n,
  SUM(CASE WHEN is_out = 1 THEN members ELSE 0 END) AS i7d"""

_GUIDES = f"""
WITH {_UNIT},
{_HEADS},
assignment AS (
  SELECT s.guide_card_no, u.head_uscc,
         CASE WHEN EXISTS (
           SELECT 1 FROM guide_app_day d
           WHERE d.guide_card_no = s.guide_card_no AND d.opened
             AND d.date >= COALESCE(s.service_from, g.start_date) AND d.date <= COALESCE(s.service_to, g.end_date)
             AND d.date >= :m_first AND d.date <= :m_last
         ) THEN 1 ELSE 0 END AS opened
  FROM group_staff s
  JOIN tour_group g ON g.organizer_uscc = s.organizer_uscc AND g.group_code = s.group_code
  JOIN unit u ON u.uscc = g.organizer_uscc
  WHERE (g.status IS NULL OR g.status <> 'CANCELLED')
    AND COALESCE(s.service_from, g.start_date) <= :m_last AND COALESCE(s.service_to, g.end_date) >= :m_first
)"""

# Region keys: a fixed whitelist, never user text.
_KEYS = {0: None, 2: "substr({c}, 1, 2)", 4: "substr({c}, 1, 4)", 18: "{c}"}


def _params(month: Month, **extra) -> tuple[dict, list[sa.BindParameter]]:
    binds = [
        sa.bindparam("m_first", type_=sa.Date),
        sa.bindparam("m_last", type_=sa.Date),
        sa.bindparam("lo", type_=sa.DateTime),
        sa.bindparam("hi", type_=sa.DateTime),
    ]
    params = {"m_first": month.first, "m_last": month.last, "lo": month.lo, "hi": month.hi, **extra}
    return params, binds


def typed_text(sql: str, binds: Iterable[sa.BindParameter]) -> sa.TextClause:
    """`text(sql)` with typed bind parameters (dates and naive-UTC datetimes rendered as stored)."""
    return sa.text(sql).bindparams(*(b for b in binds if f":{b.key}" in sql))


def _filters(month: Month, prefix: str | None, key_agency_year: int | None, alias: str = "") -> tuple[str, dict, list]:
    params, binds = _params(month)
    where = []
    if prefix:
        where.append(f"{alias}division_code LIKE :prefix")
        params["prefix"] = prefix + "%"
    if key_agency_year is not None:
        where.append(f"{alias}uscc IN (SELECT uscc FROM key_agency WHERE year = :year)")
        params["year"] = key_agency_year
    return ((" WHERE " + " AND ".join(where)) if where else ""), params, binds


def _metric_sums(conn, month: Month, level: int, prefix: str | None = None, key_agency_year: int | None = None) -> dict:
    """{region: sums for indicators 1–7} per region of `level` (0 nation, 2, 4, or 18 = per agency).

    Every sum is additive over head offices, so finer regions can be rolled up (see `_roll_up`).
    """
    where, params, binds = _filters(month, prefix, key_agency_year)
    key = _KEYS[level]
    key_col = key.format(c="division_code" if level != 18 else "uscc") if key else None
    select_key = f"{key_col} AS region," if key_col else ""
    group_by = f" GROUP BY {key_col}" if key_col else ""
    sql = f"{_HEAD_METRICS}\nSELECT {select_key} {_SUMS}\nFROM head_metrics{where}{group_by}"
    out: dict[str, dict[str, int]] = {}
    for row in conn.execute(typed_text(sql, binds), params).mappings():
        if row["a_all"]:
            out[row["region"] if key_col else NATION] = {k: int(v or 0) for k, v in row.items() if k != "region"}
    return out


def _guide_sums(conn, month: Month, level: int, prefix: str | None = None) -> dict:
    """{region: {i8n, i8d}}: guides are distinct per region, so each level needs its own count."""
    where, params, binds = _filters(month, prefix, None, alias="h.")
    key = _KEYS[level]
    g_key = key.format(c="h.division_code") if key else None
    g_select = f"{g_key} AS region," if g_key else ""
    g_group = f" GROUP BY {g_key}" if g_key else ""
    sql = (
        f"{_GUIDES}\nSELECT {g_select} COUNT(DISTINCT a.guide_card_no) AS i8d,"
        f" COUNT(DISTINCT CASE WHEN a.opened = 1 THEN a.guide_card_no END) AS i8n"
        f"\nFROM assignment a JOIN heads h ON h.uscc = a.head_uscc{where}{g_group}"
    )
    return {
        (row["region"] if g_key else NATION): {"i8n": int(row["i8n"] or 0), "i8d": int(row["i8d"] or 0)}
        for row in conn.execute(typed_text(sql, binds), params).mappings()
    }


def _grouped(conn, month: Month, level: int, prefix: str | None) -> dict:
    """{region: sums for indicators 1–8} per region of `level` within `prefix`."""
    out = _metric_sums(conn, month, level, prefix)
    for region, guides in _guide_sums(conn, month, level, prefix).items():
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
        prefectures = _metric_sums(c, m, 4)
        levels = {0: _roll_up(prefectures, 0), 2: _roll_up(prefectures, 2), 4: prefectures}
        figures: list[IndicatorFigure] = []
        for level, sums in levels.items():
            for region, guides in _guide_sums(c, m, level).items():
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
        sums = _metric_sums(c, m, 18, None if r == NATION else r, key_agency_year=m.first.year)
        out = []
        for uscc, name, rank, _div in rows:
            figs = _figures(m.label, uscc, sums.get(uscc), KEY_AGENCY_INDICATORS)
            out.append(KeyAgencyFigures(uscc, name, rank, m.label, figs, figs[0].numerator > 0))
        return out


class open_connection:
    """Accept an Engine or a Connection: open (and close) a connection only when given an Engine."""

    def __init__(self, bind):
        self.bind = bind
        self.own = isinstance(bind, sa.Engine)

    def __enter__(self) -> sa.Connection:
        self.conn = self.bind.connect() if self.own else self.bind
        return self.conn

    def __exit__(self, *exc) -> None:
        if self.own:
            self.conn.close()
