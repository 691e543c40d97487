"""Write the stewards' failure report (HTML + xlsx) for one region and day into a folder.

This is what `tourlink report` and the daily DAG call. The files are named after the region and day
(`failures-2101-2026-03-05.html`), so one folder holds every region's reports side by side and a
steward's link never points at another region's file; folder and files are owner-only (0700/0600).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from tourlink.report.failures import SHANGHAI, FailureReport, Scope, load_report
from tourlink.report.html import render_html
from tourlink.report.private_files import private_dir, private_file
from tourlink.report.workbook import write_workbook

DATA_DOCS = Path("data-docs") / "index.html"


@dataclass
class ReportFiles:
    html: Path
    xlsx: Path
    report: FailureReport
    indicators: Path | None = None  # the month's indicator page (issue 3), when asked for
    data_docs: Path | None = None  # the GX Data Docs index the page links to, when there are any

    def to_json(self) -> dict:
        return {
            "html": str(self.html),
            "xlsx": str(self.xlsx),
            "indicators": str(self.indicators) if self.indicators else None,
            "data_docs": str(self.data_docs) if self.data_docs else None,
            "region": self.report.scope.region,
            "entries": self.report.entry_count,
            "failures": len(self.report.failures),
        }


def shared_data_docs() -> Path:
    """Where the reports' shared GX Data Docs live: `$TOURLINK_HOME/reports/data-docs/index.html`."""
    from tourlink import settings

    return settings.reports_dir() / DATA_DOCS


def ensure_data_docs(index: Path | None = None, *, now: datetime | None = None) -> Path:
    """Build the validators' GX Data Docs at `index` unless they were already built today (Shanghai).

    The suites carry date-relative expectations (a birth date not in the future), so a day-old build
    is rebuilt; building takes tens of seconds, so it happens at most once a day, not per region.
    """
    from validators.expectations import build_data_docs

    index = index or shared_data_docs()
    today = (now or datetime.now(UTC)).astimezone(SHANGHAI).date()
    if index.is_file() and datetime.fromtimestamp(index.stat().st_mtime, UTC).astimezone(SHANGHAI).date() == today:
        return index
    return build_data_docs(index.parent, today=today)


def _data_docs_link(out: Path, data_docs: Path | None) -> tuple[str | None, Path | None]:
    """The page's link to the Data Docs: `out/data-docs/` first, else `data_docs`, else the shared ones."""
    for index in (out / DATA_DOCS, data_docs, shared_data_docs()):
        if index is not None and index.is_file():
            return Path(os.path.relpath(index.resolve(), out.resolve())).as_posix(), index
    return None, None


def report_stem(scope: Scope, now: datetime) -> str:
    day = (scope.day or now.astimezone(SHANGHAI).date()).isoformat()
    parts = ["failures", scope.region or "all", day]
    if scope.batch_id:
        parts.append(scope.batch_id[:8])
    return "-".join(parts)


def publish_report(
    engine: sa.Engine,
    scope: Scope,
    out: Path,
    *,
    now: datetime | None = None,
    month: str | None = None,
    data_docs: Path | None = None,
) -> ReportFiles:
    """Read the scope's failures and write `<stem>.html` and `<stem>.xlsx` into `out`.

    With `month` (YYYY-MM), also the region's indicator page for that month
    (`indicators-<region>-<month>.html` and its PNG charts), linked from the failure page. A district
    (6-digit) scope gets none: indicators exist for the nation, provinces and prefectures only, and a
    district steward must not see the whole prefecture's page under their name.
    Links the GX Data Docs for engineers when they were built (`out/data-docs/`, `data_docs`, or the
    shared ones under `$TOURLINK_HOME/reports/`).
    """
    now = now or datetime.now(UTC)
    private_dir(out)  # owner-only: the folder may sit on a server other stewards log in to (issue 20)
    with engine.connect() as conn:
        report = load_report(conn, scope, now=now)
    stem = report_stem(scope, now)
    html_path, xlsx_path = out / f"{stem}.html", out / f"{stem}.xlsx"
    indicators = None
    if month and (scope.region is None or len(scope.region) <= 4):
        from tourlink.report.indicator_charts import render_indicator_page

        indicators = render_indicator_page(engine, month, out, region=scope.region)
    link, docs = _data_docs_link(out, data_docs)
    page = render_html(report, data_docs=link, indicators=indicators.name if indicators else None)
    html_path.write_text(page, encoding="utf-8")
    write_workbook(report, xlsx_path)
    written = [html_path, xlsx_path, *(sorted(out.glob(f"{indicators.stem}*")) if indicators else [])]
    for path in written:
        private_file(path)
    return ReportFiles(html_path, xlsx_path, report, indicators, docs)


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
    month: str | None = None,
    data_docs: bool = True,
) -> Path:
    """The daily DAG's entry point: write one region's report into `out`; returns the HTML path.

    `data_docs` builds the shared GX Data Docs first when today's are missing (once a day), so the
    page links them; `month` adds the indicator page.
    """
    scope = Scope(region=region, batch_id=batch_id, day=date.fromisoformat(str(day)) if day else None)
    docs = ensure_data_docs() if data_docs else None
    return publish_report(engine or default_engine(), scope, Path(out), month=month, data_docs=docs).html
