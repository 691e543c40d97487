"""One vendor's HTTP endpoint: sends authenticated requests with retries, budget and rate limit.

`check` (per dialect) turns a received body into an error when the vendor's envelope says so, inside
the retry loop, so an envelope "rate limited" is retried exactly like an HTTP 429.

A body is read in memory up to `spill_body_bytes` (8 MiB by default); a larger one is streamed on to
a temp file (`connectors.bodies`: `$TOURLINK_HOME/tmp/tourlink-body-<pid>-…`), its first bytes kept
for error quotes, and `max_body_bytes` still refuses it at the bound. A check marked
`check.reads_raw` is handed the `RawBody` (it parses from the file); any other gets the bytes (the
file is then read back and deleted: only bodies a check reads from disk stay spilled). The
spilled file of an attempt that fails is deleted at once; the files of a read that fails, when the
client closes (`__exit__` with the error); the rest belong to the `Extract`, deleted by the flow.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from connectors import bodies
from connectors.bodies import HEAD_BYTES, RawBody
from connectors.http.auth import Auth, Request
from connectors.http.errors import (
    OVERLOADED_STATUSES,
    AuthError,
    BodyTooLarge,
    Overloaded,
    ParameterError,
    RateLimited,
    RetryableError,
    SourceError,
    Unauthorized,
)
from connectors.http.gate import InFlightGate
from connectors.http.retry import RateLimiter, RequestBudget, RetryPolicy

log = logging.getLogger(__name__)
# httpx logs every full URL at INFO; query strings carry day tokens and signatures, so keep it quiet.
logging.getLogger("httpx").setLevel(logging.WARNING)

Check = Callable[..., Any]  # (body, what) -> decoded payload, or raise; (body, what, charset) when `check.wants_charset`
_SECRET_PARAMS = {"sign", "token", "client_secret", "password", "access_token"}
MAX_REFRESHES = 3  # credential renewals per request (401 → new token → retry)
MAX_STALE_RETRIES = 64  # retries of a 401 on a token other requests in flight renewed or shared
MAX_BODY_BYTES = 64 * 1024 * 1024  # a page larger than this is refused (the source's `max_body_bytes`)
SPILL_BODY_BYTES = 8 * 1024 * 1024  # a page larger than this goes to a temp file (the source's `spill_body_bytes`)


@dataclass
class Response:
    status: int
    body: RawBody  # in memory, or spilled to a temp file (over `spill_body_bytes`)
    payload: Any  # what `check` returned (decoded JSON, or the body for XML)
    attempts: int


class HttpClient:
    def __init__(
        self,
        base_url: str,
        auth: Auth,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        budget: RequestBudget | None = None,
        rate_limit: float | None = None,
        source: str = "",
        max_body_bytes: int = MAX_BODY_BYTES,
        max_in_flight: int = 4,
        spill_body_bytes: int = SPILL_BODY_BYTES,
    ):
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.retry = retry or RetryPolicy()
        self.budget = budget or RequestBudget(None)
        self.limiter = RateLimiter(rate_limit)
        self.source = source
        self.requests = 0
        self.pushback = 0  # answers asking us to slow down: rate limited (429, throttle codes) or overloaded (503/504, busy)
        self.max_body_bytes = int(max_body_bytes)
        self.spill_body_bytes = int(spill_body_bytes)
        self._spilled: list[RawBody] = []  # every body this client spilled: deleted if the read fails
        bodies.sweep()  # what crashed processes left in the spill folder (once per process)
        self._count = threading.Lock()  # requests may be in flight from several threads (paging, dependents)
        # at most `max_in_flight` requests on the wire, however many threads ask (streams × pages ×
        # dependents); a freed slot goes to the earliest stream waiting (`connectors.http.gate`)
        self._in_flight = InFlightGate(max(1, max_in_flight))
        limits = httpx.Limits(max_connections=max(1, max_in_flight), max_keepalive_connections=max(1, max_in_flight))
        self._http = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, limits=limits)

    def close(self) -> None:
        self._http.close()

    @property
    def in_flight(self) -> tuple[int, int]:
        """(requests allowed in flight now, the configured `max_concurrency`): lower while the vendor pushes back."""
        return self._in_flight.limit, self._in_flight.ceiling

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self.close()
        if kind is not None:  # the read failed (or was stopped): nothing it spilled is kept
            self.discard_spilled()

    def discard_spilled(self) -> None:
        """Delete every temp file this client spilled a body to."""
        with self._count:
            spilled, self._spilled = self._spilled, []
        bodies.discard(spilled)

    def scrub(self, text: str) -> str:
        """`text` with every secret value the auth holds replaced: for logs and exception messages."""
        for value in self.auth.secret_values():
            if value:
                text = text.replace(value, "***")
        return text

    def _describe(self, request: Request) -> str:
        shown = {k: ("***" if k in _SECRET_PARAMS else v) for k, v in request.params.items()}
        query = "&".join(f"{k}={v}" for k, v in shown.items() if k not in {"appId", "timestamp", "nonce", "account"})
        return self.scrub(f"{self.source} {request.method} {request.path}" + (f"?{query}" if query else ""))

    def _send(self, request: Request, what: str) -> tuple[httpx.Response, RawBody]:
        """Send once and read the body, refusing one over `max_body_bytes` (announced or received);
        one over `spill_body_bytes` is streamed to a temp file."""
        with self._in_flight:
            return self._send_one(request, what)

    def _send_one(self, request: Request, what: str) -> tuple[httpx.Response, RawBody]:
        self.budget.spend(f"{request.method} {request.path}")
        self.limiter.wait()
        with self._count:
            self.requests += 1
        outgoing = self._http.build_request(
            request.method,
            self.base_url + request.path,
            params=request.params,
            headers=request.headers,
            content=request.body or None,
        )
        response = self._http.send(outgoing, stream=True)
        try:
            announced = response.headers.get("Content-Length", "")
            if announced.isdigit() and int(announced) > self.max_body_bytes:
                raise BodyTooLarge(f"{what}: body of {announced} bytes is over the limit of {self.max_body_bytes}")
            return response, self._receive(response, what)
        finally:
            response.close()

    def _receive(self, response: httpx.Response, what: str) -> RawBody:
        """The body in memory, or past `spill_body_bytes` in a temp file with its head kept; a body
        over `max_body_bytes` is refused as it arrives and its file deleted."""
        chunks: list[bytes] = []
        size, path, sink, head = 0, None, None, b""
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise BodyTooLarge(f"{what}: body over the limit of {self.max_body_bytes} bytes")
                if sink is not None:
                    sink.write(chunk)
                    continue
                chunks.append(chunk)
                if size > self.spill_body_bytes:
                    path, sink = bodies.spill_file()
                    for kept in chunks:
                        sink.write(kept)
                    head = b"".join(chunks)[:HEAD_BYTES]
                    chunks = []
            if sink is None:
                return RawBody(body=b"".join(chunks))
            sink.close()
            spilled = RawBody(path=path, start=head)
            with self._count:
                self._spilled.append(spilled)
            return spilled
        except BaseException:
            if sink is not None:
                sink.close()
                path.unlink(missing_ok=True)  # type: ignore[union-attr]
            raise

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        check: Check,
        authenticate: bool = True,
    ) -> Response:
        """Send until a body passes `check`; auth and parameter errors are raised at once."""
        refreshed = 0
        stale = 0
        attempt = 0
        while True:
            request = Request(method, path, {k: str(v) for k, v in (params or {}).items() if v is not None}, dict(headers or {}), body)
            what = ""
            epoch = self._in_flight.epoch
            try:
                if authenticate:
                    request = self.auth.apply(request)
                what = self._describe(request)
                try:
                    response, raw = self._send(request, what)
                except httpx.TimeoutException as exc:
                    raise RetryableError(f"{what}: timed out ({type(exc).__name__})") from None
                except (httpx.TransportError, httpx.DecodingError) as exc:
                    raise RetryableError(f"{what}: connection failed ({type(exc).__name__})") from None
                try:
                    if raw.spilled and not getattr(check, "reads_raw", False):  # a check that wants bytes: no file kept
                        spilled, raw = raw, RawBody(body=raw.read_bytes())
                        self._forget(spilled)
                    answer = Response(response.status_code, raw, self._judge(response, raw, what, check), attempt + 1)
                    self._in_flight.succeeded()
                    return answer
                except BaseException:  # this attempt's body is not kept: a spilled one goes now
                    self._forget(raw)
                    raise
            except Unauthorized as exc:
                # A 401 on a request sent without our credentials (the token endpoint itself) means
                # the client credentials are rejected: refreshing would re-enter the token fetch. With
                # requests in flight, a token renewed by another thread may be spent before this retry:
                # a few renewals are allowed, not an endless loop. A 401 on a token other requests renewed
                # or shared says nothing about our credentials: retried apart, bounded (`Auth.stale`).
                if authenticate and stale < MAX_STALE_RETRIES and self.auth.stale(request):
                    stale += 1
                    continue
                if refreshed >= MAX_REFRESHES or not authenticate or not self.auth.refresh(request):
                    raise AuthError(self.scrub(str(exc)) + ": credentials rejected after refresh") from None
                refreshed += 1
                log.info("%s: refreshing credentials", what)
                continue
            except RetryableError as exc:
                if isinstance(exc, RateLimited | Overloaded):
                    with self._count:
                        self.pushback += 1
                    if (cut := self._in_flight.throttled(epoch)) is not None:
                        why = "rate limited by the vendor" if isinstance(exc, RateLimited) else "the vendor is overloaded"
                        log.warning("%s: %s; at most %d of %d requests in flight now",
                                    self.source, why, cut, self._in_flight.ceiling)  # fmt: skip
                attempt += 1
                if attempt >= self.retry.max_attempts:
                    raise SourceError(f"{self.scrub(str(exc))}; gave up after {attempt} attempts") from None
                pause = self.retry.delay(attempt - 1, exc.retry_after)
                log.warning("%s; retry %d in %.2fs", self.scrub(str(exc)), attempt, pause)
                self.retry.sleep(pause)


    def _judge(self, response: httpx.Response, raw: RawBody, what: str, check: Check) -> Any:
        """The status's verdict, then the check's payload (a verdict quoting the body is scrubbed)."""
        status = response.status_code
        if status == 401:
            raise Unauthorized(f"{what}: HTTP 401 (token expired or rejected)")
        if status == 429:
            raise RateLimited(f"{what}: HTTP 429 rate limited", _retry_after(response))
        if status in OVERLOADED_STATUSES:
            raise Overloaded(f"{what}: HTTP {status} overloaded", _retry_after(response))
        if status >= 500:
            raise RetryableError(f"{what}: HTTP {status}", _retry_after(response))
        if status == 403:
            raise AuthError(f"{what}: HTTP 403 forbidden: check the source's credentials")
        if status >= 400:
            raise ParameterError(f"{what}: HTTP {status}: {self.scrub(raw.head(200).decode('utf-8', 'replace'))}")
        body: Any = raw if getattr(check, "reads_raw", False) else raw.read_bytes()  # in memory by then
        try:
            charset = response.charset_encoding or ""
            return check(body, what, charset) if getattr(check, "wants_charset", False) else check(body, what)
        except RetryableError:
            raise
        except SourceError as exc:  # a verdict on the body may quote it: never a secret
            exc.args = (self.scrub(str(exc)),)
            raise

    def _forget(self, raw: RawBody) -> None:
        if raw.spilled:
            with self._count:
                self._spilled = [b for b in self._spilled if b is not raw]
            raw.discard()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
