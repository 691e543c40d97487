"""The checks on tour groups: member count, leader, a qualified organiser (on the start date), known
agencies (organiser, receiving agency; nationally also contracts and statistics)."""

from __future__ import annotations

import sqlalchemy as sa

from warehouse.cross_checks.findings import STATUS_NAMES, Finding
from warehouse.cross_checks.scope import OUTBOUND_SCOPE, UNIT, Scope, group_finding
from warehouse.cross_checks.statistics import quarter_month, statistics_rows
from warehouse.regions import NATION, month_of


def member_count(conn, s: Scope) -> list[Finding]:
    sql = f"""WITH {UNIT}
SELECT g.organizer_uscc, g.group_code, g.start_date, g.tourist_count, COALESCE(mc.n, 0) AS members, u.head_uscc
FROM tour_group g
LEFT JOIN (SELECT organizer_uscc, group_code, COUNT(*) AS n FROM group_member GROUP BY organizer_uscc, group_code) mc
  ON mc.organizer_uscc = g.organizer_uscc AND mc.group_code = g.group_code
LEFT JOIN unit u ON u.uscc = g.organizer_uscc
LEFT JOIN travel_agency h ON h.uscc = u.head_uscc
WHERE COALESCE(g.status, '') <> 'CANCELLED' AND COALESCE(g.tourist_count, -1) <> COALESCE(mc.n, 0){s.groups}"""
    return [
        group_finding("MEMBER_COUNT", r, f"团队人数{r.tourist_count}人，游客名单{r.members}人，请核对",
                       {"tourist_count": r.tourist_count, "members": int(r.members)}, "tourist_count")
        for r in conn.execute(s.text(sql, start_date=sa.Date), s.params)
    ]


def leader_missing(conn, s: Scope) -> list[Finding]:
    sql = f"""WITH {UNIT}
SELECT g.organizer_uscc, g.group_code, g.start_date, u.head_uscc
FROM tour_group g
LEFT JOIN unit u ON u.uscc = g.organizer_uscc
LEFT JOIN travel_agency h ON h.uscc = u.head_uscc
WHERE COALESCE(g.status, '') <> 'CANCELLED' AND g.group_type = 'OUTBOUND'
  AND NOT EXISTS (SELECT 1 FROM group_staff st WHERE st.organizer_uscc = g.organizer_uscc
                  AND st.group_code = g.group_code AND st.role = 'LEADER'){s.groups}"""
    return [
        group_finding("LEADER_MISSING", r, "出境团队未报送领队信息，请补报领队", {}, "role")
        for r in conn.execute(s.text(sql, start_date=sa.Date), s.params)
    ]


# The head's licensing state on the group's start date: the `agency_state_history` version valid
# that day when the portal feed has built one (a suspension since lifted still counts), else the
# current `travel_agency` row.
STATE_ON_START = """
state AS (
  SELECT g.organizer_uscc, g.group_code, g.start_date, g.status AS group_status, g.group_type, u.head_uscc,
         CASE WHEN hs.uscc IS NOT NULL THEN hs.business_scope ELSE h.business_scope END AS business_scope,
         CASE WHEN hs.uscc IS NOT NULL THEN hs.outbound_granted_date ELSE h.outbound_granted_date END
           AS outbound_granted_date,
         CASE WHEN hs.uscc IS NOT NULL THEN hs.established_date ELSE h.established_date END AS established_date,
         CASE WHEN hs.uscc IS NOT NULL THEN hs.status ELSE h.status END AS status,
         CASE WHEN hs.uscc IS NOT NULL THEN hs.status_date ELSE h.status_date END AS status_date,
         CASE WHEN hs.uscc IS NOT NULL THEN 1 ELSE 0 END AS from_history, h.division_code
  FROM tour_group g
  JOIN unit u ON u.uscc = g.organizer_uscc
  JOIN travel_agency h ON h.uscc = u.head_uscc
  LEFT JOIN agency_state_history hs ON hs.uscc = u.head_uscc AND hs.valid_from <= g.start_date
       AND (hs.valid_to IS NULL OR hs.valid_to > g.start_date)
)"""


