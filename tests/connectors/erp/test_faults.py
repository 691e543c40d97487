"""The ERP readers under the sandboxes' faults, without a warehouse: a token expiring mid-read is
renewed, records updated while paging make the stream be read again rather than leave a gap, and a
gateway taking fewer requests at once than the preset sends is met with fewer, not a failed read."""

from __future__ import annotations

from devkit.conformance import differences, extract


def _truth(box):
    return box.sandbox.ground_truth()


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


def test_a_gateway_taking_two_requests_at_once_slows_the_preset_s_eight_down_and_loses_nothing(sandbox_signed_json, tourlink_home, caplog):
    box = sandbox_signed_json
    box.sandbox.faults.max_in_flight = 2
    box.sandbox.faults.latency_seconds = 0.02  # answers overlap, as a real vendor's do
    with caplog.at_level("WARNING", logger="connectors.http.client"):
        assert differences(extract(box.source), _truth(box)) == []
    assert 0 < box.sandbox.throttled <= 12, "42900 请求过于频繁 a few times, then the client keeps to two"
    assert "at most 4 of 8 requests in flight now" in caplog.text
