"""Cross-checks of SPEC section 7: findings per agency and month, never quarantine.

Each check is one set-based query that returns only the discrepancies; the roster-vs-contract
check additionally pairs people one-to-one per group in Python (tiered matching needs an
assignment, which SQL cannot express portably), on the rows of the month's outbound groups only.

Month of a finding: a group's `start_date` month; a contract's upload month (Shanghai); a
statistics row's quarter's last month (`2026-Q1` → `2026-03`). Region: the division of the
agency's head office; findings about unknown agencies have no region and appear only nationally.
Findings carry no names or document numbers (PII): members and tourists are named by `seq_no`.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from warehouse.engine import open_connection
from warehouse.regions import NATION, Month, month_of, normalise_region
from warehouse.tables import finding as finding_table

CROSS_CHECK_RULES = (
    "MEMBER_COUNT",
    "LEADER_MISSING",
    "ORGANIZER_NOT_QUALIFIED",
    "UNKNOWN_AGENCY",
    "ROSTER_VS_CONTRACT",
    "STATS_VS_FILINGS",
)
RULE_NAMES = {
    "MEMBER_COUNT": "团队人数与名单不符",
    "LEADER_MISSING": "出境团队无领队",
    "ORGANIZER_NOT_QUALIFIED": "组团社不具备出境资质",
    "UNKNOWN_AGENCY": "旅行社不存在",
    "ROSTER_VS_CONTRACT": "团队信息与电子合同游客信息比对",
    "STATS_VS_FILINGS": "旅行社信息与统计数据比对",
}
_STATUS_NAMES = {"SUSPENDED": "暂停经营", "CANCELLED": "注销", "REVOKED": "吊销"}
OUTBOUND_VOLUME_RANGE = (Decimal("0.8"), Decimal("1.2"))


@dataclass(frozen=True)
class Finding:
    rule: str
    entity: str
    natural_key: dict
    agency_uscc: str | None
    month: str | None
    message: str
    detail: dict = field(default_factory=dict)
    severity: str = "WARN"
    field: str | None = None

    def as_dict(self) -> dict:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "entity": self.entity,
            "natural_key": self.natural_key,
            "agency_uscc": self.agency_uscc,
            "month": self.month,
            "field": self.field,
            "message": self.message,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class GroupCoverage:
    """How far an outbound group's roster is covered by its agency's contracts (feeds 7b)."""

    organizer_uscc: str
    group_code: str
    head_uscc: str
    start_date: date
    members: int
    matched: int
    members_without_contract: list[int]  # seq_no
    tourists_not_on_roster: list[tuple[str, int]]  # (contract_code, seq_no)
    contracts: list[str]

    @property
    def coverage(self) -> Decimal | None:
        if not self.members:
            return None
        return (Decimal(self.matched) / Decimal(self.members)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


_UNIT = """unit AS (
  SELECT uscc, CASE WHEN unit_type IN ('BRANCH', 'OUTLET') THEN parent_uscc ELSE uscc END AS head_uscc
  FROM travel_agency
)"""

_OUTBOUND_SCOPE = "'|' || COALESCE(h.business_scope, '') || '|' LIKE '%|OUTBOUND|%'"


class _Scope:
    """The month/region restriction shared by the group checks, as SQL fragments and typed binds."""

    def __init__(self, month: str | None, region: str | None):
        self.month = Month.parse(month) if month else None
        self.region = normalise_region(region)
        self.params: dict = {}
        self.binds: list[sa.BindParameter] = []
        self.groups = ""
        if self.month:
            self.groups += " AND g.start_date >= :m_first AND g.start_date <= :m_last"
            self.params.update(m_first=self.month.first, m_last=self.month.last, lo=self.month.lo, hi=self.month.hi)
            self.binds += [sa.bindparam(k, type_=t) for k, t in
                           (("m_first", sa.Date), ("m_last", sa.Date), ("lo", sa.DateTime), ("hi", sa.DateTime))]
        self.agency = ""
        if self.region != NATION:
            self.agency = " AND h.division_code LIKE :prefix"
            self.params["prefix"] = self.region + "%"
        self.groups += self.agency

    def text(self, sql: str, **columns) -> sa.TextClause:
        clause = sa.text(sql).bindparams(*(b for b in self.binds if f":{b.key}" in sql))
        return clause.columns(**columns) if columns else clause


def _group_finding(rule: str, row, message: str, detail: dict, field_name: str | None = None) -> Finding:
    return Finding(
        rule, "tour_group", {"organizer_uscc": row.organizer_uscc, "group_code": row.group_code},
        row.head_uscc or row.organizer_uscc, month_of(row.start_date), message, detail, field=field_name,
    )


def _member_count(conn, s: _Scope) -> list[Finding]:
    sql = f"""WITH {_UNIT}
