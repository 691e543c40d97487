"""A page+total vendor on loopback for the reader's tests: `GET /v1/groups?page=N&size=S` →
`{"total": T, "items": [...]}` (asked without `page`, a cursor walk: `cursor=N` → `{"items": [...], "next": N+1 | null}`),
`GET /v1/groups/{id}/members` → `{"items": [...]}`, bearer token,
an injected latency per request, a gateway that answers 429 (or 503) beyond `gateway_limit` requests in
flight, and what a vendor's operator would see: when each request arrived
and how many were in flight at once."""

from __future__ import annotations

import json
import threading
import time
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.loopback import Loopback

TOKEN = "vendor-token-0123"


class PagedVendor:
    def __init__(self, groups: int = 40, latency: float = 0.0):
        self.groups = [{"id": f"g{i:03d}", "updated_at": f"2026-10-01T08:{i % 60:02d}:00+08:00", "pax": i} for i in range(groups)]
        self.latency = latency
        self.arrivals: list[float] = []
        self.paths: list[str] = []  # every request's target, in order of arrival
        self.in_flight = self.max_in_flight = 0
        self.gateway_limit: int | None = None  # more in flight than this: `gateway_status`
        self.gateway_status = 429  # or 503, an overloaded backend behind the gateway
        self.throttled = 0  # requests answered `gateway_status` by the gateway
        self.body_override: bytes | None = None
        self.announce_length = True
        self._lock = threading.Lock()
        self._loopback = Loopback(self._served, announce_length=lambda: self.announce_length)
        self.server = self._loopback.server
        self.url = self._loopback.url

    def _served(self, target: str, headers: Message) -> tuple[int, bytes]:
        with self._lock:
            self.arrivals.append(time.monotonic())
            self.paths.append(target)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            over = self.gateway_limit is not None and self.in_flight > self.gateway_limit
            self.throttled += over
        try:
            time.sleep(self.latency)
            if over:
                return self.gateway_status, b'{"error": "too many requests"}'
            return self.answer(target, headers.get("Authorization", ""))
        finally:
            with self._lock:
                self.in_flight -= 1

    def answer(self, target: str, authorization: str) -> tuple[int, bytes]:
        if authorization != f"Bearer {TOKEN}":
            return 401, b'{"error": "invalid_token"}'
        if self.body_override is not None:
            return 200, self.body_override
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query))
        if parts.path.endswith("/members"):
            gid = parts.path.split("/")[3]
            return 200, json.dumps({"items": [{"seq": 1, "name": f"member of {gid}"}]}).encode()
        page, size = int(query.get("page") or query.get("cursor") or 1), int(query.get("size", 10))
        chosen = self.groups[(page - 1) * size: page * size]
        if "page" not in query:  # a cursor walk: the first request names no cursor
            following = page + 1 if page * size < len(self.groups) else None
            return 200, json.dumps({"items": chosen, "next": following}).encode()
        return 200, json.dumps({"total": len(self.groups), "items": chosen}).encode()

    def stop(self) -> None:
        self._loopback.stop()

    def busiest_second(self) -> int:
        """The most requests that arrived within any one second."""
        times = sorted(self.arrivals)
        most, start = 0, 0
        for end, moment in enumerate(times):
            while moment - times[start] >= 1.0:
                start += 1
            most = max(most, end - start + 1)
        return most


def options(**more: Any) -> dict[str, Any]:
    """A `rest` source's declaration for this vendor: page number + total, members as a dependent."""
    return {
        "resources": {"groups": {"path": "/v1/groups", "dependent": {"members": {"path": "/v1/groups/{id}/members"}}}},
        "records": "items", "total": "total", "paging": {"style": "page-number", "param": "page", "size_param": "size"},
        "list_columns": ["members"], "backoff_seconds": 0.01, "requests_per_second": None, **more,
    }
