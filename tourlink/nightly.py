"""The steps of a nightly sync and of the monthly close, as plain functions.

Airflow's DAGs call these and nothing else, so every step also runs from the CLI or a test without
Airflow. Each step hands over to the next in one run folder of storage every worker reaches
(`tourlink.storage`: `runs/<source>/<run id>/` under TOURLINK_STORAGE_URL), which makes the steps
restartable on their own: re-running `extract` refetches, re-running `merge` after
a crash commits the same staged batch again (the warehouse merge is idempotent).
"""

from __future__ import annotations

import importlib
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from tourlink import settings, storage

# Dialects whose connector loads file by file (archive/reject on the server after each commit):
# their DAG runs one `sync` step instead of extract → validate → merge.
FILE_BY_FILE_DIALECTS = {"sftp-drop"}


class ConfigurationError(RuntimeError):
    """A source cannot run as configured (unknown source, missing secret, rejected credentials):
    retrying will not help, a person must act."""


@dataclass(frozen=True)
class Window:
    """The incremental window of one run: Airflow's data interval, or since/until from the CLI."""

    since: datetime | None
    until: datetime | None


def entities_of(mapping: str | None) -> list[str]:
    """Entities a source's mapping can produce: read from its YAML without importing the engine,
    so the DAG files stay cheap to parse."""
    if not mapping:
        return []
    root = Path(__file__).resolve().parent.parent / "mappings"
    for folder in ("sources", "templates"):
        path = root / folder / f"{mapping}.yaml"
        if path.exists():
            return list((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("entities", {}))
    return []


def source_entities(source: Any) -> list[str]:
    """Entities a source's DAG publishes an Asset for: its mapping's, or for a file drop without a
    mapping, every built-in file template's (a drop takes any template upload)."""
    if source.mapping:
        return entities_of(source.mapping)
    if source.dialect not in FILE_BY_FILE_DIALECTS:
        return []
    templates = Path(__file__).resolve().parent.parent / "mappings" / "templates"
    entities: list[str] = []
    for path in sorted(templates.glob("*.yaml")):
        entities += [e for e in entities_of(path.stem) if e not in entities]
    return entities


def incremental_since(source: Any, window: Window) -> datetime | None:
    """The window's start, unless the source has never synced (None: load everything up to the
    window's end) or its watermark is older (None: catch up from the watermark after missed nights).
    Watermarks that are not timestamps (the portal's last event id) leave the choice to the connector."""
    from warehouse.load import Warehouse

    if window.since is None:
        return None
    warehouse = Warehouse()
    marks = [warehouse.watermark(source.name, stream) for stream in source.streams or ("default",)]
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
    from connectors.http.errors import AuthError, ParameterError
    from connectors.registry import RegistryError, SecretError

    if isinstance(exc, AuthError | ParameterError | RegistryError | SecretError):
        return ConfigurationError(f"{type(exc).__name__}: {exc}")
    return exc


def extract(source_name: str, run_id: str, window: Window, *, full_refresh: bool = False) -> dict[str, Any]:
    """Fetch the window's records (frames, raw bodies, watermarks) and hand them over in storage
    (`tourlink.storage`): the next task may run on another worker."""
    from connectors import registry
    from tourlink.pipeline import extract_only

    folder, place = storage.scratch(source_name, run_id), storage.hand_over(source_name, run_id)
    place.remove()  # a retry starts from nothing a previous try left
    try:
        source = registry.get_source(source_name)
        since = incremental_since(source, window)
        with extract_only(folder):
            result = registry.sync(source, full_refresh=full_refresh, since=since, until=window.until)
    except Exception as exc:
        raise _fail_fast(exc) from exc
    extracted = (folder / "extraction.json").exists()
    summary = {"pages": result.pages, "requests": result.requests, "streams": result.streams, "extracted": extracted}
    place.put_folder(folder)
    place.write_json("extract.json", summary)  # written last: its presence means the hand-over is whole
    shutil.rmtree(folder, ignore_errors=True)
    return {"run_dir": place.url, **summary}


def validate(source_name: str, run_id: str) -> dict[str, Any]:
    """Map and validate what `extract` handed over; bad rows are staged for quarantine. Fails
    (HandOverMissing) if extract's hand-over is not in storage, or if extract read pages and handed
    over no records: a run never succeeds with nothing loaded because a task looked on the wrong disk."""
    from tourlink.pipeline import stage_extracted

    place = storage.hand_over(source_name, run_id)
    summary = place.read_json("extract.json", missing=f"no hand-over from the extract task of {source_name} run {run_id}")
    if not summary["extracted"]:
        if summary.get("pages"):
            raise storage.HandOverMissing(f"extract read {summary['pages']} pages of {source_name} but handed over no records")
        result = {"entities": {}, "nothing_extracted": True}
    else:
        folder = storage.scratch(source_name, run_id)
        place.get_folder("", folder)
        staged = stage_extracted(folder)
        place.put_folder(folder / "staged", "staged")
        shutil.rmtree(folder, ignore_errors=True)
        bad = {e: sum(1 for x, kind, _ in staged.parts if x == e and kind == "bad") for e in staged.read}
        result = {"read": staged.read, "bad_parts": bad, "batch_id": staged.batch_id}
    place.write_json("validate.json", result)
    return result


def merge(source_name: str, run_id: str) -> dict[str, Any]:
    """Commit the staged batch validate handed over in one transaction (rows, quarantine, findings,
    watermarks); the raw bodies it landed are copied to storage. Fails if the hand-over is missing."""
    from connectors import registry
    from tourlink.pipeline import StagedBatch, commit

    place = storage.hand_over(source_name, run_id)
    validated = place.read_json("validate.json", missing=f"no hand-over from the validate task of {source_name} run {run_id}")
    if validated.get("nothing_extracted"):
        place.remove()
        return {"entities": {}}
    folder = storage.scratch(source_name, run_id)
    for part in ("staged", "raw"):
        if part == "staged" or place.exists(part):
            place.get_folder(part, folder / part)
    result = commit(StagedBatch.load(folder / "staged"))
    _keep_landed(result.batch_id)
    _after_commit(registry.get_source(source_name))
    shutil.rmtree(folder, ignore_errors=True)
    place.remove()
    return result.to_json()


def _keep_landed(batch_id: str | None) -> None:
    """Copy the raw inputs batch `batch_id` landed on this worker to storage every worker reaches."""
    import sqlalchemy as sa

    from warehouse.load import Warehouse
    from warehouse.tables import batch_file

    if batch_id is None:
        return
    warehouse = Warehouse()
    with warehouse.engine.connect() as conn:
        paths = conn.execute(sa.select(batch_file.c.landing_path).where(batch_file.c.batch_id == batch_id)).scalars().all()
    storage.keep_landed(warehouse.landing_dir, list(paths))


def _after_commit(source: Any) -> None:
    """Some dialects derive state after their rows land (the portal folds licensing events)."""
    from connectors.registry import DIALECT_SYNC

    module = importlib.import_module(DIALECT_SYNC[source.dialect].partition(":")[0])
    hook = getattr(module, "after_commit", None)
    if hook is not None:
        hook(source)


def sync_file_by_file(source_name: str, window: Window) -> dict[str, Any]:
    """The one step of file-drop sources: each file is its own batch, archived or rejected after it."""
    from connectors import registry

    try:
        result = registry.sync(registry.get_source(source_name), since=window.since, until=window.until)
    except Exception as exc:
        raise _fail_fast(exc) from exc
    files = result.entities.get("files", [])
    batches = [f["batch_id"] for f in files if f.get("batch_id")]
    return {"entities": _batch_counts(batches), "files": files, "streams": result.streams}


def _batch_counts(batch_ids: list[str]) -> dict[str, dict[str, int]]:
    """Per-entity counts summed over committed batches: a file drop reports outcomes per file, and
    the publish steps need to know which entities the run loaded."""
    import sqlalchemy as sa

    from warehouse.tables import batch

    if not batch_ids:
        return {}
    engine = sa.create_engine(settings.warehouse_url())
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(batch.c.counts).where(batch.c.batch_id.in_(batch_ids))).scalars().all()
    finally:
        engine.dispose()
    totals: dict[str, dict[str, int]] = {}
    for counts in rows:
        for entity, numbers in (counts or {}).items():
            for key, value in (numbers or {}).items():
                if isinstance(value, int):
                    totals.setdefault(entity, {}).setdefault(key, 0)
                    totals[entity][key] += value
    return totals