SELECT g.organizer_uscc, g.group_code, g.start_date, g.tourist_count, COALESCE(mc.n, 0) AS members, u.head_uscc
FROM tour_group g
LEFT JOIN (SELECT organizer_uscc, group_code, COUNT(*) AS n FROM group_member GROUP BY organizer_uscc, group_code) mc
  ON mc.organizer_uscc = g.organizer_uscc AND mc.group_code = g.group_code
LEFT JOIN unit u ON u.uscc = g.organizer_uscc
LEFT JOIN travel_agency h ON h.uscc = u.head_uscc
WHERE COALESCE(g.status, '') <> 'CANCELLED' AND COALESCE(g.tourist_count, -1) <> COALESCE(mc.n, 0){s.groups}"""
    return [
        _group_finding("MEMBER_COUNT", r, f"团队人数{r.tourist_count}人，游客名单{r.members}人，请核对",
                       {"tourist_count": r.tourist_count, "members": int(r.members)}, "tourist_count")
        for r in conn.execute(s.text(sql, start_date=sa.Date), s.params)
    ]


def _leader_missing(conn, s: _Scope) -> list[Finding]:
    sql = f"""WITH {_UNIT}
SELECT g.organizer_uscc, g.group_code, g.start_date, u.head_uscc
FROM tour_group g
LEFT JOIN unit u ON u.uscc = g.organizer_uscc
LEFT JOIN travel_agency h ON h.uscc = u.head_uscc
WHERE COALESCE(g.status, '') <> 'CANCELLED' AND g.group_type = 'OUTBOUND'
  AND NOT EXISTS (SELECT 1 FROM group_staff st WHERE st.organizer_uscc = g.organizer_uscc
                  AND st.group_code = g.group_code AND st.role = 'LEADER'){s.groups}"""
    return [
        _group_finding("LEADER_MISSING", r, "出境团队未报送领队信息，请补报领队", {}, "role")
        for r in conn.execute(s.text(sql, start_date=sa.Date), s.params)
    ]


# The head's licensing state on the group's start date: the `agency_state_history` version valid
# that day when the portal feed has built one (a suspension since lifted still counts), else the
# current `travel_agency` row.
_STATE_ON_START = """
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


def _organizer_not_qualified(conn, s: _Scope) -> list[Finding]:
    scope = _OUTBOUND_SCOPE.replace("h.", "st.")
    groups = s.groups.replace("g.", "st.").replace("h.", "st.")
    sql = f"""WITH {_UNIT},{_STATE_ON_START}
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
            reason, msg = r.status, f"组团社{since}{_STATUS_NAMES[r.status]}，出发日期时不具备资格"
        out.append(_group_finding("ORGANIZER_NOT_QUALIFIED", r, msg, {"reason": reason}, "organizer_uscc"))
    return out


def _unknown_agency(conn, s: _Scope) -> list[Finding]:
    out: list[Finding] = []
    if s.region == NATION:
        sql = f"""SELECT g.organizer_uscc, g.group_code, g.start_date, g.organizer_uscc AS head_uscc
FROM tour_group g WHERE NOT EXISTS (SELECT 1 FROM travel_agency a WHERE a.uscc = g.organizer_uscc){s.groups}"""
        out += [_group_finding("UNKNOWN_AGENCY", r, f"组团社{r.organizer_uscc}不在旅行社名录中", {"role": "organizer"},
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
        for period, r in _statistics_rows(conn, s, "a.uscc IS NULL"):
            out.append(Finding("UNKNOWN_AGENCY", "agency_statistics", {"uscc": r.uscc, "period": period}, r.uscc,
                               _quarter_month(period), f"统计报表单位{r.uscc}不在旅行社名录中", {"role": "statistics"},
                               field="uscc"))
    sql = f"""WITH {_UNIT}
SELECT g.organizer_uscc, g.group_code, g.start_date, g.receiving_uscc, u.head_uscc
FROM tour_group g
LEFT JOIN unit u ON u.uscc = g.organizer_uscc
LEFT JOIN travel_agency h ON h.uscc = u.head_uscc
WHERE g.receiving_uscc IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM travel_agency a WHERE a.uscc = g.receiving_uscc){s.groups}"""
    out += [_group_finding("UNKNOWN_AGENCY", r, f"地接社{r.receiving_uscc}不在旅行社名录中", {"role": "receiving"},
                           "receiving_uscc") for r in conn.execute(s.text(sql, start_date=sa.Date), s.params)]
    return out


# --- roster vs contract ----------------------------------------------------------------------------


def _norm(value) -> str | None:
    return str(value).strip().upper().replace(" ", "") or None if value is not None else None


def roster_coverage(conn, month: str | None = None, region: str | None = None) -> list[GroupCoverage]:
    """Pair each countable outbound group's members with tourists of its agency head's outbound contracts.

    Contracts pair with a group by the same `group_code`; a group with no such contract takes the
    head's contracts without a group code whose dates overlap its own. People match one-to-one,
    first on document number, then on name + birth date (+ gender when both sides give one).
    """
    with open_connection(conn) as c:
        s = _Scope(month, region)
        scoped = f"""{_UNIT},
