"""Write the stewards' failure report (HTML + xlsx) for one region and day into a folder.

This is what `tourlink report` and the daily DAG call. The files are named after the region and day
(`failures-2101-2026-03-05.html`), so one folder holds every region's reports side by side and a
steward's link never points at another region's file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from tourlink.report.failures import SHANGHAI, FailureReport, Scope, load_report
from tourlink.report.html import render_html
from tourlink.report.workbook import write_workbook

DATA_DOCS = Path("data-docs") / "index.html"


@dataclass
class ReportFiles:
    html: Path
    xlsx: Path
    report: FailureReport

    def to_json(self) -> dict:
        return {
            "html": str(self.html),
            "xlsx": str(self.xlsx),
            "region": self.report.scope.region,
            "entries": self.report.entry_count,
            "failures": len(self.report.failures),
        }


def report_stem(scope: Scope, now: datetime) -> str:
    day = (scope.day or now.astimezone(SHANGHAI).date()).isoformat()
    parts = ["failures", scope.region or "all", day]
    if scope.batch_id:
        parts.append(scope.batch_id[:8])
    return "-".join(parts)


def publish_report(engine: sa.Engine, scope: Scope, out: Path, *, now: datetime | None = None) -> ReportFiles:
    """Read the scope's failures and write `<stem>.html` and `<stem>.xlsx` into `out`.

    Links the GX Data Docs (`out/data-docs/index.html`) for engineers when the validators built them.
    """
    now = now or datetime.now(UTC)
    out.mkdir(parents=True, exist_ok=True)
    with engine.connect() as conn:
        report = load_report(conn, scope, now=now)
    stem = report_stem(scope, now)
    html_path, xlsx_path = out / f"{stem}.html", out / f"{stem}.xlsx"
    docs = DATA_DOCS.as_posix() if (out / DATA_DOCS).is_file() else None
    html_path.write_text(render_html(report, data_docs=docs), encoding="utf-8")
    write_workbook(report, xlsx_path)
    return ReportFiles(html_path, xlsx_path, report)


def default_engine() -> sa.Engine:
    """The configured warehouse's engine, its schema brought up to date first."""
    from warehouse.load import Warehouse

    return Warehouse().engine


def regions_with_failures(day: date | str | None = None, *, engine: sa.Engine | None = None) -> list[str]:
    """Province codes (2 digits) that have open failures (quarantined on `day`, if given)."""
    from tourlink.report.failures import _region_column, _utc_bounds
    from warehouse import tables as t

    engine = engine or default_engine()
    region = sa.func.substr(_region_column(), 1, 2)
    q, ta = t.quarantine, t.entity_tables["travel_agency"]
    stmt = (
        sa.select(region).distinct()
        .select_from(q.outerjoin(ta, ta.c.uscc == q.c.agency_uscc))
        .where(q.c.status == "open", _region_column().is_not(None))
    )
    if day:
        start, end = _utc_bounds(date.fromisoformat(str(day)))
        stmt = stmt.where(q.c.created_at >= start, q.c.created_at < end)
    with engine.connect() as conn:
        return sorted(r for (r,) in conn.execute(stmt) if r)


def write_failure_report(
    out: Path,
    *,
    region: str | None = None,
    day: date | str | None = None,
    batch_id: str | None = None,
    engine: sa.Engine | None = None,
) -> Path:
    """The daily DAG's entry point: write one region's report into `out`; returns the HTML path."""
    scope = Scope(region=region, batch_id=batch_id, day=date.fromisoformat(str(day)) if day else None)
    return publish_report(engine or default_engine(), scope, Path(out)).html
