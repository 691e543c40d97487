"""`make demo`: the main job on bundled sandbox data, start to finish.

A nightly sync of the month's uploads into a fresh embedded warehouse, then the month's indicators
and the stewards' failure report. Each step is an ordinary tourlink call, so this file also reads as
a tour of the public API.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console

from tourlink import settings

console = Console()


def _fresh_home() -> Path:
    home = settings.home()
    for name in ("warehouse.db", "landing", "reports", "demo"):
        target = home / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    home.mkdir(parents=True, exist_ok=True)
    return home


def import_uploads(month: str) -> str:
    """Spreadsheet uploads of the month (the SFTP drop's content), imported as one batch."""
    from tourlink.commands.files import _counts_table
    from tourlink.demo.sample import write_sample
    from tourlink.pipeline import import_files

    sample = write_sample(settings.home() / "demo" / "uploads", month=month)
    console.rule(f"[bold]1. 表格导入 spreadsheet uploads: {len(sample.files)} files, {sample.groups} groups, {sample.members} tourists")
    result = import_files(sample.files, source="sftp:demo-uploads")
    console.print(_counts_table(result, f"batch {result.batch_id}"))
    for line in sample.bad_rows:
        console.print(f"  planted bad row: {line}")
    return result.batch_id


def show_indicators(month: str) -> None:
    import sqlalchemy as sa

    from warehouse.indicators import compute_indicators

    console.rule(f"[bold]2. 指标 indicators {month}")
    engine = sa.create_engine(settings.warehouse_url())
    with engine.connect() as conn:
        for region in (None, "21"):
            figures = compute_indicators(conn, month, region)
            console.print(f"[bold]{region or '全国 CN'}")
            for f in figures:
                value = "—" if f.value is None else f"{f.value}"
                console.print(f"  {f.indicator:>2}  {f.numerator:>6} / {f.denominator:<6} = {value}")


def write_report(out: Path) -> Path:
    from tourlink.report.failures import write_failure_report

    console.rule("[bold]3. 失败报告 stewards' failure report")
    return write_failure_report(out)


def run_demo(month: str = "2026-10", fresh: bool = True) -> None:
    if fresh:
        _fresh_home()
    import_uploads(month)
    show_indicators(month)
    report = write_report(settings.reports_dir())
    console.print(f"report: {report}")