scoped AS (
  SELECT g.organizer_uscc, g.group_code, g.start_date, g.end_date, u.head_uscc
  FROM tour_group g JOIN unit u ON u.uscc = g.organizer_uscc JOIN travel_agency h ON h.uscc = u.head_uscc
  WHERE COALESCE(g.status, '') <> 'CANCELLED' AND g.group_type = 'OUTBOUND'{s.groups}
)"""
        groups = c.execute(s.text(f"WITH {scoped} SELECT * FROM scoped", start_date=sa.Date, end_date=sa.Date), s.params).all()
        members = c.execute(s.text(f"""WITH {scoped}
SELECT m.organizer_uscc, m.group_code, m.seq_no, m.name, m.birth_date, m.gender, m.doc_no
FROM group_member m JOIN scoped x ON x.organizer_uscc = m.organizer_uscc AND x.group_code = m.group_code""",
                                     birth_date=sa.Date), s.params).all()
        tourists = c.execute(s.text(f"""WITH {scoped}
SELECT c.contract_code, u.head_uscc, c.group_code, c.start_date, c.end_date,
       t.seq_no, t.name, t.birth_date, t.gender, t.doc_no
FROM e_contract c JOIN unit u ON u.uscc = c.agency_uscc JOIN contract_tourist t ON t.contract_code = c.contract_code
WHERE COALESCE(c.status, '') <> 'CANCELLED' AND c.contract_type IN ('OUTBOUND', 'TAIWAN')
  AND EXISTS (SELECT 1 FROM scoped x WHERE x.head_uscc = u.head_uscc
              AND (x.group_code = c.group_code
                   OR (c.group_code IS NULL AND c.start_date <= x.end_date AND c.end_date >= x.start_date)))""",
                                      start_date=sa.Date, end_date=sa.Date, birth_date=sa.Date), s.params).all()

    roster: dict[tuple, list] = defaultdict(list)
    for m in members:
        roster[(m.organizer_uscc, m.group_code)].append(m)
    by_code: dict[tuple, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    uncoded: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for t in tourists:
        target = by_code[(t.head_uscc, t.group_code)] if t.group_code is not None else uncoded[t.head_uscc]
        target[t.contract_code].append(t)

    out = []
    for g in sorted(groups, key=lambda g: (g.head_uscc, g.organizer_uscc, g.group_code)):
        contracts = by_code.get((g.head_uscc, g.group_code))
        if not contracts:
            contracts = {code: ts for code, ts in uncoded.get(g.head_uscc, {}).items()
                         if ts[0].start_date <= g.end_date and ts[0].end_date >= g.start_date}
        people = sorted(roster.get((g.organizer_uscc, g.group_code), []), key=lambda m: m.seq_no)
        candidates = [t for code in sorted(contracts) for t in sorted(contracts[code], key=lambda t: t.seq_no)]
        matched_members, matched_tourists = _match(people, candidates)
        out.append(GroupCoverage(
            g.organizer_uscc, g.group_code, g.head_uscc, g.start_date, len(people), len(matched_members),
            [m.seq_no for m in people if m.seq_no not in matched_members],
            [(t.contract_code, t.seq_no) for t in candidates if (t.contract_code, t.seq_no) not in matched_tourists],
            sorted(contracts),
        ))
    return out


def _match(people: list, candidates: list) -> tuple[set, set]:
    """One-to-one, strongest tier first: document number, then name + birth date (+ gender)."""
    matched_members: set = set()
    matched_tourists: set = set()
    by_doc: dict[str, list] = defaultdict(list)
    for t in candidates:
        if _norm(t.doc_no):
            by_doc[_norm(t.doc_no)].append(t)
    for m in people:
        for t in by_doc.get(_norm(m.doc_no) or "", []):
            if (t.contract_code, t.seq_no) not in matched_tourists:
                matched_members.add(m.seq_no)
                matched_tourists.add((t.contract_code, t.seq_no))
                break
    by_person: dict[tuple, list] = defaultdict(list)
    for t in candidates:
        if (t.contract_code, t.seq_no) not in matched_tourists and t.name and t.birth_date:
            by_person[(_norm(t.name), t.birth_date)].append(t)
    for m in people:
        if m.seq_no in matched_members or not m.name or not m.birth_date:
            continue
        for t in by_person.get((_norm(m.name), m.birth_date), []):
            if (t.contract_code, t.seq_no) in matched_tourists:
                continue
            if m.gender and t.gender and m.gender != t.gender:
                continue
            matched_members.add(m.seq_no)
            matched_tourists.add((t.contract_code, t.seq_no))
            break
    return matched_members, matched_tourists


def _roster_vs_contract(conn, month: str | None, region: str | None) -> list[Finding]:
    out = []
    for g in roster_coverage(conn, month, region):
        if not g.members_without_contract and not g.tourists_not_on_roster:
            continue
        coverage = g.coverage
        out.append(Finding(
            "ROSTER_VS_CONTRACT", "tour_group", {"organizer_uscc": g.organizer_uscc, "group_code": g.group_code},
            g.head_uscc, month_of(g.start_date),
            f"游客名单{g.members}人，与电子合同匹配{g.matched}人；{len(g.members_without_contract)}人无合同，"
            f"合同中{len(g.tourists_not_on_roster)}人不在名单上",
            {
                "members": g.members,
                "matched": g.matched,
                "coverage": float(coverage) if coverage is not None else None,
                "members_without_contract": g.members_without_contract,
                "contract_tourists_not_on_roster": [{"contract_code": c, "seq_no": n} for c, n in g.tourists_not_on_roster],
                "contracts": g.contracts,
            },
        ))
    return out


# --- statistics vs filings -------------------------------------------------------------------------

_PERIOD = re.compile(r"^(\d{4})-Q([1-4])$")


def _quarter(period: str) -> tuple[date, date] | None:
    m = _PERIOD.match(period or "")
    if not m:
        return None
    year, q = int(m.group(1)), int(m.group(2))
    last = Month.parse(f"{year:04d}-{q * 3:02d}").last
    return date(year, q * 3 - 2, 1), last


def _quarter_month(period: str) -> str | None:
    q = _quarter(period)
    return q[1].strftime("%Y-%m") if q else None


def _statistics_rows(conn, s: _Scope, condition: str):
    """(period, row) of statistics rows in scope meeting `condition`, with the filed figures to compare."""
    periods = [p for (p,) in conn.execute(sa.text("SELECT DISTINCT period FROM agency_statistics"))]
    for period in sorted(p for p in periods if _quarter(p)):
        if s.month and _quarter_month(period) != s.month.label:
            continue
        q_first, q_last = _quarter(period)
        sql = f"""WITH {_UNIT}
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


