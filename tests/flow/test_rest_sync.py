"""The `rest` dialect (configuration only) synced by the flow against the JSON:API vendor's sandbox:
complete under every fault, incremental by its update-time filter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.registry import get_source
from devkit.conformance import differences, warehouse_rows
from devkit.onboarding.check import SandboxSource, sandboxed
from tourlink import settings
from tourlink.flow import sync


@pytest.fixture
def jsonapi() -> Iterator[SandboxSource]:
    with sandboxed(get_source("sandbox_jsonapi")) as box:
        yield box


@pytest.mark.slow
def test_a_sync_under_every_fault_loads_exactly_the_sandbox(jsonapi, tourlink_home) -> None:
    faults = jsonapi.sandbox.faults
    faults.http_5xx = faults.http_429 = faults.envelope_error = faults.reset = faults.truncate = 1
    faults.duplicate_across_pages = True
    result = sync(jsonapi.source)
    assert result.streams["tour-groups"] >= 30  # duplicated records are read twice, loaded once
    assert all(c["quarantined"] == 0 for c in result.entities.values())
    assert differences(warehouse_rows(settings.warehouse_url()), jsonapi.sandbox.ground_truth()) == []


@pytest.mark.slow
def test_the_second_sync_asks_only_for_what_changed_and_picks_up_an_edit(jsonapi, tourlink_home) -> None:
    sync(jsonapi.source)
    jsonapi.sandbox.touch(2)
    second = sync(jsonapi.source)
    assert second.streams["tour-groups"] < 30
    assert second.entities["tour_group"]["loaded"] == 2
    assert differences(warehouse_rows(settings.warehouse_url()), jsonapi.sandbox.ground_truth()) == []
