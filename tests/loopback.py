"""A vendor double's HTTP server on loopback: the handler boilerplate written once.

`answer(path, headers)` gives (status, body) or (status, body, content type); the server sends it
with its length, or, where `announce_length()` says no, without one and closes the connection (a
body whose end is the close). A body is bytes, or a `Streamed` body generated as it is sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Streamed:
    """A body of `length` bytes sent chunk by chunk as `chunks()` yields them."""

    length: int
    chunks: Callable[[], Iterable[bytes]]


Body = bytes | Streamed
Answer = Callable[[str, Message], tuple[int, Body] | tuple[int, Body, str]]


class Loopback:
    """A threading HTTP server on 127.0.0.1 (a free port) answering every GET through `answer`."""

    def __init__(self, answer: Answer, *, announce_length: Callable[[], bool] = lambda: True) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                status, body, *kind = answer(self.path, self.headers)
                self.send_response(status)
                self.send_header("Content-Type", kind[0] if kind else "application/json")
                if announce_length():
                    self.send_header("Content-Length", str(body.length if isinstance(body, Streamed) else len(body)))
                else:
                    self.close_connection = True
                self.end_headers()
                try:
                    for chunk in body.chunks() if isinstance(body, Streamed) else (body,):
                        self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):  # the reader refused the body part way
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