def _stats_vs_filings(conn, s: _Scope) -> list[Finding]:
    out = []
    for period, r in _statistics_rows(conn, s, "a.uscc IS NOT NULL"):
        q_first, _ = _quarter(period)
        key, month = {"uscc": r.uscc, "period": period}, _quarter_month(period)

        def add(kind: str, msg: str, detail: dict, field_name: str | None = None, key=key, uscc=r.uscc, month=month):
            out.append(Finding("STATS_VS_FILINGS", "agency_statistics", key, uscc, month, msg,
                               {"check": kind, **detail}, field=field_name))

        if r.status in ("CANCELLED", "REVOKED") and r.status_date and r.status_date < q_first:
            add("CANCELLED_AGENCY", f"旅行社已于{r.status_date}{_STATUS_NAMES[r.status]}，仍有{period}统计报表",
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


# --- entry points ----------------------------------------------------------------------------------


def cross_checks(conn, month: str | None = None, region: str | None = None) -> list[Finding]:
    """Every cross-check of SPEC section 7 for a month (None: all) and region (None: nation)."""
    with open_connection(conn) as c:
        s = _Scope(month, region)
        findings = (
            _member_count(c, s) + _leader_missing(c, s) + _organizer_not_qualified(c, s)
            + _unknown_agency(c, s) + _roster_vs_contract(c, month, region) + _stats_vs_filings(c, s)
        )
    return sorted(findings, key=lambda f: (f.agency_uscc or "", f.month or "", f.rule, json.dumps(f.natural_key, sort_keys=True)))


def store_findings(conn, findings: list[Finding], month: str | None = None) -> int:
    """Replace the stored cross-check findings of `month` (None: of every month) with `findings`."""
    if isinstance(conn, sa.Engine):
        with conn.begin() as c:
            return store_findings(c, findings, month)
    delete = finding_table.delete().where(finding_table.c.batch_id.is_(None), finding_table.c.rule.in_(CROSS_CHECK_RULES))
    if month:
        delete = delete.where(finding_table.c.month == Month.parse(month).label)
    conn.execute(delete)
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [{
        "batch_id": None, "entity": f.entity, "natural_key": json.dumps(f.natural_key, ensure_ascii=False, sort_keys=True),
        "agency_uscc": f.agency_uscc, "month": f.month, "rule": f.rule, "severity": f.severity, "field": f.field,
        "message": f.message, "detail": f.detail, "created_at": now,
    } for f in findings]
    if rows:
        conn.execute(finding_table.insert(), rows)
    return len(rows)