def touched(result: dict[str, Any], entity: str) -> bool:
    counts = (result or {}).get("entities", {}).get(entity) or {}
    if isinstance(counts, dict):
        return bool(counts.get("loaded"))
    return bool(getattr(counts, "loaded", 0))


def monthly_close(month: str) -> dict[str, Any]:
    """Compute and publish the month's indicators, store the cross-check findings. The warehouse's
    schema is created or upgraded first: a fresh warehouse may see the monthly close before any load."""
    from warehouse.cross_checks import cross_checks, store_findings
    from warehouse.load import Warehouse
    from warehouse.snapshots import publish

    engine = Warehouse().engine
    with engine.begin() as conn:
        snapshot = publish(conn, month)
        findings = cross_checks(conn, month=month)
        store_findings(conn, findings, month=month)
    return {"month": month, "version": snapshot.version, "figures": len(snapshot.figures), "findings": len(findings)}


def steward_reports(day: str | None = None) -> list[str]:
    """Write the failure report for the nation and for each province with failures: the failures
    quarantined on `day` (YYYY-MM-DD, Asia/Shanghai), or every open one when no day is given."""
    from tourlink.report.failures import regions_with_failures, write_failure_report
    from warehouse.load import Warehouse

    Warehouse()  # creates or upgrades the schema: the report may run before any load
    out = settings.reports_dir() / (day or "open")
    written = [str(write_failure_report(out / "CN", day=day))]
    for region in regions_with_failures(day):
        written.append(str(write_failure_report(out / region, region=region, day=day)))
    storage.keep_reports([str(Path(p).parent) for p in written], settings.reports_dir())
    return written
