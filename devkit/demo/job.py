"""`make demo`: the main job on bundled sandbox data, start to finish, through real Airflow runs.

1. the month's spreadsheet uploads (agency register, guides, rosters, contracts) imported as one batch;
2. the nightly sync of every sandbox source in the registry (ERP vendors, the SFTP drop, the
   government portal), each a real Airflow DAG run (`dag.test()`, or with `--scheduler` a real
   scheduler's run: devkit/demo/scheduled.py) against its emulator on loopback;
3. the monthly indicator DAG for the month;
4. the month's indicators and the 引客入辽 count, printed by the same CLI commands a user runs;
5. where the stewards' failure reports are.

Each step is an ordinary tourlink call, so this file also reads as a tour of the public API.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from tourlink import settings

console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 120)
SHANGHAI = ZoneInfo("Asia/Shanghai")
TOURLINK = str(Path(sys.executable).parent / "tourlink")
AIRFLOW = str(Path(sys.executable).parent / "airflow")


def _fresh_home() -> Path:
    home = settings.home()
    for name in (
        "warehouse.db",
        "warehouse.db-wal",
        "warehouse.db-shm",
        "landing",
        "reports",
        "demo",
        "airflow",
        "runs",
        "staging",
        "state",
    ):
        target = home / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    home.mkdir(parents=True, exist_ok=True)
    return home


def import_uploads(month: str) -> str:
    """Spreadsheet uploads of the month (the platform's import templates), imported as one batch."""
    from connectors.registry import load_sources
    from devkit.demo.sample import write_sample
    from tourlink.commands.files import _counts_table
    from tourlink.pipeline import import_files

    erp_regions = [s.region for s in load_sources().values() if "erp" in s.tags and "sandbox" in s.tags and s.region]
    sample = write_sample(settings.home() / "demo" / "uploads", month=month, erp_regions=erp_regions)
    console.rule(
        f"[bold]1. 表格导入 spreadsheet uploads: {len(sample.files)} files, {sample.groups} groups, "
        f"{sample.members} tourists"
    )
    result = import_files(sample.files, source="files:demo-uploads")
    console.print(_counts_table(result, f"batch {result.batch_id}"))
    for line in sample.bad_rows:
        console.print(f"  planted bad row: {line}")
    return result.batch_id


def _prepare_airflow() -> None:
    """Airflow's environment for this checkout and a migrated metadata database, before Airflow is
    imported (it reads its configuration once, at import)."""
    from tourlink.airflow_env import airflow_environment

    env = airflow_environment()
    env.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    os.environ.update(env)
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=900)


def _dag_bag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise RuntimeError(f"dags/ failed to import: {bag.import_errors}")
    return bag


def _loaded_since(source: str, started: datetime) -> tuple[int, int]:
    """Rows loaded and quarantined by the source's batches committed since `started` (a file-by-file
    source commits one batch per file), from the warehouse's batch records."""
    import sqlalchemy as sa

    from warehouse import tables
    from warehouse.engine import make_engine

    t = tables.batch
    engine = make_engine()
    try:
        with engine.connect() as conn:
            rows = (
                conn.execute(
                    sa.select(t.c.counts).where(
                        t.c.source == source, t.c.status == "committed", t.c.started_at >= started.replace(tzinfo=None)
                    )
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    per_entity = [c for counts in rows for c in (counts or {}).values() if isinstance(c, dict)]
    return sum(c.get("loaded", 0) for c in per_entity), sum(c.get("quarantined", 0) for c in per_entity)


def nightly_sync(bag: Any, night: datetime) -> None:
    """One nightly DAG run per sandbox source of the registry, its emulator up for the run."""
    from connectors.registry import load_sources
    from devkit.sandbox import SANDBOXES, start_for

    console.rule(f"[bold]2. 夜间同步 nightly sync through Airflow ({night:%Y-%m-%d}, Asia/Shanghai)")
    table = Table()
    for col in ("DAG", "dialect", "state", "loaded", "quarantined"):
        table.add_column(col)
    for source in load_sources().values():
        if source.dialect not in SANDBOXES or "sandbox" not in source.tags:
            continue
        sandbox = start_for(source)
        started = datetime.now(UTC)
        try:
            run = bag.dags[f"tourlink_sync__{source.name}"].test(logical_date=night)
        finally:
            sandbox.stop()
        loaded, quarantined = _loaded_since(source.name, started)
        table.add_row(f"tourlink_sync__{source.name}", source.dialect, str(run.state), str(loaded), str(quarantined))
    console.print(table)


def monthly_close(bag: Any, month: str) -> None:
    """The monthly indicator DAG, as the scheduler starts it on the first day of the next month."""
    year, mon = map(int, month.split("-"))
    first = datetime(year + mon // 12, mon % 12 + 1, 1, 3, tzinfo=SHANGHAI)
    console.rule(f"[bold]3. 月度指标 monthly indicator DAG ({first:%Y-%m-%d %H:%M} Asia/Shanghai)")
    run = bag.dags["tourlink_monthly_indicators"].test(logical_date=first)
    console.print(f"tourlink_monthly_indicators: {run.state}")


def show_figures(month: str) -> None:
    """The month's figures, printed by the CLI commands a user runs (the published version is the same)."""
    console.rule(f"[bold]4. 指标 indicators {month}")
    for args in (
        ["indicators", "--month", month],
        ["indicators", "--month", month, "--region", "21"],
        ["incentive", "--year", month[:4], "--province", "21", "--top", "10"],
    ):
        console.print(f"$ tourlink {' '.join(args)}", style="dim")
        subprocess.run([TOURLINK, *args], check=True, timeout=600, env={"COLUMNS": str(console.width), **os.environ})


def show_reports() -> None:
    console.rule("[bold]5. 失败报告 stewards' failure reports")
    reports = settings.reports_dir()
    for page in sorted(reports.glob("open/*/*.html")) + sorted(reports.glob("data-docs/index.html")):
        console.print(f"report: {page}", soft_wrap=True)
    console.print("open them with `tourlink web`, or fix and replay with `tourlink quarantine` / `tourlink replay`")


def run_demo(month: str = "2026-10", fresh: bool = True, scheduler: bool = False) -> None:
    """The demo; `scheduler`: step 2 through a real scheduler (devkit/demo/scheduled.py), not `dag.test()`."""
    if fresh:
        _fresh_home()
    import_uploads(month)
    if scheduler:  # before this process imports Airflow: the deployment has settings of its own
        from devkit.demo.scheduled import nightly_sync_through_scheduler

        nightly_sync_through_scheduler(console)
    _prepare_airflow()
    bag = _dag_bag()
    year, mon = map(int, month.split("-"))
    night = datetime(year + mon // 12, mon % 12 + 1, 1, 1, 15, tzinfo=SHANGHAI)
    if not scheduler:
        nightly_sync(bag, night)
    monthly_close(bag, month)
    show_figures(month)
    show_reports()
