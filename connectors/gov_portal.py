"""`gov-portal`: a provincial government portal's signed licensing feed (SOURCES.md §4).

Pages are fetched by `afterId` from the last id committed (the watermark, stored in the same
transaction as the events it covers), mapped with `mappings/sources/gov_portal.yaml` onto
`licensing_event` and loaded through the pipeline; re-sent events collapse on the natural key
(`source_system`, `case_no`, `event_type`). The agencies those events touch are then re-folded
(`warehouse.agency_history.refold_pending`), which is idempotent and catches up after a crash.

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
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import polars as pl

from connectors.http.errors import SourceError
from connectors.registry import SourceConfig, SyncResult
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


class PortalAuthError(PortalError):
    """HTTP 401/403: the key, the secret or the clock is wrong; retrying cannot help, so it is never retried."""


class PortalClient:
    """Signs and sends feed requests; retries transport errors and 5xx with backoff."""

    def __init__(self, base_url: str, key: str, secret: str, *, timeout: float = 30.0, retries: int = 3):
        self._base = base_url.rstrip("/")
        self._prefix = urlsplit(self._base).path.rstrip("/")
        self._key, self._secret = key, secret
        self._retries = retries
        self._http = httpx.Client(timeout=timeout)
        self.requests = 0

    def page(self, after_id: int, size: int) -> tuple[dict[str, Any], bytes]:
        """One page after `after_id`: the parsed `result` and the raw body (kept in landing)."""
        path = self._prefix + FEED_PATH
        query = urlencode({"afterId": after_id, "size": size})
        for attempt in range(self._retries + 1):
            stamp = str(int(time.time()))
            headers = {
                "X-Gateway-Key": self._key,
                "X-Gateway-Timestamp": stamp,
                "X-Gateway-Signature": sign(self._secret, path, query, stamp),
            }
            self.requests += 1
            try:
                response = self._http.get(f"{self._base}{FEED_PATH}?{query}", headers=headers)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}"
            else:
                if response.status_code < 500 and response.status_code != 429:
                    break
                problem = f"HTTP {response.status_code}"
            if attempt == self._retries:
                raise PortalError(f"licensing feed failed after {attempt + 1} attempts ({problem}) at afterId={after_id}")
            time.sleep(min(0.2 * 2**attempt, 5.0))
        if response.status_code in (401, 403):
            raise PortalAuthError(
                f"licensing feed refused the credentials (HTTP {response.status_code}) at afterId={after_id}, not retried; "
                "fix: check credentials gateway_key and gateway_secret, and that this server's clock is right"
            )
        if response.status_code != 200:
            raise PortalError(f"licensing feed answered HTTP {response.status_code} at afterId={after_id}: {response.text[:200]}")
        body = response.json()
        if not body.get("success"):
            raise PortalError(f"licensing feed reported failure at afterId={after_id}: {body.get('message')!r}")
        return body["result"], response.content

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


def _warehouse(warehouse: Any) -> Any:
    if warehouse is not None:
        return warehouse
    from warehouse.load import Warehouse

    return Warehouse()


def _last_id(wh: Any, source: str) -> int:
    value = wh.watermark(source, STREAM)
    return int(value) if value else 0


@dataclass
class Page:
    frame: SourceFrame
    raw: Path  # the body as received, kept in the landing folder
    last_id: int


def _pages(client: PortalClient, after: int, size: int, max_pages: int, staging: Path, source: SourceConfig) -> Iterator[Page]:
    for _ in range(max_pages):
        result, raw = client.page(after, size)
        events = result.get("events") or []
        if not events:
            return
        name = f"{source.name}-events-after-{after}.json"
        path = staging / name
        path.write_bytes(raw)
        last = int(result.get("lastId") or events[-1]["id"])
        if last <= after:
            # A cursor that does not move would fetch the same page until max_pages: stop and say so.
            raise PortalError(
                f"licensing feed cursor did not advance (afterId={after} answered lastId={last}, hasMore="
                f"{bool(result.get('hasMore'))}); nothing loaded from this run; the portal's paging needs fixing"
            )
        yield Page(events_frame(events, source=source.name, file=name), path, last)
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


def sync(
    source: SourceConfig,
    *,
    full_refresh: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    warehouse: Any = None,
) -> SyncResult:
    """Fetch the events after the watermark, load them as one batch, re-fold the agencies they touch.

    `since`/`until` do not apply: the feed is ordered by id, not time; `full_refresh` starts at id 0
    (re-sent events are unchanged rows, so it is safe).
    """
    from tourlink.pipeline import load_frames

    wh = _warehouse(warehouse)
    client = _client(source)
    size = min(int(source.option("page_size", 100)), 100)
    max_pages = int(source.option("max_pages", 500))
    after = 0 if full_refresh else _last_id(wh, source.name)
    result = SyncResult(source=source.name, batch_id=None, streams={STREAM: 0})
    try:
        with tempfile.TemporaryDirectory(prefix="tourlink-gov-portal-") as tmp:
            pages = list(_pages(client, after, size, max_pages, Path(tmp), source))
            if pages:
                last = str(pages[-1].last_id)
                # One batch per run (at most `max_pages` pages; the next run goes on from the watermark).
                batch = load_frames(
                    [p.frame for p in pages], mapping=MAPPING, source=source.name,
                    raw_files=[p.raw for p in pages], watermarks={STREAM: last}, warehouse=wh,
                )
                result.batch_id = batch.batch_id
                result.pages = len(pages)
                result.streams[STREAM] = sum(p.frame.data.height for p in pages)
                result.entities = {entity: vars(counts) for entity, counts in batch.entities.items()}
                result.watermarks[STREAM] = last
    finally:
        client.close()
        result.requests = client.requests
    # Always: also folds events a crashed run committed but did not fold (cheap when nothing is pending).
    result.entities["travel_agency"] = {"folded": after_commit(source, warehouse=wh)}
    log.info("gov-portal %s: %d events in %d pages", source.name, result.streams[STREAM], result.pages)
    return result


def after_commit(source: SourceConfig, *, warehouse: Any = None) -> int:
    """Re-fold the agencies whose events were committed since the last fold (also the nightly DAG's
    hook after its merge step). Returns how many agency units got a new state."""
    from warehouse.agency_history import refold_pending

    return refold_pending(_warehouse(warehouse).engine, source=source.name)
