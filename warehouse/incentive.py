"""The 引客入辽 count (SPEC section 6): out-of-province and overseas tourists received by a province's agencies.

SQL does the heavy part: it picks the groups received (地接) by the province's head offices, finds
each group's stay in the province, and counts its members by origin. Python gets one row per
received group (the spot-check evidence the province asks for anyway), computes the filing
deadline (calendar-month arithmetic is not portable SQL) and sums per agency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa

from warehouse.engine import open_connection
from warehouse.indicator_sql import UNIT, typed_text
from warehouse.regions import add_calendar_month, end_of_day_utc, normalise_region, region_level

OVERSEAS_DOC_TYPES = ("HRP_HK_MO", "MTP_TW", "RP_HK_MO_TW", "FOREIGN_PASSPORT", "FOREIGN_PR_ID")

_GROUPS = f"""
WITH {UNIT},
agency AS (
  SELECT uscc, name FROM travel_agency
  WHERE COALESCE(unit_type, 'HEAD') = 'HEAD' AND substr(division_code, 1, 2) = :p
),
stay AS (
  SELECT organizer_uscc, group_code, MIN(date) AS stay_from, MAX(date) AS stay_to
  FROM group_itinerary WHERE province_code = :p
  GROUP BY organizer_uscc, group_code
),
received AS (
  SELECT a.uscc AS agency_uscc, a.name AS agency_name, g.organizer_uscc, g.group_code, g.submitted_at,
         g.source_province,
         COALESCE(st.stay_from, g.start_date) AS stay_from, COALESCE(st.stay_to, g.end_date) AS stay_to
  FROM tour_group g
  JOIN unit u ON u.uscc = g.receiving_uscc
  JOIN agency a ON a.uscc = u.head_uscc
  LEFT JOIN stay st ON st.organizer_uscc = g.organizer_uscc AND st.group_code = g.group_code
  WHERE COALESCE(g.status, '') <> 'CANCELLED'
),
in_year AS (
  SELECT * FROM received WHERE stay_from >= :y_first AND stay_from <= :y_last
),
origin AS (
  SELECT m.organizer_uscc, m.group_code,
         CASE WHEN (m.nationality IS NOT NULL AND m.nationality <> 'CHN') OR m.doc_type IN ({{overseas}})
              THEN 1 ELSE 0 END AS overseas,
         COALESCE(NULLIF(m.residence_province, ''), NULLIF(y.source_province, ''),
                  CASE WHEN m.doc_type = 'CN_RIC' THEN substr(m.doc_no, 1, 2) END) AS province
  FROM group_member m
  JOIN in_year y ON y.organizer_uscc = m.organizer_uscc AND y.group_code = m.group_code
)
SELECT y.agency_uscc, y.agency_name, y.organizer_uscc, y.group_code, y.submitted_at, y.stay_from, y.stay_to,
       COALESCE(SUM(o.overseas), 0) AS overseas,
       COALESCE(SUM(CASE WHEN o.overseas = 0 AND o.province IS NOT NULL AND o.province <> :p THEN 1 ELSE 0 END), 0)
         AS out_of_province,
       COUNT(o.group_code) AS members
