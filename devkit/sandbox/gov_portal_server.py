"""A provincial government portal's licensing feed (SOURCES.md §4), as a real HTTP server on loopback.

It behaves like the portals do: requests must be signed (`X-Gateway-*`), events come paged by
`afterId`, not in effective-date order, and some are sent again after the portal's own retries
(same `caseNo` and item, a new `id`). Faults can be injected (`fail_next`). Used by the tests,
`tourlink sync` against `connectors/sources/gov_portal_liaoning_sandbox.yaml` and the demo.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FEED_PATH = "/gateway/licensing/events"
MAX_SKEW_SECONDS = 300

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def sandbox_uscc(seq: int, prefix: str = "91210100MA") -> str:
    """A made-up USCC with a valid GB 32100 check character (sandbox data only)."""
    body = f"{prefix}{seq:0{17 - len(prefix)}d}"
    total = sum(_ALPHABET.index(c) * w for c, w in zip(body, _WEIGHTS, strict=True))
    return body + _ALPHABET[(31 - total % 31) % 31]


def sign(secret: str, path: str, query: str, timestamp: str) -> str:
    """hex HMAC-SHA256(secret, path + "?" + query + "\\n" + timestamp), as the portal gateway checks it."""
    message = f"{path}?{query}\n{timestamp}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _event(case: str, item: str, subject: str, eff: str, received: str, result: str = "准予许可", **kw: Any) -> dict[str, Any]:
    return {
        "caseNo": case,
        "itemName": item,
        "subjectCode": subject,
        "subjectName": kw.get("name"),
        "parentCode": kw.get("parent"),
        "licenceNo": kw.get("licence"),
        "regionCode": kw.get("region"),
        "result": result,
        "effectiveDate": eff,
        "authorityRegion": kw.get("authority", "210000"),
        "changes": [{"field": f, "old": o, "new": n} for f, o, n in kw.get("changes", ())],
        "receivedTime": received,
    }


def seed_events() -> list[dict[str, Any]]:
    """A Liaoning portal's history: two agencies, a branch and an outlet, with a rejected and a
    withdrawn case. In effective-date order; `deliveries` scrambles and repeats them."""
    a, b = sandbox_uscc(101), sandbox_uscc(102)
    branch, outlet = sandbox_uscc(201), sandbox_uscc(301)
    return [
        _event("LN2020-0001", "设立", a, "2020-03-02", "2020-03-02 10:00:00", name="沈阳远航旅行社有限公司", licence="L-LN-00101", region="210102"),
        _event("LN2020-0107", "设立", b, "2020-07-15", "2020-07-15 09:30:00", name="大连海韵旅行社有限公司", licence="L-LN-00102", region="210202"),
        _event("LN2021-0044", "分社备案", branch, "2021-04-01", "2021-04-01 14:00:00", "已备案", name="沈阳远航旅行社有限公司鞍山分社", parent=a, region="210302"),
        _event("LN2021-0090", "出境旅游业务许可", a, "2021-09-10", "2021-09-10 11:00:00", "不予许可", licence="L-LN-CJ00101"),
        _event("LN2022-0031", "出境旅游业务许可", a, "2022-06-15", "2022-06-15 16:20:00", licence="L-LN-CJ00101"),
        _event("LN2022-0078", "服务网点备案", outlet, "2022-09-01", "2022-09-01 09:00:00", "已备案", name="大连海韵旅行社有限公司中山路门市", parent=b, region="210202"),
        _event("LN2023-0005", "变更", a, "2023-01-10", "2023-01-10 10:10:00",
               changes=[("名称", "沈阳远航旅行社有限公司", "辽宁远航国际旅行社有限公司"), ("法定代表人", "王建国", "李红")]),
        _event("LN2023-0050", "暂停", b, "2023-08-01", "2023-08-01 08:00:00"),
        _event("LN2023-0061", "变更", b, "2023-09-01", "2023-09-01 08:30:00", "撤回", changes=[("经营场所", "大连市中山区人民路1号", "大连市西岗区友好路8号")]),
        _event("LN2023-0120", "恢复", b, "2023-11-20", "2023-11-20 15:00:00"),
        _event("LN2024-0008", "变更", b, "2024-01-05", "2024-01-05 09:00:00", changes=[("联系电话", "0411-8000001", "0411-82345678")]),
        _event("LN2024-0033", "分社注销", branch, "2024-03-01", "2024-03-01 10:00:00", "已备案", parent=a),
        _event("LN2024-0071", "注销", b, "2024-06-30", "2024-06-30 17:00:00"),
    ]


def deliveries(events: Sequence[dict[str, Any]], *, seed: int = 7, resend: int = 4) -> list[dict[str, Any]]:
    """The events as a portal sends them: shuffled, and `resend` of them sent a second time later."""
    rng = random.Random(seed)
    order = list(events)
    rng.shuffle(order)
    for again in rng.sample(list(events), min(resend, len(events))):
        order.insert(rng.randrange(order.index(again) + 1, len(order) + 1), dict(again))
    return order


class PortalEmulator:
    """The feed on `http://127.0.0.1:<port>`; `append` publishes more events, `fail_next` injects faults."""

    def __init__(
        self,
        *,
        key: str = "sandbox-gateway-key",
        secret: str = "sandbox-gateway-secret",
        events: Sequence[dict[str, Any]] | None = None,
        port: int = 0,
        region: str | None = None,
    ):
        """Without `events`, serves the seeded Liaoning history scrambled as a portal sends it."""
        self.key, self.secret = key, secret
        self.credentials = {"gateway_key": key, "gateway_secret": secret}  # for `sandbox.start_for`
        events = deliveries(seed_events()) if events is None else events
        self._lock = threading.Lock()
        self._feed: list[dict[str, Any]] = []
        self._faults: list[int] = []
        self.requests = 0
        self.rejected_signatures = 0
        self.stuck_cursor_after: int | None = None  # from this afterId on, answer lastId == afterId (a broken cursor)
        self.append(events)
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                status, body = emulator._handle(self)
                payload = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """The base URL a registry file points at (every sandbox has one)."""
        return self.base_url

    def append(self, events: Sequence[dict[str, Any]]) -> None:
        """Publish events; the portal numbers them in the order it sends them."""
        with self._lock:
            for e in events:
                self._feed.append({**e, "id": 1000 + len(self._feed) + 1})

    def fail_next(self, *statuses: int) -> None:
        """The next requests answer these HTTP statuses (e.g. 502, 503) instead of data."""
        with self._lock:
            self._faults.extend(statuses)

    def _handle(self, request: BaseHTTPRequestHandler) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests += 1
            if self._faults:
                return self._faults.pop(0), {"success": False, "message": "网关繁忙，请稍后重试"}
        url = urlsplit(request.path)
        if url.path != FEED_PATH:
            return 404, {"success": False, "message": "接口不存在"}
        key = request.headers.get("X-Gateway-Key", "")
        stamp = request.headers.get("X-Gateway-Timestamp", "")
        signature = request.headers.get("X-Gateway-Signature", "")
        expected = sign(self.secret, url.path, url.query, stamp)
        fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= MAX_SKEW_SECONDS
        if not (hmac.compare_digest(key, self.key) and fresh and hmac.compare_digest(signature, expected)):
            with self._lock:
                self.rejected_signatures += 1
            return 401, {"success": False, "message": "签名校验失败"}
        query = parse_qs(url.query)
        try:
            after = int(query.get("afterId", ["0"])[0])
            size = max(1, min(int(query.get("size", ["100"])[0]), 100))
        except ValueError:
            return 400, {"success": False, "message": "参数错误"}
        with self._lock:
            pending = [e for e in self._feed if e["id"] > after]
        page = pending[:size]
        last = page[-1]["id"] if page else after
        if self.stuck_cursor_after is not None and after >= self.stuck_cursor_after and page:
            last = after
        return 200, {"success": True, "result": {"events": page, "lastId": last, "hasMore": len(pending) > size}}

    def start(self) -> PortalEmulator:
        self._thread = threading.Thread(target=self._server.serve_forever, name="gov-portal-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> PortalEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:  # pragma: no cover - manual use: python -m devkit.sandbox.gov_portal_server
    import argparse

    parser = argparse.ArgumentParser(description="Serve the sandbox licensing feed on loopback.")
    parser.add_argument("--port", type=int, default=18085)
    args = parser.parse_args()
    key = os.environ.get("SANDBOX_GOV_PORTAL_KEY", "sandbox-key")
    secret = os.environ.get("SANDBOX_GOV_PORTAL_SECRET", "sandbox-secret")
    with PortalEmulator(key=key, secret=secret, events=deliveries(seed_events()), port=args.port) as portal:
        print(f"licensing feed on {portal.base_url}{FEED_PATH}")
        threading.Event().wait()


if __name__ == "__main__":  # pragma: no cover
    main()
