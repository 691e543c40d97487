"""Syncs whose every vendor body is spilled to disk (`spill_body_bytes: 1`, issue 16) load exactly
what the in-memory path loads: each dialect under faults (`tourlink sync`'s path) and the Airflow
steps (extract → validate → merge through the hand-over). Every landed raw file is whole (its
bytes hash to the SHA-256 the batch recorded) and no `tourlink-` temp file is left behind, whether
an attempt was retried, a read failed or the batch committed."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
import sqlalchemy as sa

from connectors import bodies
from connectors.reading import Window
from devkit.conformance import differences, warehouse_rows
from tests.dags.conftest import SandboxRegistry
from tests.flow.test_erp_sync import _faulty
from tourlink import flow, settings
from tourlink.flow import steps


def _landed() -> list[tuple[str, bytes]]:
    engine = sa.create_engine(settings.warehouse_url())
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select sha256, landing_path from batch_file")).all()
    engine.dispose()
    return [(sha, (settings.landing_dir() / path).read_bytes()) for sha, path in rows]


def _temp_left() -> list[str]:
    folder = settings.home() / "tmp"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _counting(monkeypatch) -> list[int]:  # noqa: ANN001
    made: list[int] = []
    real = bodies.spill_file

    def spill_file():  # noqa: ANN202
        made.append(1)
        return real()

    monkeypatch.setattr(bodies, "spill_file", spill_file)
    return made


def test_every_dialect_with_every_body_spilled_loads_the_sandbox_and_lands_whole_bodies(any_sandbox, tourlink_home, monkeypatch):
    _faulty(any_sandbox.sandbox.faults)  # cut, reset and refused bodies: their spilled files go at once
    source = dataclasses.replace(any_sandbox.source, options={**any_sandbox.source.options, "spill_body_bytes": 1})
    made = _counting(monkeypatch)
    result = flow.sync(source)
    assert len(made) > result.pages  # every page spilled, and the retried attempts' bodies
    assert all(c["quarantined"] == 0 for c in result.entities.values())
    assert differences(warehouse_rows(settings.warehouse_url()), any_sandbox.sandbox.ground_truth()) == []
    landed = _landed()
    assert landed and all(hashlib.sha256(data).hexdigest() == sha for sha, data in landed)
    assert _temp_left() == []


def test_a_read_that_fails_with_spilled_bodies_leaves_no_temp_file(sandbox_oauth_cursor, tourlink_home):
    box = sandbox_oauth_cursor
    box.sandbox.faults.http_5xx = 1000  # every request fails: the read gives up after its retries
    source = dataclasses.replace(box.source, options={**box.source.options, "spill_body_bytes": 1, "max_attempts": 2,
                                                      "backoff_seconds": 0.01})  # fmt: skip
    with pytest.raises(Exception, match="gave up after 2 attempts"):
        flow.sync(source)
    assert _temp_left() == []


@pytest.fixture
def registered(tmp_path, monkeypatch, tourlink_home):
    sandboxes = SandboxRegistry(tmp_path / "sources", monkeypatch)
    try:
        yield sandboxes.start("sandbox_legacy_xml", spill_body_bytes=1)
    finally:
        sandboxes.stop()


def test_the_airflow_steps_hand_over_and_land_spilled_bodies_whole(registered, monkeypatch):
    made = _counting(monkeypatch)
    extracted = steps.extract("sandbox_legacy_xml", "run-1", Window())
    assert len(made) >= extracted["pages"]
    assert extracted["rows"] > 0 and _temp_left() == []  # handed over: the extract's temp files are gone
    steps.validate("sandbox_legacy_xml", "run-1")
    steps.merge("sandbox_legacy_xml", "run-1")
    assert differences(warehouse_rows(settings.warehouse_url()), registered.sandbox.ground_truth()) == []
    landed = _landed()
    assert len(landed) == extracted["pages"] and all(hashlib.sha256(data).hexdigest() == sha for sha, data in landed)
    assert _temp_left() == []
