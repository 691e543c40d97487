"""Conformance of source `sandbox_jsonapi` (scaffolded by `tourlink connector new`).

The recorded sample in samples/sandbox_jsonapi/ must map with every required canonical field and without a
quarantined row; with a sandbox, the conformance kit runs against it (one line, as for every source)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.registry import get_source
from devkit.conformance import conformance_test
from devkit.onboarding.check import readiness, sandboxed

ROOT = Path(__file__).resolve().parents[2]


def test_sandbox_jsonapi_recorded_sample_maps_every_required_field_and_quarantines_nothing() -> None:
    report = readiness("sandbox_jsonapi", root=ROOT, conformance=False)
    assert report.missing == [], report.missing
    assert report.quarantined == [], report.quarantined[:5]
    assert sum(report.rows.values()) > 0


@pytest.fixture
def sandbox_jsonapi_sandbox():
    source = get_source("sandbox_jsonapi", ROOT / "connectors" / "sources")
    with sandboxed(source) as box:
        yield box


test_sandbox_jsonapi_conforms = conformance_test("sandbox_jsonapi_sandbox")
