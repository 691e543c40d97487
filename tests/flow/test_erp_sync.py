"""End to end (`tourlink.flow.sync` over the ERP readers): each dialect syncs its sandbox into a warehouse that then equals the sandbox exactly,
under faults, on SQLite and PostgreSQL; a killed `tourlink sync` re-run leaves no gap and no duplicate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from devkit.conformance import differences, warehouse_rows
from tourlink import flow, settings
from tourlink.flow.state import stored_connector_state, stored_watermarks
from warehouse.load import Warehouse

VENV_TOURLINK = Path(sys.executable).parent / "tourlink"


def _faulty(faults) -> None:
    # one of each, on the first requests: five failures in a row, then the sixth attempt succeeds
    faults.http_5xx = 1
    faults.http_429 = 1
    faults.envelope_error = 1
    faults.reset = 1
    faults.truncate = 1
    faults.duplicate_across_pages = True


@pytest.mark.slow
def test_every_dialect_under_every_fault_loads_exactly_the_sandbox(any_sandbox, tourlink_home):
    _faulty(any_sandbox.sandbox.faults)
    result = flow.sync(any_sandbox.source)
    assert all(c["quarantined"] == 0 for c in result.entities.values())
    assert differences(warehouse_rows(settings.warehouse_url()), any_sandbox.sandbox.ground_truth()) == []


@pytest.mark.slow
def test_records_updated_while_paging_arrive_with_the_next_sync(any_sandbox, tourlink_home):
    box = any_sandbox
    box.sandbox.faults.update_while_paging = 1
    flow.sync(box.source)
    flow.sync(box.source)  # the touched record's new version is past the first sync's frozen end
    assert differences(warehouse_rows(settings.warehouse_url()), box.sandbox.ground_truth()) == []


@pytest.mark.slow
def test_a_deleted_group_is_cancelled_by_its_tombstone(sandbox_oauth_cursor, tourlink_home):
    box = sandbox_oauth_cursor
    flow.sync(box.source)
    victim = next(g for g in box.sandbox.data.groups if g["status"] != "CANCELLED")
    box.sandbox.delete_group(victim["group_code"])
    second = flow.sync(box.source)
    assert second.entities["tour_group"]["loaded"] == 1
    rows = warehouse_rows(settings.warehouse_url())
    assert differences(rows, box.sandbox.ground_truth()) == []
    cancelled = [g for g in rows["tour_group"] if g["group_code"] == victim["group_code"]]
    assert cancelled[0]["status"] == "CANCELLED"


@pytest.mark.slow
def test_tombstone_state_lives_in_the_warehouse_so_another_worker_with_an_empty_home_cancels_too(
    sandbox_oauth_cursor, pg_url, tmp_path, monkeypatch
):
    """Airflow's extract may run on another machine: the known-records state must come from the
    warehouse (committed with the rows), not from a file under TOURLINK_HOME."""
    box = sandbox_oauth_cursor
    monkeypatch.setenv("TOURLINK_HOME", str(tmp_path / "worker-a"))
    flow.sync(box.source, warehouse=Warehouse(pg_url))
    state = stored_connector_state(box.source.name, Warehouse(pg_url))
    assert len(state) > 1 and all(name.startswith("groups#known/") for name in state)
    kept = [p for p in (tmp_path / "worker-a").rglob("*") if p.is_file() and "landing" not in p.parts]
    assert kept == [], "no connector state file left on the worker (only raw bodies in the landing folder)"
    victim = next(g for g in box.sandbox.data.groups if g["status"] != "CANCELLED")
    box.sandbox.delete_group(victim["group_code"])
    monkeypatch.setenv("TOURLINK_HOME", str(tmp_path / "worker-b"))  # a fresh worker, same warehouse
    second = flow.sync(box.source, warehouse=Warehouse(pg_url))
    assert second.entities["tour_group"]["loaded"] == 1
    assert all("#" not in stream for stream in second.watermarks), "state is not reported as a watermark"
    rows = warehouse_rows(pg_url)
    assert differences(rows, box.sandbox.ground_truth()) == []
    assert [g["status"] for g in rows["tour_group"] if g["group_code"] == victim["group_code"]] == ["CANCELLED"]


@pytest.mark.slow
def test_a_killed_sync_commits_no_tombstone_state(sandbox_oauth_cursor, tourlink_home, monkeypatch):
    """State is written by the batch: a sync that fails before its commit (every row merged, the
    state written in the batch's transaction) leaves none behind."""
    from tourlink import crash_points

    def crash(point: str) -> None:
        if point == "before-commit":
            raise RuntimeError("killed before the commit")

    monkeypatch.setattr(crash_points, "reached", crash)
    with pytest.raises(RuntimeError, match="killed before the commit"):
        flow.sync(sandbox_oauth_cursor.source)
    assert stored_watermarks(sandbox_oauth_cursor.source.name) == {}


@pytest.mark.slow
def test_a_stream_that_fails_after_another_was_staged_loads_nothing(sandbox_oauth_cursor, tourlink_home, monkeypatch,
                                                                    warehouse_url):  # fmt: skip
    """Streams are mapped and validated as they arrive (on PostgreSQL merged into the batch's open
    transaction); a later stream's error still loads nothing: no row, no state, no batch."""
    import tourlink.flow.sources as sources
    from connectors.http.errors import SourceError
    from devkit.sandbox.server import Reply

    box = sandbox_oauth_cursor
    dispatch, observe, handed_on = box.sandbox.dispatch, sources.observe_drift, []

    def observed(part, wh):  # noqa: ANN001, ANN202 - each part's drift is observed just before its frames are staged
        handed_on.append(list(part.streams))
        return observe(part, wh)

    def failing(handler, method, path, query, body):  # noqa: ANN001, ANN202 - the contracts stream answers last, refused
        if path.endswith("/contracts"):
            time.sleep(1.0)
            return Reply(400, b'{"error": "invalid_request"}')
        return dispatch(handler, method, path, query, body)

    box.sandbox.dispatch = failing
    monkeypatch.setenv("TOURLINK_WAREHOUSE_URL", warehouse_url)
    monkeypatch.setattr(sources, "observe_drift", observed)
    with pytest.raises(SourceError, match="contracts"):
        flow.sync(box.source)
    assert handed_on == [["groups"]], "the groups stream was handed on before the contracts stream failed"
    assert stored_watermarks(box.source.name) == {}
    rows = warehouse_rows(warehouse_url)
    assert all(found == [] for found in rows.values()), {e: len(found) for e, found in rows.items()}
    assert _batches(warehouse_url) == [], "a withdrawn batch leaves no batch row and no file row"


def _batches(url: str) -> list[tuple]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(sa.text("select batch_id from batch union all select batch_id from batch_file")).all()
    engine.dispose()
    return [tuple(row) for row in found]


@pytest.mark.slow
def test_on_postgresql_the_first_stream_is_merged_while_the_last_is_still_fetched(
    sandbox_oauth_cursor, pg_url, tourlink_home, monkeypatch
):
    """The sync's own cost is what runs after its last page: on PostgreSQL the batch's transaction is
    open from the start, so a stream read whole is merged while another is still being fetched."""
    import tourlink.flow.merge as committing
    from devkit.sandbox.server import Reply

    box = sandbox_oauth_cursor
    dispatch, real, events = box.sandbox.dispatch, committing._write_part, []

    def slow_contracts(handler, method, path, query, body) -> Reply:  # noqa: ANN001 - the contracts stream waits
        if path.endswith("/contracts"):
            waited = time.monotonic() + 10  # held back until the groups are merged, or 10 s
            while "merged tour_group" not in events and time.monotonic() < waited:
                time.sleep(0.05)
            events.append("contracts answered")
        return dispatch(handler, method, path, query, body)

    def merged(b, result, entity, kind, frame, prepared=None) -> None:  # noqa: ANN001
        events.append(f"merged {entity}")
        real(b, result, entity, kind, frame, prepared)

    box.sandbox.dispatch = slow_contracts
    monkeypatch.setattr(committing, "_write_part", merged)
    flow.sync(box.source, warehouse=Warehouse(pg_url))
    assert events.index("merged tour_group") < events.index("contracts answered"), events
    assert differences(warehouse_rows(pg_url), box.sandbox.ground_truth()) == []


@pytest.mark.slow
def test_a_warehouse_cut_while_a_sync_merges_is_told_as_what_it_left(sandbox_oauth_cursor, tourlink_home, monkeypatch):
    """The streamed sync tells a database failure like `load_batch` does: which database, not committed."""
    import sqlalchemy as sa

    import tourlink.flow.merge as committing
    from tourlink.flow import WarehouseFailed

    real, calls = committing._write_part, []

    def cut_on_the_second_part(b, result, entity, kind, frame, prepared=None):  # noqa: ANN001, ANN202
        calls.append(entity)
        if len(calls) == 2:
            raise sa.exc.OperationalError("COPY", {}, Exception("server closed the connection"))
        real(b, result, entity, kind, frame, prepared)

    monkeypatch.setattr(committing, "_write_part", cut_on_the_second_part)
    with pytest.raises(WarehouseFailed, match="server closed") as failure:
        flow.sync(sandbox_oauth_cursor.source)
    assert failure.value.committed is False and len(calls) == 2
    assert stored_watermarks(sandbox_oauth_cursor.source.name) == {}
    assert all(found == [] for found in warehouse_rows(settings.warehouse_url()).values())


@pytest.mark.slow
def test_a_sync_into_postgresql_equals_the_sandbox(sandbox_signed_json, pg_url, tourlink_home):
    box = sandbox_signed_json
    box.sandbox.faults.http_5xx = 1
    flow.sync(box.source, warehouse=Warehouse(pg_url))
    assert differences(warehouse_rows(pg_url), box.sandbox.ground_truth()) == []
    again = flow.sync(box.source, warehouse=Warehouse(pg_url))
    assert all(c["loaded"] == 0 for c in again.entities.values())


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["while_paging", "while_loading"])
def test_a_killed_sync_process_re_runs_with_no_gap_and_no_duplicate(moment, any_sandbox, tourlink_home, tmp_path):
    box = any_sandbox
    registry = tmp_path / "registry"
    registry.mkdir()
    spec = yaml.safe_load(Path(box.source.path).read_text(encoding="utf-8"))
    spec |= {"base_url": box.sandbox.url, "options": box.source.options}
    (registry / f"{box.source.name}.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    command = [str(VENV_TOURLINK), "sync", box.source.name, "--json", "--registry", str(registry)]
    if moment == "while_paging":
        box.sandbox.faults.latency_seconds = 0.05
        kill_after = 4
    else:  # every page fetched: the process is mapping, validating or inside the batch transaction
        from devkit.conformance import extract

        extract(box.source)
        kill_after = len(box.sandbox.requests)
        box.sandbox.requests.clear()
    proc = subprocess.Popen(command, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(box.sandbox.requests) < kill_after and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    if moment == "while_paging":  # (while loading, the kill usually lands before the commit too)
        assert stored_watermarks(box.source.name) == {}, "a killed sync commits nothing"
    box.sandbox.faults.latency_seconds = 0.0
    rerun = subprocess.run(command, env=os.environ.copy(), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert json.loads(rerun.stdout.strip().splitlines()[-1])["batch_id"]
    assert differences(warehouse_rows(settings.warehouse_url()), box.sandbox.ground_truth()) == []


@pytest.mark.slow
def test_since_backfills_a_window_and_never_moves_the_watermark_back(sandbox_signed_json, tourlink_home):
    from datetime import timedelta

    box = sandbox_signed_json
    first = flow.sync(box.source)
    marks = stored_watermarks(box.source.name)
    teams = sorted(box.sandbox.data.groups, key=lambda g: g["updated_at"])
    since = teams[len(teams) // 2]["updated_at"] - timedelta(seconds=1)
    backfill = flow.sync(box.source, since=since)
    expected = sum(1 for g in teams if g["updated_at"] >= since)
    assert backfill.streams["teams"] == expected < first.streams["teams"]
    assert stored_watermarks(box.source.name) == marks


@pytest.mark.slow
def test_the_oauth_vendor_rate_limit_is_respected_and_429_retried(monkeypatch, tourlink_home):
    import dataclasses

    from connectors.registry import load_sources
    from devkit.sandbox import OAuthCursorSandbox

    source = load_sources()["sandbox_oauth_cursor"]
    with OAuthCursorSandbox(region=source.region, groups=12, rate_limit=10) as box:
        for role, ref in source.credentials.items():
            monkeypatch.setenv(ref.removeprefix("env:"), box.credentials[role])
        local = dataclasses.replace(source, base_url=box.url, options={**source.options, "page_size": 5, "backoff_seconds": 0.01})
        started = time.monotonic()
        flow.sync(local)
        elapsed = time.monotonic() - started
        requests = len(box.requests)
    assert differences(warehouse_rows(settings.warehouse_url()), box.ground_truth()) == []
    assert elapsed >= (requests - 10) / 10  # never faster than the published 10 requests/second
