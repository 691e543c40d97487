"""Roster vs contract (7b): each outbound group's members paired one-to-one with the tourists of its
agency head's contracts, in Python on the month's outbound groups only (tiered matching needs an
assignment, which SQL cannot express portably)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from warehouse.cross_checks.findings import Finding
from warehouse.cross_checks.scope import UNIT, Scope
from warehouse.engine import open_connection
from warehouse.regions import month_of


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


def norm(value) -> str | None:
    return str(value).strip().upper().replace(" ", "") or None if value is not None else None


def roster_coverage(conn, month: str | None = None, region: str | None = None) -> list[GroupCoverage]:
    """Pair each countable outbound group's members with tourists of its agency head's outbound contracts.

    Contracts pair with a group by the same `group_code`; a group with no such contract takes the
    head's contracts without a group code whose dates overlap its own. People match one-to-one,
    first on document number, then on name + birth date (+ gender when both sides give one).
    """
    with open_connection(conn) as c:
        s = Scope(month, region)
        scoped = f"""{UNIT},
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
        matched_members, matched_tourists = match(people, candidates)
        out.append(GroupCoverage(
            g.organizer_uscc, g.group_code, g.head_uscc, g.start_date, len(people), len(matched_members),
            [m.seq_no for m in people if m.seq_no not in matched_members],
            [(t.contract_code, t.seq_no) for t in candidates if (t.contract_code, t.seq_no) not in matched_tourists],
            sorted(contracts),
        ))
    return out


def match(people: list, candidates: list) -> tuple[set, set]:
    """One-to-one, strongest tier first: document number, then name + birth date (+ gender)."""
    matched_members: set = set()
    matched_tourists: set = set()
    by_doc: dict[str, list] = defaultdict(list)
    for t in candidates:
        if norm(t.doc_no):
            by_doc[norm(t.doc_no)].append(t)
    for m in people:
        for t in by_doc.get(norm(m.doc_no) or "", []):
            if (t.contract_code, t.seq_no) not in matched_tourists:
                matched_members.add(m.seq_no)
                matched_tourists.add((t.contract_code, t.seq_no))
                break
    by_person: dict[tuple, list] = defaultdict(list)
    for t in candidates:
        if (t.contract_code, t.seq_no) not in matched_tourists and t.name and t.birth_date:
            by_person[(norm(t.name), t.birth_date)].append(t)
    for m in people:
        if m.seq_no in matched_members or not m.name or not m.birth_date:
            continue
        for t in by_person.get((norm(m.name), m.birth_date), []):
            if (t.contract_code, t.seq_no) in matched_tourists:
                continue
            if m.gender and t.gender and m.gender != t.gender:
                continue
            matched_members.add(m.seq_no)
            matched_tourists.add((t.contract_code, t.seq_no))
            break
    return matched_members, matched_tourists


def roster_vs_contract(conn, month: str | None, region: str | None) -> list[Finding]:
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