FROM in_year y
LEFT JOIN origin o ON o.organizer_uscc = y.organizer_uscc AND o.group_code = y.group_code
GROUP BY y.agency_uscc, y.agency_name, y.organizer_uscc, y.group_code, y.submitted_at, y.stay_from, y.stay_to
"""


@dataclass(frozen=True)
class IncentiveGroup:
    """One received group: the evidence a spot check reproduces."""

    organizer_uscc: str
    group_code: str
    stay_from: date
    stay_to: date
    submitted_at: datetime | None  # naive UTC
    deadline: datetime  # exclusive, naive UTC: in time ⇔ submitted_at < deadline
    late: bool
    members: int
    overseas: int
    out_of_province: int

    def as_dict(self) -> dict:
        return {
            "organizer_uscc": self.organizer_uscc,
            "group_code": self.group_code,
            "stay_from": self.stay_from.isoformat(),
            "stay_to": self.stay_to.isoformat(),
            "submitted_at": self.submitted_at.isoformat() if self.submitted_at else None,
            "deadline": self.deadline.isoformat(),
            "late": self.late,
            "members": self.members,
            "overseas": self.overseas,
            "out_of_province": self.out_of_province,
        }


@dataclass(frozen=True)
class AgencyIncentive:
    uscc: str
    name: str | None
    eligible_groups: int  # received, stay starting in the year, filed in time
    late_groups: int  # received, stay starting in the year, filed after the deadline: not counted
    overseas: int
    out_of_province: int
    groups: list[IncentiveGroup] = field(default_factory=list)

    @property
    def tourists(self) -> int:
        return self.overseas + self.out_of_province

    def as_dict(self) -> dict:
        return {
            "uscc": self.uscc,
            "name": self.name,
            "eligible_groups": self.eligible_groups,
            "late_groups": self.late_groups,
            "overseas": self.overseas,
            "out_of_province": self.out_of_province,
            "groups": [g.as_dict() for g in self.groups],
        }


def filing_deadline(stay_from: date, stay_to: date, cutoff: date) -> datetime:
    """Exclusive deadline (naive UTC) for filing a group: end of day of stay end + 1 calendar month
    (clamped), or, for a stay starting on or before the back-fill cut-off, the later of that and the
    end of the cut-off day."""
    deadline = end_of_day_utc(add_calendar_month(stay_to))
    if stay_from <= cutoff:
        deadline = max(deadline, end_of_day_utc(cutoff))
    return deadline


def _as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def incentive(conn, year: int, province: str = "21", cutoff: date | None = None) -> list[AgencyIncentive]:
    """Per agency of `province`: eligible and late groups, counted overseas and out-of-province person-trips.

    Sorted by counted tourists, most first. Agencies that received no group in the year are omitted.
    """
    p = normalise_region(province)
    if region_level(p) != 2:
        raise ValueError(f"须为省级区划代码: {province!r}")
    cutoff = cutoff or date(year, 4, 20)
    sql = _GROUPS.format(overseas=", ".join(f"'{d}'" for d in OVERSEAS_DOC_TYPES))
    binds = [sa.bindparam("y_first", type_=sa.Date), sa.bindparam("y_last", type_=sa.Date)]
    params = {"p": p, "y_first": date(year, 1, 1), "y_last": date(year, 12, 31)}
    agencies: dict[str, dict] = {}
    with open_connection(conn) as c:
        rows = c.execute(typed_text(sql, binds), params).mappings().all()
    for r in rows:
        stay_from, stay_to = _as_date(r["stay_from"]), _as_date(r["stay_to"])
        submitted = r["submitted_at"]
        if isinstance(submitted, str):
            submitted = datetime.fromisoformat(submitted)
        deadline = filing_deadline(stay_from, stay_to, cutoff)
        late = submitted is None or submitted >= deadline
        g = IncentiveGroup(
            r["organizer_uscc"], r["group_code"], stay_from, stay_to, submitted, deadline, late,
            int(r["members"]), int(r["overseas"]), int(r["out_of_province"]),
        )
        a = agencies.setdefault(r["agency_uscc"], {"name": r["agency_name"], "groups": []})
        a["groups"].append(g)
    out = []
    for uscc, a in agencies.items():
        groups = sorted(a["groups"], key=lambda g: (g.stay_from, g.organizer_uscc, g.group_code))
        in_time = [g for g in groups if not g.late]
        out.append(AgencyIncentive(
            uscc, a["name"], len(in_time), len(groups) - len(in_time),
            sum(g.overseas for g in in_time), sum(g.out_of_province for g in in_time), groups,
        ))
    return sorted(out, key=lambda a: (-a.tourists, a.uscc))
