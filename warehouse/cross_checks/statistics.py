"""Statistics vs filings (7c): an agency's quarterly statistics against what the platform holds
(outbound volume, branches and outlets, a cancelled agency still reporting)."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from warehouse.cross_checks.findings import STATUS_NAMES, Finding
from warehouse.cross_checks.scope import UNIT, Scope
from warehouse.regions import Month

OUTBOUND_VOLUME_RANGE = (Decimal("0.8"), Decimal("1.2"))

PERIOD = re.compile(r"^(\d{4})-Q([1-4])$")


def quarter(period: str) -> tuple[date, date] | None:
    m = PERIOD.match(period or "")
    if not m:
        return None
    year, q = int(m.group(1)), int(m.group(2))
    last = Month.parse(f"{year:04d}-{q * 3:02d}").last
    return date(year, q * 3 - 2, 1), last


def quarter_month(period: str) -> str | None:
    q = quarter(period)
    return q[1].strftime("%Y-%m") if q else None


def statistics_rows(conn, s: Scope, condition: str):
    """(period, row) of statistics rows in scope meeting `condition`, with the filed figures to compare."""
    periods = [p for (p,) in conn.execute(sa.text("SELECT DISTINCT period FROM agency_statistics"))]
    for period in sorted(p for p in periods if quarter(p)):
        if s.month and quarter_month(period) != s.month.label:
            continue
        q_first, q_last = quarter(period)
        sql = f"""WITH {UNIT}
SELECT st.uscc, st.outbound_organised_pax, st.branch_count, st.outlet_count, a.status, a.status_date,
  (SELECT COUNT(*) FROM tour_group g JOIN unit u ON u.uscc = g.organizer_uscc
     JOIN group_member m ON m.organizer_uscc = g.organizer_uscc AND m.group_code = g.group_code
   WHERE u.head_uscc = st.uscc AND g.group_type = 'OUTBOUND' AND COALESCE(g.status, '') <> 'CANCELLED'
     AND g.start_date >= :q_first AND g.start_date <= :q_last) AS members,
  (SELECT COUNT(*) FROM travel_agency b WHERE b.parent_uscc = st.uscc AND b.unit_type = 'BRANCH'
     AND (b.established_date IS NULL OR b.established_date <= :q_last)
     AND NOT (COALESCE(b.status, '') <> 'ACTIVE' AND b.status_date IS NOT NULL AND b.status_date <= :q_last))
     AS branches,
  (SELECT COUNT(*) FROM travel_agency b WHERE b.parent_uscc = st.uscc AND b.unit_type = 'OUTLET'
     AND (b.established_date IS NULL OR b.established_date <= :q_last)
     AND NOT (COALESCE(b.status, '') <> 'ACTIVE' AND b.status_date IS NOT NULL AND b.status_date <= :q_last))
     AS outlets
FROM agency_statistics st LEFT JOIN travel_agency a ON a.uscc = st.uscc
WHERE st.period = :period AND {condition}{s.agency.replace('h.', 'a.')}"""
        params = {**s.params, "period": period, "q_first": q_first, "q_last": q_last}
        binds = [sa.bindparam("q_first", type_=sa.Date), sa.bindparam("q_last", type_=sa.Date)]
        for r in conn.execute(sa.text(sql).bindparams(*binds).columns(status_date=sa.Date), params):
            yield period, r


def stats_vs_filings(conn, s: Scope) -> list[Finding]:
    out = []
    for period, r in statistics_rows(conn, s, "a.uscc IS NOT NULL"):
        q_first, _ = quarter(period)
        key, month = {"uscc": r.uscc, "period": period}, quarter_month(period)

        def add(kind: str, msg: str, detail: dict, field_name: str | None = None, key=key, uscc=r.uscc, month=month):
            out.append(Finding("STATS_VS_FILINGS", "agency_statistics", key, uscc, month, msg,
                               {"check": kind, **detail}, field=field_name))

        if r.status in ("CANCELLED", "REVOKED") and r.status_date and r.status_date < q_first:
            add("CANCELLED_AGENCY", f"旅行社已于{r.status_date}{STATUS_NAMES[r.status]}，仍有{period}统计报表",
                {"status": r.status, "status_date": r.status_date.isoformat()}, "uscc")
        pax, members = r.outbound_organised_pax, int(r.members)
        if pax is not None:
            low, high = OUTBOUND_VOLUME_RANGE
            ratio = (Decimal(members) / Decimal(pax)) if pax else None
            if (ratio is None and members > 0) or (ratio is not None and not low <= ratio <= high):
                add("OUTBOUND_VOLUME_GAP",
                    f"统计报表出境组织{pax}人次，平台出境团队名单{members}人次，差异超出±20%",
                    {"outbound_organised_pax": pax, "members": members,
                     "ratio": float(ratio.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)) if ratio is not None else None},
                    "outbound_organised_pax")
        for kind, filed, actual, label in (("BRANCH_COUNT_MISMATCH", r.branch_count, r.branches, "分社"),
                                           ("OUTLET_COUNT_MISMATCH", r.outlet_count, r.outlets, "服务网点")):
            if filed is not None and int(filed) != int(actual):
                add(kind, f"统计报表{label}{filed}家，平台备案{label}{int(actual)}家",
                    {"reported": int(filed), "on_platform": int(actual)},
                    "branch_count" if kind.startswith("BRANCH") else "outlet_count")
    return out