def organizer_not_qualified(conn, s: Scope) -> list[Finding]:
    scope = OUTBOUND_SCOPE.replace("h.", "st.")
    groups = s.groups.replace("g.", "st.").replace("h.", "st.")
    sql = f"""WITH {UNIT},{STATE_ON_START}
SELECT st.organizer_uscc, st.group_code, st.start_date, st.head_uscc,
       CASE WHEN {scope} THEN 1 ELSE 0 END AS has_scope,
       st.outbound_granted_date, st.established_date, st.status, st.status_date
FROM state st
WHERE COALESCE(st.group_status, '') <> 'CANCELLED' AND st.group_type = 'OUTBOUND'
  AND (NOT ({scope}) OR st.outbound_granted_date IS NULL OR st.outbound_granted_date > st.start_date
       OR st.established_date > st.start_date
       OR (st.status IN ('SUSPENDED', 'CANCELLED', 'REVOKED')
           AND (st.from_history = 1 OR (st.status_date IS NOT NULL AND st.status_date <= st.start_date)))){groups}"""
    out = []
    rows = conn.execute(
        s.text(sql, start_date=sa.Date, outbound_granted_date=sa.Date, established_date=sa.Date, status_date=sa.Date),
        s.params,
    )
    for r in rows:
        if not r.has_scope or r.outbound_granted_date is None:
            reason, msg = "NO_OUTBOUND_SCOPE", "组团社无出境旅游业务经营许可"
        elif r.outbound_granted_date > r.start_date:
            reason, msg = "GRANTED_LATER", f"组团社出境资质取得日期{r.outbound_granted_date}晚于出发日期"
        elif r.established_date and r.established_date > r.start_date:
            reason, msg = "NOT_YET_ESTABLISHED", f"组团社设立日期{r.established_date}晚于出发日期"
        else:
            since = f"于{r.status_date}" if r.status_date else ""
            reason, msg = r.status, f"组团社{since}{STATUS_NAMES[r.status]}，出发日期时不具备资格"
        out.append(group_finding("ORGANIZER_NOT_QUALIFIED", r, msg, {"reason": reason}, "organizer_uscc"))
    return out


def unknown_agency(conn, s: Scope) -> list[Finding]:
    out: list[Finding] = []
    if s.region == NATION:
        sql = f"""SELECT g.organizer_uscc, g.group_code, g.start_date, g.organizer_uscc AS head_uscc
FROM tour_group g WHERE NOT EXISTS (SELECT 1 FROM travel_agency a WHERE a.uscc = g.organizer_uscc){s.groups}"""
        out += [group_finding("UNKNOWN_AGENCY", r, f"组团社{r.organizer_uscc}不在旅行社名录中", {"role": "organizer"},
                               "organizer_uscc") for r in conn.execute(s.text(sql, start_date=sa.Date), s.params)]
        contract_month = " AND c.registered_at >= :lo AND c.registered_at < :hi" if s.month else ""
        sql = f"""SELECT c.contract_code, c.agency_uscc, c.registered_at FROM e_contract c
WHERE NOT EXISTS (SELECT 1 FROM travel_agency a WHERE a.uscc = c.agency_uscc){contract_month}"""
        out += [
            Finding("UNKNOWN_AGENCY", "e_contract", {"contract_code": r.contract_code}, r.agency_uscc,
                    month_of(r.registered_at) if r.registered_at else None,
                    f"合同旅行社{r.agency_uscc}不在旅行社名录中", {"role": "agency"}, field="agency_uscc")
            for r in conn.execute(s.text(sql, registered_at=sa.DateTime), s.params)
        ]
        for period, r in statistics_rows(conn, s, "a.uscc IS NULL"):
            out.append(Finding("UNKNOWN_AGENCY", "agency_statistics", {"uscc": r.uscc, "period": period}, r.uscc,
                               quarter_month(period), f"统计报表单位{r.uscc}不在旅行社名录中", {"role": "statistics"},
                               field="uscc"))
    sql = f"""WITH {UNIT}
SELECT g.organizer_uscc, g.group_code, g.start_date, g.receiving_uscc, u.head_uscc
FROM tour_group g
LEFT JOIN unit u ON u.uscc = g.organizer_uscc
LEFT JOIN travel_agency h ON h.uscc = u.head_uscc
WHERE g.receiving_uscc IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM travel_agency a WHERE a.uscc = g.receiving_uscc){s.groups}"""
    out += [group_finding("UNKNOWN_AGENCY", r, f"地接社{r.receiving_uscc}不在旅行社名录中", {"role": "receiving"},
                           "receiving_uscc") for r in conn.execute(s.text(sql, start_date=sa.Date), s.params)]
    return out
