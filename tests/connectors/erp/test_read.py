"""A source's streams are read side by side within the client's limits, and each is handed on as
soon as it is read whole (`read_parts`); `read` puts the parts together in the source's order."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from connectors.erp import read
from connectors.erp.read import read_parts
from connectors.registry import SourceConfig
from tests.connectors.declarative.vendor import TOKEN, PagedVendor, options


@pytest.fixture
def vendor(monkeypatch) -> Iterator[PagedVendor]:
    monkeypatch.setenv("PAGED_VENDOR_TOKEN", TOKEN)
    box = PagedVendor(groups=40, latency=0.05)
    yield box
    box.stop()


def source(url: str, streams: tuple[str, ...] = ("groups", "plain"), **more: object) -> SourceConfig:
    """Two streams of one vendor: `groups` (10 pages of 4 and a member request per group) and `plain`
    (the same 10 pages, no dependents, a sixth of the requests)."""
    declared = options(page_size=4, **more)
    declared["resources"] = {**declared["resources"], "plain": {"path": "/v1/plain"}}
    return SourceConfig(name="paged", dialect="rest", base_url=url, credentials={"token": "env:PAGED_VENDOR_TOKEN"},
                        streams=streams, mapping="jsonapi", options=declared)


def test_each_stream_is_handed_on_when_it_is_read_whole_and_all_share_the_limit_in_flight(vendor):
    """`plain` first: its requests go first (`http.gate`), so it is read whole long before `groups`."""
    parts, asked = [], []
    for part in read_parts(source(vendor.url, streams=("plain", "groups"), max_concurrency=4), {}):
        parts.append(part)
        asked.append(len(vendor.paths))
    assert [list(p.streams) for p in parts] == [["plain"], ["groups"], ["plain", "groups"]]
    assert asked[0] < 40, "plain is handed on while groups is still asking"
    assert 1 < vendor.max_in_flight <= 4, "both streams' requests together never above max_concurrency"
    plain, groups, last = parts
    assert plain.pages == 10 and groups.pages == 10 and plain.requests == groups.requests == 0
    assert last.requests == len(vendor.paths) == 60 and not last.frames and not last.raw
    assert plain.state == {"plain": "2026-10-01T00:39:00+00:00"}, "each stream carries its own watermark"


def test_read_puts_the_parts_together_in_the_order_of_the_streams_whatever_order_they_finish_in(vendor):
    together = read(source(vendor.url, max_concurrency=4), {})
    alone = read(source(vendor.url, max_concurrency=1), {})
    assert list(together.streams) == ["groups", "plain"] and together.streams == {"groups": 40, "plain": 40}
    assert [r.name for r in together.raw] == [r.name for r in alone.raw]
    assert [r.name for r in together.raw][:2] == ["groups-page-0001.json", "groups-page-0002.json"]
    assert [r.body for r in together.raw] == [r.body for r in alone.raw]
    assert together.state == alone.state and together.pages == alone.pages == 20


@pytest.mark.parametrize(("status", "said"), [(429, "rate limited by the vendor"), (503, "the vendor is overloaded")])
def test_a_vendor_that_pushes_back_gets_fewer_requests_in_flight_not_a_retry_storm(vendor, caplog, status, said):
    """Configured for 8 in flight against a gateway that takes 2 and answers 429 (rate limited) or
    503 (the service behind it overloaded) to the rest: each round of such answers halves the slots
    (`http.gate`) and normal answers give them back one by one, so the read completes, every record
    once, with a few refusals where 8 requests hammering a 2-request gateway would spend their retries."""
    vendor.gateway_limit, vendor.gateway_status = 2, status
    with caplog.at_level(logging.WARNING, logger="connectors.http.client"):
        extract = read(source(vendor.url, max_concurrency=8, max_attempts=4, backoff_seconds=0.02), {})
    assert extract.streams == {"groups": 40, "plain": 40} and extract.pages == 20
    assert len(vendor.paths) - vendor.throttled == 60, "every request answered once in the end"
    assert vendor.throttled <= 20, f"{vendor.throttled} answers of {status} for 60 requests"
    assert f"{said}; at most 4 of 8 requests in flight now" in caplog.text
    assert "at most 2 of 8" in caplog.text
    assert extract.pushback == vendor.throttled, "every refusal counted, for the sync's summary"
    assert extract.in_flight is not None and extract.in_flight[1] == 8 and extract.in_flight[0] < 8
