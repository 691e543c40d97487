"""What a vendor answered, judged by its declaration: a body decoded, and its envelope's verdict.

Vendors answer HTTP 200 with an error inside (`{"code": 40001}`, `<Code>9001</Code>`). The registry
file (or its dialect's preset) declares where the code is and what each value means:

    error: {path: code, ok: [0], retry: [50001], throttle: [42900], auth: [40001, 40003], message: msg}

`ok` passes, `retry` is retried like an HTTP 5xx, `throttle` (the vendor's "too many requests") is
retried like an HTTP 429 and `busy` (系统繁忙, its service overloaded) like an HTTP 503, both with
fewer requests in flight (`connectors.http.gate`), `auth` fails at once as rejected credentials, any
other code fails at once as a vendor error; `error: jsonapi` reads a JSON:API `errors` document.
The check runs inside the HTTP client's retry loop (`HttpClient.request(check=…)`). An HTML page
where JSON or XML was expected (a login page, a proxy's notice, a wrong `base_url`) fails at once,
naming the page's title.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from connectors.bodies import RawBody, as_raw
from connectors.declarative.records import XmlPage, dig, snippet, xml_page
from connectors.declarative.spec import Spec
from connectors.http.decoding import decode_json
from connectors.http.errors import (
    OVERLOADED_STATUSES,
    AuthError,
    Overloaded,
    ParameterError,
    RateLimited,
    RetryableError,
)

Check = Callable[[bytes | RawBody, str], Any]
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def refuse_html(body: bytes, what: str) -> None:
    start = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html")) or (b"<html" in start and not start.startswith(b"<?xml")):
        title = _TITLE.search(body[:8192])
        named = " ".join(title.group(1).decode("utf-8", "replace").split())[:80] if title else "no title"
        raise ParameterError(
            f"{what}: the vendor answered an HTML page ({named!r}) instead of data: a login page, a proxy "
            "or a wrong base_url"
        )


def _codes(values: Any) -> set[str]:
    return {str(v) for v in (values if isinstance(values, list | tuple | set) else [values]) if v is not None}


def raise_for_envelope(payload: Any, rule: dict[str, Any], what: str) -> None:
    """Raise what the declared envelope code means (nothing when it is one of `ok`)."""
    code = dig(payload, rule.get("path"))
    if code is not None and str(code) in _codes(rule.get("ok", [])):
        return
    message = dig(payload, rule.get("message")) if rule.get("message") else None
    said = f"code {code} {message or ''}".strip() if code is not None else f"no `{rule.get('path')}` in the envelope"
    if code is not None and str(code) in _codes(rule.get("throttle", [])):
        raise RateLimited(f"{what}: vendor {said} (rate limited)")
    if code is not None and str(code) in _codes(rule.get("busy", [])):
        raise Overloaded(f"{what}: vendor {said} (overloaded)")
    if code is not None and str(code) in _codes(rule.get("retry", [])):
        raise RetryableError(f"{what}: vendor {said}")
    if code is not None and str(code) in _codes(rule.get("auth", [])):
        raise AuthError(f"{what}: vendor rejected the credentials or the request signature ({said}); check the source's credentials and the clock")
    raise ParameterError(f"{what}: vendor error {said}")


def raise_for_jsonapi(payload: Any, what: str) -> None:
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not errors:
        return
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    status = str(first.get("status") or "")
    text = f"{what}: vendor error {status} {first.get('title') or ''} {first.get('detail') or ''}".strip()
    if status == "429":
        raise RateLimited(text)
    if status.isdigit() and int(status) in OVERLOADED_STATUSES:
        raise Overloaded(text)
    if status.startswith("5"):
        raise RetryableError(text)
    if status in {"401", "403"}:
        raise AuthError(text)
    raise ParameterError(text)


def checker(spec: Spec) -> Check:
    """The body check of a declared vendor: decoded JSON, or an `XmlPage`, once the envelope says ok.
    It takes bytes or a `RawBody` (`reads_raw`): a spilled body is parsed from its file."""
    rule = spec.values.get("error")
    xml = spec.get("format") == "xml"
    declared = spec.part("xml")

    def check(body: bytes | RawBody, what: str, charset: str = "") -> Any:
        raw = as_raw(body)
        refuse_html(raw.head(8192), what)
        if xml:
            page: XmlPage = xml_page(raw, what, declared, charset)
            if isinstance(rule, dict):
                raise_for_envelope(page.head, rule, what)
            return page
        if raw.head(64).lstrip()[:1] == b"<":
            raise ParameterError(f"{what}: the vendor answered markup instead of JSON; it begins: {snippet(raw)}")
        payload = decode_json(raw, what)
        if rule == "jsonapi":
            raise_for_jsonapi(payload, what)
        elif isinstance(rule, dict):
            raise_for_envelope(payload, rule, what)
        return payload

    check.wants_charset = True  # type: ignore[attr-defined]  # the client passes the Content-Type charset
    check.reads_raw = True  # type: ignore[attr-defined]  # and the RawBody, so a spilled body stays on disk
    return check
