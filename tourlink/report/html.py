"""The failure report as one self-contained HTML page: no CDN, no network, plain JS filters.

Jinja2 autoescapes every value, so a quarantined cell holding `<script>` shows as text. The page's
filters (agency, rule, source, day) also read and write the URL fragment (`#rule=RIC_CHECKSUM`), so a
steward can send a colleague a link to exactly what they are looking at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta, timezone
from functools import cache

import jinja2

from tourlink.report.failures import STATUS_ZH, UNKNOWN_AGENCY_ZH, Failure, FailureReport, rule_text

MAX_HTML_ROWS = 5000  # beyond this the page gets slow in a browser; the xlsx always has every row


@dataclass
class AgencyGroup:
    uscc: str
    name: str
    failures: list[Failure]


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("tourlink.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
    )


def grouped(failures: list[Failure]) -> list[AgencyGroup]:
    """By agency, then file, then rule, then row: how a steward works through the list."""
    ordered = sorted(failures, key=lambda f: (f.agency_name, f.agency_uscc or "", f.file or "", f.rule, f.row or 0, f.quarantine_id))
    groups: list[AgencyGroup] = []
    for f in ordered:
        if not groups or groups[-1].uscc != (f.agency_uscc or ""):
            groups.append(AgencyGroup(f.agency_uscc or "", f.agency_name, []))
        groups[-1].failures.append(f)
    return groups


def render_html(
    report: FailureReport,
    *,
    data_docs: str | None = None,
    indicators: str | None = None,
    actions: Callable[[Failure], str] | None = None,
    extra_head: str = "",
    compact: bool = False,
) -> str:
    """Render the report page. `indicators` links the month's indicator page; `actions` adds a column of per-row controls (the web view's waive form)."""
    shown = sorted(report.failures, key=lambda f: (f.agency_name, f.file or "", f.rule, f.row or 0))[:MAX_HTML_ROWS]
    day = report.scope.day.isoformat() if report.scope.day else report.generated_at.astimezone(timezone(timedelta(hours=8))).date().isoformat()
    agency_names = {c.key: c.label for c in report.by_agency}
    rule_names = {c.key: c.label for c in report.by_rule}
    for rule in report.trend_by_rule:
        rule_names.setdefault(rule, rule_text(rule).name_zh)
    for uscc in report.trend_by_agency:
        agency_names.setdefault(uscc, uscc or UNKNOWN_AGENCY_ZH)
    return environment().get_template("failures.html.j2").render(
        report=report,
        day=day,
        generated=report.generated_at.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M"),
        statuses="、".join(STATUS_ZH[s] for s in report.scope.statuses) or "全部",
        data_docs=data_docs,
        indicators=indicators,
        groups=grouped(shown),
        shown=shown,
        truncated=len(report.failures) > len(shown),
        trend_max=max(report.trend_total or [0]) or 1,
        agency_names=agency_names,
        rule_names=rule_names,
        actions=actions,
        extra_head=extra_head,
        compact=compact,
    )
