"""`gov-portal`: a provincial government portal's signed licensing feed (SOURCES.md §4).

The feed is a declaration (`connectors/declarative/presets/gov-portal.yaml`: the after-id paging
on `afterId`/`lastId`/`hasMore`, the `{"success", "result"}` envelope, the records path, the
gateway HMAC auth plug-in) walked by the declarative reader (`connectors.declarative`) through the
shared HTTP client and its retry policy (`connectors.erp.client.build_client`). This module holds
only what the YAML cannot say:

- `GatewayAuth`, the `gateway-hmac` plug-in's signing scheme;
- the after-id state: the walk starts at the last id committed (the watermark the flow hands in as
  `state["events"]`, committed in the same transaction as the events it covers), the new last id
  is the state handed back, and an idle feed hands back nothing (no batch);
- the guard against a `lastId` that does not move past `afterId` (`PortalError`, before anything is
  loaded) and HTTP 401/403 as `PortalAuthError` (sent once, never retried);
- the two columns added before mapping (`mappings/sources/gov_portal.yaml` onto `licensing_event`):
  `sourceSystem` and `changedFields`. Re-sent events collapse on the natural key (`source_system`,
  `case_no`, `event_type`); folding them into agency state is the warehouse's (`warehouse.derived`).

Registry file: `base_url`, credentials `gateway_key` and `gateway_secret`; options `page_size`
(≤ 100), `max_pages` per run (500), `timeout_seconds`, `retries`, and any key of the preset.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import polars as pl

from connectors.bodies import as_raw
from connectors.declarative import bind
from connectors.erp.client import build_client
from connectors.http.auth import Auth, Request
from connectors.http.errors import AuthError, SourceError
from connectors.http.pagination import Page
from connectors.reading import Extract, Window
from connectors.registry import SourceConfig
from tourlink.frames import ROW, SourceFrame

log = logging.getLogger(__name__)

STREAM = "events"
MAPPING = "gov_portal"
GovPortal = bind("gov-portal", "GovPortal")

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


def _source(source: SourceConfig, after: int, size: int | None = None) -> SourceConfig:
    """`source` with the walk starting after `after` and the registry's `retries` as the client's attempts."""
    retries = int(source.option("retries", 3))
    paging = {**(source.options.get("paging") or {}), "start": after}
    options = {"max_attempts": retries + 1, "backoff_cap_seconds": 5, **source.options, "paging": paging}
    if size is not None:
        options["page_size"] = size
    return dataclasses.replace(source, options=options)


def _walk(pages: Iterator[Page], after: int, max_pages: int, source: SourceConfig) -> Iterator[tuple[Page, int, int]]:
    """The declared walk's pages with the id each was asked after and its last id; a last id that
    does not move past the one asked for stops the walk (it would fetch the same page until max_pages)."""
    try:
        for n, page in enumerate(pages, start=1):
            if not page.records:
                return
            last = int(page.next_cursor or page.records[-1]["id"])
            if last <= after:
                raise PortalError(
                    f"licensing feed cursor did not advance (afterId={after} answered lastId={last}, hasMore="
                    f"{page.next_cursor is not None}); nothing loaded from this run; the portal's paging needs fixing"
                )
            yield page, after, last
            after = last
            if n >= max_pages:  # the next run goes on from the watermark
                return
    except PortalError:
        raise
    except AuthError as exc:  # the shared client sends a 401 or 403 once and never retries it
        status = re.search(r"HTTP (\d{3})", str(exc))
        raise PortalAuthError(
            f"licensing feed refused the credentials (HTTP {status.group(1) if status else '401'}) at "
            f"afterId={after}, not retried; fix: check credentials gateway_key and gateway_secret, and that "
            "this server's clock is right"
        ) from None
    except SourceError as exc:
        raise PortalError(f"{exc} at afterId={after}") from None


def check(source: SourceConfig) -> dict[str, int]:
    """Credentials and reachability (`tourlink sources check`): one signed one-event page, nothing loaded."""
    probe = _source(source, 0, size=1)
    with build_client(probe) as client:
        try:
            first = next(_walk(GovPortal(probe, client).pages(STREAM, None, datetime.now(UTC)), 0, 1, probe), None)
        finally:
            client.discard_spilled()  # nothing is landed: no page's temp file is kept
    return {STREAM: len(first[0].records) if first else 0}


def read(source: SourceConfig, state: Mapping[str, str], window: Window = Window()) -> Extract:
    """The events after the last id committed (`state["events"]`), at most `max_pages` pages.

    `since`/`until` do not apply: the feed is ordered by id, not time; `full_refresh` starts at id 0
    (re-sent events are unchanged rows, so it is safe)."""
    after = 0 if window.full_refresh else int(state.get(STREAM) or 0)
    declared = _source(source, after)
    max_pages = int(source.option("max_pages", 500))
    extract = Extract(source=source.name, mapping=MAPPING, streams={STREAM: 0})
    with build_client(declared) as client:
        try:
            walked = list(_walk(GovPortal(declared, client).pages(STREAM, None, datetime.now(UTC)), after, max_pages, declared))
        finally:
            extract.requests = client.requests
    if walked:  # one batch per run; the next run goes on from the watermark
        names = [f"{source.name}-events-after-{asked}.json" for _, asked, _ in walked]
        extract.frames = [events_frame(p.records, source=source.name, file=n) for (p, _, _), n in zip(walked, names, strict=True)]
        extract.raw = [as_raw(p.body, n) for (p, _, _), n in zip(walked, names, strict=True)]
        extract.state = {STREAM: str(walked[-1][2])}
        extract.pages = len(walked)
        extract.streams[STREAM] = sum(len(p.records) for p, _, _ in walked)
    log.info("gov-portal %s: %d events in %d pages", source.name, extract.streams[STREAM], extract.pages)
    return extract
