"""Each dialect syncs its sandbox (`tourlink.flow.sync`) into the warehouse, which then equals the sandbox's canonical data
exactly, under every fault the sandbox can inject, one fault at a time."""

from __future__ import annotations

import pytest

from devkit.conformance import differences, warehouse_rows
from tourlink import flow, settings

FAULTS = {
    "http_5xx": lambda f: setattr(f, "http_5xx", 3),
    "http_429": lambda f: setattr(f, "http_429", 3),
    "envelope_error": lambda f: setattr(f, "envelope_error", 3),
    "reset": lambda f: setattr(f, "reset", 2),
    "truncate": lambda f: setattr(f, "truncate", 2),
    "duplicates": lambda f: setattr(f, "duplicate_across_pages", True),
    "latency": lambda f: setattr(f, "latency_seconds", 0.01),
    "update_while_paging": lambda f: setattr(f, "update_while_paging", 1),
}


def _truth(box):
    return box.sandbox.ground_truth()


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_the_warehouse_equals_the_sandbox_despite(fault, any_sandbox, tourlink_home):
    FAULTS[fault](any_sandbox.sandbox.faults)
    result = flow.sync(any_sandbox.source)
    if fault == "update_while_paging":  # the touched record's new version lies past the frozen window end
        result = flow.sync(any_sandbox.source)
    assert all(c["quarantined"] == 0 for c in result.entities.values())
    assert differences(warehouse_rows(settings.warehouse_url()), _truth(any_sandbox)) == []
    # 503, 429, and each dialect's envelope error (signed-json 42900 throttle, oauth-cursor 503,
    # legacy-xml 9999 系统繁忙 busy) ask the client to slow down: the sync counts every one
    assert result.pushback == (3 if fault in ("http_5xx", "http_429", "envelope_error") else 0)
