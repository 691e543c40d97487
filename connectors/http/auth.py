"""Request authentication per vendor dialect: each `Auth` adds what its vendor requires to a request.

An auth never logs and never puts its secret into an exception; `secret_values()` lets the client
scrub anything it is about to log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_NONCE_ALPHABET = string.ascii_letters + string.digits


@dataclass
class Request:
    """What the client is about to send; auths add params and headers."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class Auth:
    """No authentication."""

    def apply(self, request: Request) -> Request:
        return request

    def refresh(self, failed: Request | None = None) -> bool:
        """Called after a 401 on `failed`; True when new credentials may be obtained and the request retried."""
        return False

    def stale(self, failed: Request) -> bool:
        """True when the 401 on `failed` says nothing of the credentials themselves (another request
        in flight renewed or spent the token it carried): retry without counting a renewal."""
        return False

    def secret_values(self) -> tuple[str, ...]:
        return ()


def signed_json_signature(sign_key: str, params: dict[str, str], body: bytes = b"") -> str:
    """SOURCES §1: upper-case hex HMAC-SHA256 over sorted `k=v&…` + `&body=` + sha256hex(body)."""
    canonical = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign")
    canonical += "&body=" + hashlib.sha256(body).hexdigest()
    return hmac.new(sign_key.encode(), canonical.encode(), hashlib.sha256).hexdigest().upper()


class SignedJsonAuth(Auth):
    """`appId`, `timestamp` (epoch ms), a fresh 16-character `nonce` and `sign` on every attempt."""

    def __init__(self, app_id: str, sign_key: str, clock: Callable[[], float] = time.time):
        self._app_id = app_id
        self._key = sign_key
        self._clock = clock

    def apply(self, request: Request) -> Request:
        params = {k: v for k, v in request.params.items() if k not in {"appId", "timestamp", "nonce", "sign"}}
        params["appId"] = self._app_id
        params["timestamp"] = str(int(self._clock() * 1000))
        params["nonce"] = "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(16))
        params["sign"] = signed_json_signature(self._key, params, request.body)
        request.params = params
        return request

    def secret_values(self) -> tuple[str, ...]:
        return (self._key,)


def legacy_xml_token(account: str, password: str, now: datetime | None = None) -> str:
    """SOURCES §3: lower-case hex MD5 of account + password + yyyyMMdd (today in Asia/Shanghai)."""
    day = (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI).strftime("%Y%m%d")
    return hashlib.md5((account + password + day).encode()).hexdigest()


class LegacyXmlAuth(Auth):
    """`account` and the day token; recomputed per request so a sync crossing midnight stays valid."""

    def __init__(self, account: str, password: str, clock: Callable[[], datetime] | None = None):
        self._account = account
        self._password = password
        self._clock = clock or (lambda: datetime.now(SHANGHAI))

    def apply(self, request: Request) -> Request:
        request.params["account"] = self._account
        request.params["token"] = legacy_xml_token(self._account, self._password, self._clock())
        return request

    def secret_values(self) -> tuple[str, ...]:
        return (self._password, legacy_xml_token(self._account, self._password, self._clock()))


class BearerAuth(Auth):
    def __init__(self, token: str):
        self._token = token

    def apply(self, request: Request) -> Request:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def secret_values(self) -> tuple[str, ...]:
        return (self._token,)


class BasicAuth(Auth):
    def __init__(self, username: str, password: str):
        self._value = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._password = password

    def apply(self, request: Request) -> Request:
        request.headers["Authorization"] = f"Basic {self._value}"
        return request

    def secret_values(self) -> tuple[str, ...]:
        return (self._password, self._value)


class OAuthClientCredentials(Auth):
    """OAuth2 client credentials: fetch a token, renew it shortly before `expires_in`, and on 401.

    `fetch(form) -> dict` posts the token request (the client provides it, so the token call gets the
    same retries and budget as every other request).
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        fetch: Callable[[dict[str, str]], dict[str, Any]] | None = None,
        *,
        early_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._client_id = client_id
        self._secret = client_secret
        self.fetch = fetch
        self._early = early_seconds
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self._applied = 0  # requests the current token was put on
        self.tokens_issued = 0

    def _renew(self) -> None:
        if self.fetch is None:
            raise RuntimeError("OAuthClientCredentials.fetch is not set")
        form = {"grant_type": "client_credentials", "client_id": self._client_id, "client_secret": self._secret}
        reply = self.fetch(form)
        token = reply.get("access_token")
        if not token:
            from connectors.http.errors import AuthError

            raise AuthError("token endpoint returned no access_token")
        self._token = str(token)
        lifetime = float(reply.get("expires_in") or 600)
        self._expires_at = self._clock() + max(lifetime - self._early, lifetime / 2)
        self._applied = 0
        self.tokens_issued += 1

    def apply(self, request: Request) -> Request:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                self._renew()
            self._applied += 1
            request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def stale(self, failed: Request) -> bool:
        # Renewed since (or being renewed): retry with the current one. Still current but put on other
        # requests too: one of them may have spent it, so forget it (the retry renews) without counting.
        # Only a token this request alone carried, rejected, counts against the client's renewals.
        with self._lock:
            sent = failed.headers.get("Authorization")
            if sent is None:
                return False
            if self._token is None or sent != f"Bearer {self._token}":
                return True
            if self._applied > 1:
                self._token = None
                return True
            return False

    def refresh(self, failed: Request | None = None) -> bool:
        """Forget the token, unless another request in flight already renewed the one `failed` carried."""
        with self._lock:
            sent = failed.headers.get("Authorization") if failed is not None else None
            if sent is None or sent == f"Bearer {self._token}":
                self._token = None
        return True

    def secret_values(self) -> tuple[str, ...]:
        return tuple(v for v in (self._secret, self._token) if v)
