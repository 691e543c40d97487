"""The vendors' response envelopes: a body that parses but says "error" becomes the right exception.

Each check runs inside the HTTP client's retry loop (`HttpClient.request(check=…)`), so an envelope's
"rate limited" is retried exactly like an HTTP 429, and a rejected signature fails at once.
"""

from __future__ import annotations

from typing import Any

from connectors.http.decoding import decode_json, iter_xml
from connectors.http.errors import AuthError, ParameterError, RetryableError


def check_signed_json(body: bytes, what: str) -> Any:
    payload = decode_json(body, what)
    code = payload.get("code") if isinstance(payload, dict) else None
    if code == 0:
        return payload
    msg = payload.get("msg") if isinstance(payload, dict) else None
    if code in (42900, 50001):
        raise RetryableError(f"{what}: vendor code {code} {msg}")
    if code in (40001, 40002, 40003):
        raise AuthError(
            f"{what}: vendor rejected the request signature (code {code} {msg}); check appId/signKey and the clock"
        )
    raise ParameterError(f"{what}: vendor error code {code} {msg}")


def check_json(body: bytes, what: str) -> Any:
    return decode_json(body, what)


LEGACY_LISTS = frozenset({"Guests", "Guides"})


def check_legacy_xml(body: bytes, what: str) -> Any:
    """Parses the whole page (streamed), so a truncated body is retried like any other failure."""
    head: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    for kind, item in iter_xml(body, "Team", list_tags=LEGACY_LISTS, what=what):
        if kind == "head":
            head = item
            code = (head.get("Code") or "").strip()
            if code == "9999":
                raise RetryableError(f"{what}: vendor code 9999 {head.get('Msg')}")
            if code == "9001":
                raise AuthError(f"{what}: vendor code 9001 {head.get('Msg')}: check account/password")
            if code != "0000":
                raise ParameterError(f"{what}: vendor code {code} {head.get('Msg')}")
        else:
            records.append(item)
    if not head:
        raise RetryableError(f"{what}: response has no Head")
    return head, records
