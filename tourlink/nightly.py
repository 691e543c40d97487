"""The steps of a nightly sync and of the monthly close, as plain functions (Airflow's task bodies).

Airflow's DAGs call these and nothing else, and these call `tourlink.flow` and nothing below it, so
every step also runs from the CLI or a test without Airflow. A sync's steps hand over to the next in
one run folder of storage every worker reaches (`tourlink.flow.handover` on `tourlink.storage`:
`runs/<source>/<run id>/` under TOURLINK_STORAGE_URL), which makes them restartable on their own:
re-running `extract` refetches, a `validate` or `merge` whose hand-over is missing fails loudly
(`HandOverMissing`), and a `merge` retried after its commit answers with the committed batch.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tourlink.flow import CONFIGURATION_ERRORS, Window
from tourlink.flow import steps as _steps
from tourlink.flow.plan import FILE_BY_FILE_DIALECTS, NightlyPlan, nightly_plans, source_entities

__all__ = [
    "FILE_BY_FILE_DIALECTS",
    "ConfigurationError",
    "NightlyPlan",
    "Window",
    "extract",
    "incremental_since",
    "merge",
    "monthly_close",
    "nightly_plans",
    "source_entities",
    "steward_reports",
    "sync_file_by_file",
    "touched",
    "validate",
]


class ConfigurationError(RuntimeError):
    """A source cannot run as configured (unknown source, missing secret, rejected credentials):
    retrying will not help, a person must act."""


def incremental_since(source: Any, window: Window) -> datetime | None:
    """The window's start, unless the source has never synced (None: load everything up to the
    window's end) or its watermark is older (None: catch up from the watermark after missed nights).
    Watermarks that are not timestamps (the portal's last event id) leave the choice to the reader."""
    from tourlink.flow import stored_state

    if window.since is None:
        return None
    state = stored_state(source.name)
    marks = [state.get(stream) for stream in source.streams or ("default",)]
    try:
        parsed = [datetime.fromisoformat(m) for m in marks if m is not None]
    except ValueError:
        return None
    if len(parsed) < len(marks):
        return None
    since = window.since
    for mark in parsed:
        mark = mark if mark.tzinfo else mark.replace(tzinfo=since.tzinfo)
        if mark < since:
            return None
    return since


def _fail_fast(exc: Exception) -> Exception:
    """Auth and configuration errors become ConfigurationError (no retry); others stay transient."""
    if isinstance(exc, CONFIGURATION_ERRORS):
        return ConfigurationError(f"{type(exc).__name__}: {exc}")
    return exc


def extract(source_name: str, run_id: str, window: Window, *, full_refresh: bool = False) -> dict[str, Any]:
    """Read the window's records and hand them over (frames, raw bodies, new state) to `validate`."""
    from tourlink.flow import get_source

    try:
        source = get_source(source_name)
        window = Window(since=incremental_since(source, window), until=window.until, full_refresh=full_refresh)
        return _steps.extract(source_name, run_id, window)
    except Exception as exc:
        raise _fail_fast(exc) from exc


def validate(source_name: str, run_id: str) -> dict[str, Any]:
    """Map and validate the extracted records; bad rows are staged for quarantine."""
    return _steps.validate(source_name, run_id)


def merge(source_name: str, run_id: str) -> dict[str, Any]:
    """Commit the staged batch in one transaction (rows, quarantine, findings, state), then derive."""
    return _steps.merge(source_name, run_id)


def sync_file_by_file(source_name: str, window: Window) -> dict[str, Any]:
    """The one step of file-drop sources: each file is its own batch, archived or rejected after it."""
    from tourlink.flow import sync

    try:
        result = sync(source_name, since=window.since, until=window.until)
    except Exception as exc:
        raise _fail_fast(exc) from exc
    files = result.entities.get("files", [])
    counts = {entity: c for entity, c in result.entities.items() if entity != "files"}
    return {"entities": counts, "files": files, "streams": result.streams}


def touched(result: dict[str, Any], entity: str) -> bool:
    counts = (result or {}).get("entities", {}).get(entity) or {}
    if isinstance(counts, dict):
        return bool(counts.get("loaded"))
    return bool(getattr(counts, "loaded", 0))


def monthly_close(month: str) -> dict[str, Any]:
    """Compute and publish the month's indicators, store the cross-check findings."""
    from tourlink.flow.monthly import close_month

    return close_month(month)


def steward_reports(day: str | None = None) -> list[str]:
    """Write the failure report for the nation and for each province with failures: the failures
    quarantined on `day` (YYYY-MM-DD, Asia/Shanghai), or every open one when no day is given."""
    from tourlink.flow.monthly import write_steward_reports

    return write_steward_reports(day)
