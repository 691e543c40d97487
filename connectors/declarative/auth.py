"""Auth plug-ins by name: what a registry file (or its dialect's preset) writes as `auth:`.

Each plug-in builds a `connectors.http.auth.Auth` from the source's credentials (role names default
as below; `auth_options` may rename them). A new signing scheme is one small function added here.

    hmac-query                 SOURCES §1: appId, timestamp, nonce and an HMAC-SHA256 `sign` in the query
    gateway-hmac               SOURCES §4: X-Gateway-Key/-Timestamp/-Signature headers
    oauth2-client-credentials  a bearer token from `token_path` (client id + secret), renewed on expiry and 401
    md5-day-token              SOURCES §3: account + md5(account + password + yyyyMMdd) in the query
    bearer, basic, none        a static token, username + password, nothing
    auto                       bearer with a `token` credential, basic with `username`, else none
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from connectors.http.auth import Auth, BasicAuth, BearerAuth, LegacyXmlAuth, OAuthClientCredentials, SignedJsonAuth
from connectors.http.errors import ParameterError
from connectors.registry import SourceConfig

Plugin = Callable[[SourceConfig, dict[str, Any]], Auth]


def _secret(source: SourceConfig, options: dict[str, Any], role: str) -> str:
    return source.secret(str(options.get(role, role)))


def hmac_query(source: SourceConfig, options: dict[str, Any]) -> Auth:
    return SignedJsonAuth(_secret(source, options, "app_id"), _secret(source, options, "sign_key"))


def gateway_hmac(source: SourceConfig, options: dict[str, Any]) -> Auth:
    from connectors.gov_portal import GatewayAuth

    prefix = urlsplit(source.base_url).path.rstrip("/")
    return GatewayAuth(_secret(source, options, "gateway_key"), _secret(source, options, "gateway_secret"), prefix)


def oauth2_client_credentials(source: SourceConfig, options: dict[str, Any]) -> Auth:
    """The token request itself is wired by the client builder (same retries and budget)."""
    return OAuthClientCredentials(_secret(source, options, "client_id"), _secret(source, options, "client_secret"))


def md5_day_token(source: SourceConfig, options: dict[str, Any]) -> Auth:
    return LegacyXmlAuth(_secret(source, options, "account"), _secret(source, options, "password"))


def bearer(source: SourceConfig, options: dict[str, Any]) -> Auth:
    return BearerAuth(_secret(source, options, "token"))


def basic(source: SourceConfig, options: dict[str, Any]) -> Auth:
    return BasicAuth(_secret(source, options, "username"), _secret(source, options, "password"))


def auto(source: SourceConfig, options: dict[str, Any]) -> Auth:
    if str(options.get("token", "token")) in source.credentials:
        return bearer(source, options)
    if str(options.get("username", "username")) in source.credentials:
        return basic(source, options)
    return Auth()


PLUGINS: dict[str, Plugin] = {
    "hmac-query": hmac_query,
    "gateway-hmac": gateway_hmac,
    "oauth2-client-credentials": oauth2_client_credentials,
    "md5-day-token": md5_day_token,
    "bearer": bearer,
    "basic": basic,
    "none": lambda source, options: Auth(),
    "auto": auto,
}


def build_auth(source: SourceConfig, name: str, options: dict[str, Any] | None = None) -> Auth:
    """The `Auth` plug-in `name` configured from `source`'s credentials."""
    try:
        plugin = PLUGINS[name]
    except KeyError:
        raise ParameterError(f"{source.name}: unknown auth {name!r}; known: {', '.join(sorted(PLUGINS))}") from None
    return plugin(source, dict(options or {}))
