"""Pages of a page+total vendor and its dependent resources are fetched with several requests in
flight, never more than `max_concurrency` and never faster than `requests_per_second`; the result is
the same, page by page, as reading one request at a time. A body over `max_body_bytes` is refused."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from connectors.erp import read
from connectors.http.errors import BodyTooLarge
from connectors.registry import SourceConfig

from .vendor import TOKEN, PagedVendor, options


@pytest.fixture
def token(monkeypatch) -> None:
    monkeypatch.setenv("PAGED_VENDOR_TOKEN", TOKEN)


@pytest.fixture
def vendor(token) -> Iterator[PagedVendor]:
    box = PagedVendor(groups=40)
    yield box
    box.stop()


def source(url: str, **more: object) -> SourceConfig:
    return SourceConfig(name="paged", dialect="rest", base_url=url, credentials={"token": "env:PAGED_VENDOR_TOKEN"},
                        streams=("groups",), mapping="jsonapi", options=options(**more))


def timed(url: str, **more: object):  # noqa: ANN201 - (seconds, extract)
    began = time.perf_counter()
    extract = read(source(url, **more), {})
    return time.perf_counter() - began, extract


def test_at_100_ms_per_request_eight_in_flight_read_at_least_four_times_faster_and_the_same(vendor):
    vendor.latency = 0.1  # 40 groups, 4 a page: 10 pages + 40 members = 50 requests
    alone, one_by_one = timed(vendor.url, page_size=4, max_concurrency=1)
    assert vendor.max_in_flight == 1
    vendor.max_in_flight = 0
    together, in_flight = timed(vendor.url, page_size=4, max_concurrency=8)
    print(f"\n50 requests at 100 ms: one at a time {alone:.2f} s, 8 in flight {together:.2f} s: {alone / together:.1f}x")
    assert alone / together >= 4, (alone, together)
    assert 1 < vendor.max_in_flight <= 8
    assert [r.body for r in in_flight.raw] == [r.body for r in one_by_one.raw], "same pages, same order, same names"
    assert [r.name for r in in_flight.raw] == [r.name for r in one_by_one.raw]
    assert in_flight.streams == {"groups": 40}
    members = in_flight.frames[0].data["members"].to_list()
    assert all(len(m) == 1 for m in members)


def test_the_rate_limit_holds_with_requests_in_flight(vendor):
    seconds, extract = timed(vendor.url, page_size=4, max_concurrency=8, requests_per_second=20)
    assert extract.streams == {"groups": 40}
    assert vendor.busiest_second() <= 20, vendor.busiest_second()
    assert seconds >= (len(vendor.arrivals) - 20) / 20, "50 requests at 20 per second take more than a second and a half"


def test_a_total_that_moves_while_pages_are_in_flight_makes_the_stream_be_read_again(vendor):
    served = {"n": 0}
    answer = vendor.answer

    def moving(target: str, authorization: str):  # noqa: ANN202 - a record added as the 4th page is asked for
        served["n"] += "members" not in target
        if served["n"] == 4 and "members" not in target:
            vendor.groups.append({"id": "g999", "updated_at": "2026-10-01T09:00:00+08:00", "pax": 1})
        return answer(target, authorization)

    vendor.answer = moving
    extract = read(source(vendor.url, page_size=4, max_concurrency=8), {})
    assert extract.streams == {"groups": 41}
    assert sum(1 for _ in extract.raw) == 11, "the re-read's pages are the ones kept"


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "streamed"])
def test_a_body_over_the_limit_is_refused_and_not_retried(vendor, announced):
    vendor.announce_length = announced
    vendor.body_override = b'{"total": 1, "items": [' + b'{"id": "x"},' * 2000 + b'{"id": "y"}]}'
    with pytest.raises(BodyTooLarge, match="paged GET /v1/groups.*limit of 10000"):
        read(source(vendor.url, max_body_bytes=10_000), {})
    assert len(vendor.arrivals) == 1


def test_a_cursor_walk_asks_for_the_next_page_while_the_members_of_the_last_one_are_fetched(vendor):
    vendor.latency = 0.05  # 40 groups, 10 a page: 4 cursor pages, 10 members each
    cursor_paging = {"style": "cursor", "param": "cursor", "next": "next", "size_param": "size"}
    _, one_by_one = timed(vendor.url, page_size=10, max_concurrency=1, paging=cursor_paging, total=None)
    vendor.paths.clear()
    vendor.max_in_flight = 0
    _, pipelined = timed(vendor.url, page_size=10, max_concurrency=4, paging=cursor_paging, total=None)
    second_page = next(i for i, p in enumerate(vendor.paths) if "cursor=2" in p)
    first_members = [i for i, p in enumerate(vendor.paths) if any(f"/g{n:03d}/members" in p for n in range(10))]
    assert second_page < max(first_members), "page 2 was asked for while page 1's members were being fetched"
    assert vendor.max_in_flight <= 4
    assert [r.body for r in pipelined.raw] == [r.body for r in one_by_one.raw], "same pages, same order, same names"
    assert pipelined.frames[0].data["members"].to_list() == one_by_one.frames[0].data["members"].to_list()
    assert pipelined.streams == {"groups": 40}
