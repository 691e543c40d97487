"""What a cross-check finds (`Finding`), the rules and their names, and how findings are stored:
in `finding` without a batch, replaced month by month."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa

from warehouse.regions import Month
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
STATUS_NAMES = {"SUSPENDED": "暂停经营", "CANCELLED": "注销", "REVOKED": "吊销"}


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
