"""Airflow callbacks: a failed task, and a sync that read nothing from a source that usually sends rows.

`task_failed` is every DAG's `on_failure_callback`; `task_succeeded` (`on_success_callback`) looks at
the sync steps only (`merge`, `sync`): when the run read 0 rows while the source's last committed
batches read a median of at least `TOURLINK_ALERT_EMPTY_MIN` (default 100) rows, it alerts.
"""

from __future__ import annotations

import os
import statistics
from typing import Any

import sqlalchemy as sa

from tourlink.alerts.targets import Alert, send

SYNC_STEPS = ("merge", "sync")
HISTORY = 5


def task_failed(context: dict[str, Any]) -> None:
    ti = context.get("ti") or context.get("task_instance")
    dag_id, task_id = getattr(ti, "dag_id", "?"), getattr(ti, "task_id", "?")
    error = context.get("exception")
    send(Alert(
        subject=f"[tourlink] {dag_id}.{task_id} 失败",
        text=f"任务 {dag_id}.{task_id}（运行 {context.get('run_id')}）失败：{error.__class__.__name__ if error else ''} {error or ''}",
        detail={"kind": "task_failed", "dag_id": dag_id, "task_id": task_id, "run_id": context.get("run_id"),
                "try_number": getattr(ti, "try_number", None)},
    ))


def rows_read(result: dict[str, Any] | None) -> int:
    return sum(int(c.get("read", 0)) for c in ((result or {}).get("entities") or {}).values() if isinstance(c, dict))


def usual_rows(engine: sa.Engine, source: str) -> float | None:
    """Median rows read by the source's last committed batches (None: no history)."""
    from warehouse import tables as t

    b = t.batch
    stmt = (sa.select(b.c.counts).where(b.c.status == "committed", sa.or_(b.c.source == source, b.c.source.like(f"%:{source}")))
            .order_by(b.c.started_at.desc()).limit(HISTORY))
    with engine.connect() as conn:
        reads = [rows_read({"entities": counts}) for (counts,) in conn.execute(stmt) if counts]
    return statistics.median(reads) if reads else None


def empty_sync_alert(engine: sa.Engine, source: str, result: dict[str, Any] | None) -> Alert | None:
    """The alert for an empty sync of a source that normally sends rows, or None."""
    if rows_read(result) > 0:
        return None
    usual = usual_rows(engine, source)
    threshold = int(os.environ.get("TOURLINK_ALERT_EMPTY_MIN", "100"))
    if usual is None or usual < threshold:
        return None
    return Alert(
        subject=f"[tourlink] {source} 本次同步 0 行",
        text=f"数据源 {source} 本次同步读取 0 行，近 {HISTORY} 批通常读取约 {usual:.0f} 行：请检查对方接口或文件投递。",
        detail={"kind": "empty_sync", "source": source, "usual_rows": usual},
    )


def task_succeeded(context: dict[str, Any]) -> None:
    ti = context.get("ti") or context.get("task_instance")
    if getattr(ti, "task_id", None) not in SYNC_STEPS:
        return
    from tourlink import settings

    source = str(getattr(ti, "dag_id", "")).removeprefix("tourlink_sync__")
    result = ti.xcom_pull(task_ids=ti.task_id)
    engine = sa.create_engine(settings.warehouse_url())
    try:
        alert = empty_sync_alert(engine, source, result)
    finally:
        engine.dispose()
    if alert is not None:
        send(alert)
