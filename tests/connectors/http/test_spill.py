"""The HTTP client spills a body over `spill_body_bytes` to a temp file (issue 16): a check that reads
the `RawBody` gets the file, the bound `max_body_bytes` still refuses, error quotes still show the
start of the body with secrets scrubbed, and no temp file outlives a failed attempt or a failed read."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from connectors.bodies import RawBody
from connectors.http.auth import BasicAuth
from connectors.http.client import HttpClient
from connectors.http.errors import BodyTooLarge, ParameterError, RetryableError, SourceError
from connectors.http.retry import RetryPolicy
from tests.loopback import Loopback

KIB = 1024


class Vendor:
    """Loopback answering each GET with the next of `answers` (status, body), the last one repeated."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, bytes]] = [(200, b"{}")]
        self.requests = 0
        self.loopback = Loopback(self._answer)
        self.url = self.loopback.url

    def _answer(self, path: str, headers: object) -> tuple[int, bytes]:
        status, body = self.answers[min(self.requests, len(self.answers) - 1)]
        self.requests += 1
        return status, body


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    served = Vendor()
    yield served
    served.loopback.stop()


def _client(vendor: Vendor, **options: int) -> HttpClient:
    retry = RetryPolicy(max_attempts=3, base_seconds=0.01, cap_seconds=0.01)
    return HttpClient(vendor.url, BasicAuth("acct", "pw-s3cret"), retry=retry, source="spill", **options)


def _reads_raw(body: RawBody | bytes, what: str) -> RawBody | bytes:
    return body


_reads_raw.reads_raw = True  # type: ignore[attr-defined]


def _spilled(home) -> list[str]:  # noqa: ANN001
    folder = home / "tmp"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_a_body_over_the_threshold_is_streamed_to_a_tourlink_temp_file_whole(vendor, tourlink_home):
    body = b'{"items": [' + b",".join(b'{"id": %d}' % i for i in range(20_000)) + b"]}"
    vendor.answers = [(200, body)]
    with _client(vendor, spill_body_bytes=64 * KIB) as client:
        got: RawBody = client.request("GET", "/x", check=_reads_raw).payload
        assert got.spilled and got.body is None and got.size == len(body)
        assert got.path.parent == tourlink_home / "tmp" and got.path.name.startswith("tourlink-body-")
        assert hashlib.sha256(got.read_bytes()).digest() == hashlib.sha256(body).digest()
        assert got.head(100) == body[:100] and got.tail(10) == body[-10:]
        with got.open() as fh:
            assert fh.read() == body
        # a check that does not read RawBody still gets the bytes
        assert client.request("GET", "/x", check=lambda b, what: b).payload == body
    got.discard()


def test_a_body_at_or_under_the_threshold_stays_in_memory(vendor, tourlink_home):
    vendor.answers = [(200, b"x" * (64 * KIB))]
    with _client(vendor, spill_body_bytes=64 * KIB) as client:
        got = client.request("GET", "/x", check=_reads_raw).payload
    assert not got.spilled and got.body == b"x" * (64 * KIB)
    assert _spilled(tourlink_home) == []


def test_the_bound_still_refuses_while_streaming_and_leaves_no_file(vendor, tourlink_home):
    vendor.answers = [(200, b"y" * (300 * KIB))]
    with _client(vendor, spill_body_bytes=64 * KIB, max_body_bytes=200 * KIB) as client:
        with pytest.raises(BodyTooLarge, match="over the limit of 204800"):
            client.request("GET", "/x", check=_reads_raw)
    assert _spilled(tourlink_home) == []


def test_a_spilled_body_a_retry_or_an_error_drops_is_deleted_at_once(vendor, tourlink_home):
    big = b"z" * (200 * KIB)
    seen: list[RawBody] = []

    def flaky(body: RawBody, what: str) -> RawBody:
        seen.append(body)
        if len(seen) == 1:
            raise RetryableError(f"{what}: cut short")
        return body

    flaky.reads_raw = True  # type: ignore[attr-defined]
    vendor.answers = [(200, big)]
    with _client(vendor, spill_body_bytes=64 * KIB) as client:
        kept = client.request("GET", "/x", check=flaky).payload
        assert not seen[0].path.exists() and kept.path.exists()
        assert _spilled(tourlink_home) == [kept.path.name]
    kept.discard()


def test_an_error_quotes_the_start_of_a_spilled_body_with_secrets_scrubbed(vendor, tourlink_home):
    vendor.answers = [(400, b"bad request for pw-s3cret " + b"." * (200 * KIB))]
    with _client(vendor, spill_body_bytes=64 * KIB) as client:
        with pytest.raises(ParameterError, match=r"HTTP 400: bad request for \*\*\* \.\.\.") as err:
            client.request("GET", "/x", check=_reads_raw)
    assert "pw-s3cret" not in str(err.value)
    assert _spilled(tourlink_home) == []


def test_a_read_that_fails_deletes_every_body_its_client_spilled(vendor, tourlink_home):
    vendor.answers = [(200, b"w" * (100 * KIB))]
    with pytest.raises(SourceError, match="later stream failed"):
        with _client(vendor, spill_body_bytes=64 * KIB) as client:
            first = client.request("GET", "/x", check=_reads_raw).payload
            assert first.path.exists()
            raise SourceError("a later stream failed")
    assert not first.path.exists() and _spilled(tourlink_home) == []
