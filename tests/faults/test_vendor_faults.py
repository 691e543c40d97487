"""Vendor faults × dialects: bursts of HTTP 5xx, 429, dialect envelope errors, connection resets and
truncated bodies, mixed at random (seeded) on every request of a sync, then a token that dies mid-sync.

Each scenario ends in a clear outcome: the sync succeeds, or fails with the connector's own error
(`SourceError`, never another exception) and a rerun completes it. Afterwards the warehouse equals the
sandbox's data exactly: no row lost, none duplicated, nothing quarantined. Injected faults are the
ones the sandbox really served (its counters), recorded for the suite's summary (tests/conftest.py).
"""

from __future__ import annotations

import random

import pytest

from connectors.http.errors import SourceError
from devkit.conformance import differences, warehouse_rows
from tests.faults.budget import fault_repeats
from tourlink import flow, settings

COUNTED = ("http_5xx", "http_429", "envelope_error", "reset", "truncate")
SCENARIOS = fault_repeats(6)  # per dialect: 6 → about 80 faults a dialect


def _sync_until_done(box, record, *, attempts: int = 6) -> dict:
    """Sync; a failure must be the connector's own error, and a rerun goes on where it left off."""
    for _ in range(attempts):
        try:
            return flow.sync(box.source).entities
        except SourceError as exc:  # a clear outcome: named, not silent, nothing half-committed
            record("failed_runs", 1)
            assert str(exc)
    raise AssertionError(f"still failing after {attempts} runs")


@pytest.mark.parametrize("scenario", range(SCENARIOS))
def test_a_storm_of_vendor_faults_loses_and_duplicates_nothing(scenario, any_sandbox, tourlink_home, faults_record):
    rng = random.Random(f"{any_sandbox.source.name}/{scenario}")
    faults = any_sandbox.sandbox.faults
    planned = {name: rng.randint(0, 4) for name in COUNTED}
    for name, count in planned.items():
        setattr(faults, name, count)
    faults.duplicate_across_pages = rng.random() < 0.3
    entities = _sync_until_done(any_sandbox, faults_record)
    served = sum(planned[name] - getattr(faults, name) for name in COUNTED)
    faults_record("faults", served)
    assert all(c["quarantined"] == 0 for c in entities.values())
    problems = differences(warehouse_rows(settings.warehouse_url()), any_sandbox.sandbox.ground_truth())
    faults_record("rows_lost", sum("missing" in p for p in problems))
    faults_record("rows_duplicated", sum("duplicate" in p or "unexpected" in p for p in problems))
    assert problems == []


def test_an_oauth_token_that_dies_mid_sync_is_renewed(sandbox_oauth_cursor, tourlink_home, faults_record):
    sandbox_oauth_cursor.sandbox.faults.expire_token_after = 1
    _sync_until_done(sandbox_oauth_cursor, faults_record)
    faults_record("faults", 1)
    truth = sandbox_oauth_cursor.sandbox.ground_truth()
    assert differences(warehouse_rows(settings.warehouse_url()), truth) == []
