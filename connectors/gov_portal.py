"""`gov-portal`: a provincial government portal's signed licensing feed (SOURCES.md §4).

Pages are fetched by `afterId` from the last id committed (the watermark the flow hands in as
state, and commits in the same transaction as the events it covers); the reader returns them as
frames (mapped with `mappings/sources/gov_portal.yaml` onto `licensing_event`), the raw bodies and
the new last id. Re-sent events collapse on the natural key (`source_system`, `case_no`,
`event_type`). Folding the events into the agencies' states is the warehouse's, after the commit
(`warehouse.derived`), not this reader's.

Requests go through the shared HTTP client (`connectors.http.client`) and its retry policy: a
transport error, 5xx or 429 is retried with backoff, a rejected signature (401) fails at once.

Registry file: `base_url`, credentials `gateway_key` and `gateway_secret`; options `page_size`
(≤ 100), `max_pages` per run (500), `timeout_seconds`, `retries`. HTTP 401/403 fail at once
(`PortalAuthError`, never retried); a `lastId` that does not move past `afterId` stops the walk
(`PortalError`) before anything is loaded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import polars as pl

from connectors.http.auth import Auth, Request
from connectors.http.client import HttpClient
from connectors.http.decoding import decode_json
from connectors.http.errors import AuthError, SourceError
from connectors.http.retry import RetryPolicy
from connectors.reading import Extract, RawBody, Window
from connectors.registry import SourceConfig
from tourlink.frames import ROW, SourceFrame

log = logging.getLogger(__name__)

FEED_PATH = "/gateway/licensing/events"
STREAM = "events"
MAPPING = "gov_portal"

# The portal's change field names → travel_agency fields (SOURCES.md §4).
CHANGE_FIELDS = {"名称": "name", "法定代表人": "legal_rep", "经营场所": "address", "联系电话": "phone"}
_SCALARS = (
    "id", "caseNo", "itemName", "subjectCode", "subjectName", "parentCode", "licenceNo", "regionCode",
    "result", "effectiveDate", "authorityRegion", "receivedTime",
)


def sign(secret: str, path: str, query: str, timestamp: str) -> str:
    """`X-Gateway-Signature`: hex HMAC-SHA256(secret, path + "?" + query + "\\n" + timestamp)."""
    return hmac.new(secret.encode(), f"{path}?{query}\n{timestamp}".encode(), hashlib.sha256).hexdigest()


class PortalError(SourceError):
    """The portal refused or failed a request after retries; the message never carries the secret."""


class PortalAuthError(PortalError, AuthError):
    """HTTP 401/403: the key, the secret or the clock is wrong; retrying cannot help, so it is never retried."""


class GatewayAuth(Auth):
    """`X-Gateway-Key`, `-Timestamp` and `-Signature` on every attempt (a retry is signed anew)."""

    def __init__(self, key: str, secret: str, prefix: str = ""):
        self._key, self._secret, self._prefix = key, secret, prefix

    def apply(self, request: Request) -> Request:
        stamp = str(int(time.time()))
        query = urlencode(request.params)
        request.headers.update({
            "X-Gateway-Key": self._key,
            "X-Gateway-Timestamp": stamp,
            "X-Gateway-Signature": sign(self._secret, self._prefix + request.path, query, stamp),
        })
        return request

    def secret_values(self) -> tuple[str, ...]:
        return (self._secret,)


def check_feed(body: bytes, what: str) -> Any:
    """The feed's envelope: `{"success": true, "result": …}`, anything else is the portal's error."""
    payload = decode_json(body, what)
    if not isinstance(payload, dict) or not payload.get("success"):
        message = payload.get("message") if isinstance(payload, dict) else None
        raise PortalError(f"{what}: licensing feed reported failure: {message!r}")
    return payload["result"]


class PortalClient:
    """Signs and sends feed requests through the shared HTTP client and its retry policy."""

    def __init__(self, base_url: str, key: str, secret: str, *, timeout: float = 30.0, retries: int = 3,
                 backoff_seconds: float = 0.2):
        prefix = urlsplit(base_url.rstrip("/")).path.rstrip("/")
        self._http = HttpClient(
            base_url, GatewayAuth(key, secret, prefix), timeout=timeout,
            retry=RetryPolicy(max_attempts=retries + 1, base_seconds=backoff_seconds, cap_seconds=5.0),
            source="licensing feed",
        )

    @property
    def requests(self) -> int:
        return self._http.requests

    def page(self, after_id: int, size: int) -> tuple[dict[str, Any], bytes]:
        """One page after `after_id`: the parsed `result` and the raw body (kept in landing)."""
        try:
            reply = self._http.request("GET", FEED_PATH, params={"afterId": after_id, "size": size}, check=check_feed)
        except PortalError:
            raise
        except AuthError as exc:  # the shared client sends a 401 or 403 once and never retries it
            status = re.search(r"HTTP (\d{3})", str(exc))
            raise PortalAuthError(
                f"licensing feed refused the credentials (HTTP {status.group(1) if status else '401'}) at "
                f"afterId={after_id}, not retried; fix: check credentials gateway_key and gateway_secret, and that "
                "this server's clock is right"
            ) from None
        except SourceError as exc:
            raise PortalError(f"{exc} at afterId={after_id}") from None
        return reply.payload, reply.body

    def close(self) -> None:
        self._http.close()


def changed_fields(changes: list[dict[str, Any]] | None) -> str | None:
    """The portal's `changes` list as SPEC's `{travel_agency field: [old, new]}` JSON text."""
    if not changes:
        return None
    out = {CHANGE_FIELDS.get(c.get("field"), c.get("field")): [c.get("old"), c.get("new")] for c in changes}
    return json.dumps(out, ensure_ascii=False, sort_keys=True)


def events_frame(events: list[dict[str, Any]], *, source: str, file: str) -> SourceFrame:
    """One page as a SourceFrame: the portal's own field names, plus `sourceSystem` and `changedFields`.

    A licensing feed brings tens of events a day, so building the columns in Python is cheap here.
    """
    columns: dict[str, pl.Series] = {
        name: pl.Series(name, [None if e.get(name) is None else str(e.get(name)) for e in events], dtype=pl.String)
        for name in _SCALARS
    }
    columns["changedFields"] = pl.Series("changedFields", [changed_fields(e.get("changes")) for e in events], dtype=pl.String)
    columns["sourceSystem"] = pl.Series("sourceSystem", [source] * len(events), dtype=pl.String)
    columns[ROW] = pl.Series(ROW, range(1, len(events) + 1), dtype=pl.Int64)
    return SourceFrame(data=pl.DataFrame(columns), file=file)


@dataclass
class Page:
    frame: SourceFrame
    raw: RawBody  # the body as received, kept in the landing folder
    last_id: int


def _pages(client: PortalClient, after: int, size: int, max_pages: int, source: SourceConfig) -> Iterator[Page]:
    for _ in range(max_pages):
        result, raw = client.page(after, size)
        events = result.get("events") or []
        if not events:
            return
        name = f"{source.name}-events-after-{after}.json"
        last = int(result.get("lastId") or events[-1]["id"])
        if last <= after:
            # A cursor that does not move would fetch the same page until max_pages: stop and say so.
            raise PortalError(
                f"licensing feed cursor did not advance (afterId={after} answered lastId={last}, hasMore="
                f"{bool(result.get('hasMore'))}); nothing loaded from this run; the portal's paging needs fixing"
            )
        yield Page(events_frame(events, source=source.name, file=name), RawBody(name, raw), last)
        after = last
        if not result.get("hasMore"):
            return


def _client(source: SourceConfig) -> PortalClient:
    return PortalClient(
        source.base_url,
        source.secret("gateway_key"),
        source.secret("gateway_secret"),
        timeout=float(source.option("timeout_seconds", 30)),
        retries=int(source.option("retries", 3)),
    )


def check(source: SourceConfig) -> dict[str, int]:
    """Credentials and reachability (`tourlink sources check`): one signed one-event page, nothing loaded."""
    client = _client(source)
    try:
        result, _ = client.page(0, 1)
    finally:
        client.close()
    return {STREAM: len(result.get("events") or [])}


def read(source: SourceConfig, state: Mapping[str, str], window: Window = Window()) -> Extract:
    """The events after the last id committed (`state["events"]`), at most `max_pages` pages.

    `since`/`until` do not apply: the feed is ordered by id, not time; `full_refresh` starts at id 0
    (re-sent events are unchanged rows, so it is safe)."""
    client = _client(source)
    size = min(int(source.option("page_size", 100)), 100)
    max_pages = int(source.option("max_pages", 500))
    after = 0 if window.full_refresh else int(state.get(STREAM) or 0)
    extract = Extract(source=source.name, mapping=MAPPING, streams={STREAM: 0})
    try:
        pages = list(_pages(client, after, size, max_pages, source))
    finally:
        client.close()
        extract.requests = client.requests
    if pages:  # one batch per run; the next run goes on from the watermark
        extract.frames = [p.frame for p in pages]
        extract.raw = [p.raw for p in pages]
        extract.state = {STREAM: str(pages[-1].last_id)}
        extract.pages = len(pages)
        extract.streams[STREAM] = sum(p.frame.data.height for p in pages)
    log.info("gov-portal %s: %d events in %d pages", source.name, extract.streams[STREAM], extract.pages)
    return extract
