"""The SQL of indicators 1–8 (SPEC section 6): the head office of every unit (`UNIT`, shared with the
cross-checks), A_all with its A_out flag, the per-head metrics and their sums per region, and the
distinct guides of indicator 8. Only per-region sums leave the database.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from warehouse.regions import NATION, Month

# The head office of every unit: a branch's or outlet's head is its parent (legal-person view).
UNIT = """
unit AS (
  SELECT uscc,
         CASE WHEN unit_type IN ('BRANCH', 'OUTLET') THEN parent_uscc ELSE uscc END AS head_uscc
  FROM travel_agency
)"""

# A_all(M) with the A_out flag. Scope is `|`-joined text: bracket it so OUTBOUND never matches a prefix.
HEADS = """
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

HEAD_METRICS = f"""
WITH {UNIT},
{HEADS},
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

SUMS = """
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

GUIDES = f"""
WITH {UNIT},
{HEADS},
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
KEYS = {0: None, 2: "substr({c}, 1, 2)", 4: "substr({c}, 1, 4)", 18: "{c}"}


def bind_params(month: Month, **extra) -> tuple[dict, list[sa.BindParameter]]:
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


def filters(month: Month, prefix: str | None, key_agency_year: int | None, alias: str = "") -> tuple[str, dict, list]:
    params, binds = bind_params(month)
    where = []
    if prefix:
        where.append(f"{alias}division_code LIKE :prefix")
        params["prefix"] = prefix + "%"
    if key_agency_year is not None:
        where.append(f"{alias}uscc IN (SELECT uscc FROM key_agency WHERE year = :year)")
        params["year"] = key_agency_year
    return ((" WHERE " + " AND ".join(where)) if where else ""), params, binds


def metric_sums(conn, month: Month, level: int, prefix: str | None = None, key_agency_year: int | None = None) -> dict:
    """{region: sums for indicators 1–7} per region of `level` (0 nation, 2, 4, or 18 = per agency).

    Every sum is additive over head offices, so finer regions can be rolled up (see `indicators._roll_up`).
    """
    where, params, binds = filters(month, prefix, key_agency_year)
    key = KEYS[level]
    key_col = key.format(c="division_code" if level != 18 else "uscc") if key else None
    select_key = f"{key_col} AS region," if key_col else ""
    group_by = f" GROUP BY {key_col}" if key_col else ""
    sql = f"{HEAD_METRICS}\nSELECT {select_key} {SUMS}\nFROM head_metrics{where}{group_by}"
    out: dict[str, dict[str, int]] = {}
    for row in conn.execute(typed_text(sql, binds), params).mappings():
        if row["a_all"]:
            out[row["region"] if key_col else NATION] = {k: int(v or 0) for k, v in row.items() if k != "region"}
    return out


def guide_sums(conn, month: Month, level: int, prefix: str | None = None) -> dict:
    """{region: {i8n, i8d}}: guides are distinct per region, so each level needs its own count."""
    where, params, binds = filters(month, prefix, None, alias="h.")
    key = KEYS[level]
    g_key = key.format(c="h.division_code") if key else None
    g_select = f"{g_key} AS region," if g_key else ""
    g_group = f" GROUP BY {g_key}" if g_key else ""
    sql = (
        f"{GUIDES}\nSELECT {g_select} COUNT(DISTINCT a.guide_card_no) AS i8d,"
        f" COUNT(DISTINCT CASE WHEN a.opened = 1 THEN a.guide_card_no END) AS i8n"
        f"\nFROM assignment a JOIN heads h ON h.uscc = a.head_uscc{where}{g_group}"
    )
    return {
        (row["region"] if g_key else NATION): {"i8n": int(row["i8n"] or 0), "i8d": int(row["i8d"] or 0)}
        for row in conn.execute(typed_text(sql, binds), params).mappings()
    }
