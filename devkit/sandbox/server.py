"""The part every sandbox shares: a real `ThreadingHTTPServer` on loopback, in a thread, with faults.

A dialect module subclasses `Sandbox` and implements `route(handler, method, path, query, body)`.
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from devkit.sandbox.faults import Faults
from devkit.sandbox.seed import Dataset, entity_rows, seed


class _QuietServer(ThreadingHTTPServer):
    """A client that hung up (a timeout, a killed sync) is normal here, not a traceback on stderr."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class Reply:
    def __init__(self, status: int, body: bytes, content_type: str = "application/json; charset=utf-8", headers: dict[str, str] | None = None):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}


class Sandbox:
    """One vendor emulator. `ground_truth()` is what a complete sync must leave in the warehouse."""

    dialect = ""

    def __init__(self, *, region: str = "110000", groups: int = 40, agencies: int = 3, credentials: dict[str, str] | None = None, port: int = 0, data: Dataset | None = None):
        self.data = data or seed(region, agencies=agencies, groups=groups)
        self.credentials = credentials or {}
        self.faults = Faults()
        self.lock = threading.RLock()
        self.requests: list[str] = []
        self.in_flight = 0  # requests being answered now (`faults.max_in_flight`)
        self.throttled = 0  # requests answered "too many" for being over `faults.max_in_flight`
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        assert self._server is not None, "sandbox not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Sandbox:
        sandbox = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle's algorithm the body waits for the
            # client's delayed ACK of the headers, ~40 ms on every keep-alive request (bench/sync.py).
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # quiet: tests capture logs
                pass

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                sandbox.requests.append(f"{method} {parts.path}")
                with sandbox.lock:
                    sandbox.in_flight += 1
                    over = sandbox.faults.max_in_flight is not None and sandbox.in_flight > sandbox.faults.max_in_flight
                    sandbox.throttled += over
                try:
                    reply = sandbox.throttle() if over else sandbox.dispatch(self, method, parts.path, query, body)
                    self._reply(reply)
                finally:
                    with sandbox.lock:
                        sandbox.in_flight -= 1

            def _reply(self, reply: Reply | None) -> None:
                if reply is None:  # connection reset
                    return
                if sandbox.faults.latency_seconds:
                    time.sleep(sandbox.faults.latency_seconds)
                payload = reply.body
                truncated = reply.status == 200 and sandbox.faults.take("truncate")
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(payload)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if truncated:
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        self._server = _QuietServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"sandbox-{self.dialect}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ requests
    def dispatch(self, handler: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, str], body: bytes) -> Reply | None:
        if self.faults.take("reset"):
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return None
        if self.faults.take("http_5xx"):
            return Reply(503, b"<html>503 Service Temporarily Unavailable</html>", "text/html")
        if self.faults.take("http_429"):
            return self.throttle()
        with self.lock:
            return self.route(handler, method, path, query, body)

    def throttle(self) -> Reply:
        """The answer to a request over the vendor's limit (a dialect may answer its own envelope code)."""
        return Reply(429, b"Too Many Requests", "text/plain", {"Retry-After": str(self.faults.retry_after_seconds)})

    def route(self, handler: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        raise NotImplementedError

    # ------------------------------------------------------------------ data
    def touch(self, count: int = 1) -> list[str]:
        """Update `count` records now (as an agency editing in its ERP): they move to the end of the order."""
        from datetime import UTC, datetime

        from devkit.sandbox.seed import _second

        now = _second(datetime.now(UTC))
        touched = []
        with self.lock:
            for group in sorted(self.data.groups, key=lambda g: g["updated_at"])[:count]:
                group["updated_at"] = now
                group["route_name"] = (group["route_name"] or "") + "（调整）"
                touched.append(group["group_code"])
        return touched

    def after_page(self, page_no: int) -> None:
        if page_no == 1 and self.faults.take("update_while_paging"):
            self.touch(1)

    def ground_truth(self) -> dict[str, list[dict[str, Any]]]:
        with self.lock:
            return entity_rows(self.data)
