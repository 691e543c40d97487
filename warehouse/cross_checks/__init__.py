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

from warehouse.cross_checks.findings import CROSS_CHECK_RULES, RULE_NAMES, Finding, store_findings
from warehouse.cross_checks.groups import leader_missing, member_count, organizer_not_qualified, unknown_agency
from warehouse.cross_checks.roster import GroupCoverage, roster_coverage, roster_vs_contract
from warehouse.cross_checks.scope import Scope
from warehouse.cross_checks.statistics import OUTBOUND_VOLUME_RANGE, stats_vs_filings
from warehouse.engine import open_connection

__all__ = [
    "CROSS_CHECK_RULES",
    "OUTBOUND_VOLUME_RANGE",
    "RULE_NAMES",
    "Finding",
    "GroupCoverage",
    "cross_checks",
    "roster_coverage",
    "store_findings",
]


def cross_checks(conn, month: str | None = None, region: str | None = None) -> list[Finding]:
    """Every cross-check of SPEC section 7 for a month (None: all) and region (None: nation)."""
    with open_connection(conn) as c:
        s = Scope(month, region)
        findings = (
            member_count(c, s) + leader_missing(c, s) + organizer_not_qualified(c, s)
            + unknown_agency(c, s) + roster_vs_contract(c, month, region) + stats_vs_filings(c, s)
        )
    return sorted(findings, key=lambda f: (f.agency_uscc or "", f.month or "", f.rule, json.dumps(f.natural_key, sort_keys=True)))
