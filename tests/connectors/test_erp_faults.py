"""Each dialect syncs its sandbox into the warehouse, which then equals the sandbox's canonical data
exactly, under every fault the sandbox can inject, one fault at a time."""

from __future__ import annotations

import pytest

from connectors import erp
from devkit.conformance import differences, extract, warehouse_rows
from tourlink import settings

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
    result = erp.sync(any_sandbox.source)
    if fault == "update_while_paging":  # the touched record's new version lies past the frozen window end
        result = erp.sync(any_sandbox.source)
    assert all(c["quarantined"] == 0 for c in result.entities.values())
    assert differences(warehouse_rows(settings.warehouse_url()), _truth(any_sandbox)) == []


def test_an_expired_token_mid_sync_is_refreshed(sandbox_oauth_cursor, tourlink_home):
    box = sandbox_oauth_cursor
    box.sandbox.faults.expire_token_after = 5
    assert differences(extract(box.source), _truth(box)) == []
    assert box.sandbox.tokens_issued > 1


def test_records_updated_while_paging_force_a_re_read_not_a_gap(sandbox_signed_json, tourlink_home):
    box = sandbox_signed_json
    box.sandbox.faults.update_while_paging = 1
    extract(box.source)
    # the first page of teams was served twice: once for the abandoned read, once for the re-read
    first_pages = [r for r in box.sandbox.requests if r.endswith("/teams")]
    assert len(first_pages) > 30 // 7 + 1
