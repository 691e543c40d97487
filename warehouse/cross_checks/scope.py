"""The month/region restriction the checks share (`UNIT`, the head office of every unit, is the
indicators')."""

from __future__ import annotations

import sqlalchemy as sa

from warehouse.cross_checks.findings import Finding
from warehouse.indicator_sql import UNIT, typed_text
from warehouse.regions import NATION, Month, month_of, normalise_region

__all__ = ["OUTBOUND_SCOPE", "UNIT", "Scope", "group_finding"]

OUTBOUND_SCOPE = "'|' || COALESCE(h.business_scope, '') || '|' LIKE '%|OUTBOUND|%'"


class Scope:
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
        clause = typed_text(sql, self.binds)
        return clause.columns(**columns) if columns else clause


def group_finding(rule: str, row, message: str, detail: dict, field_name: str | None = None) -> Finding:
    return Finding(
        rule, "tour_group", {"organizer_uscc": row.organizer_uscc, "group_code": row.group_code},
        row.head_uscc or row.organizer_uscc, month_of(row.start_date), message, detail, field=field_name,
    )
