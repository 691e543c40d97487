"""A source's HTTP client: the shared client (`connectors.http.client`) with the dialect's auth, retry
policy, request budget and rate limit from the registry file. Secrets are resolved here, once."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from connectors import dialects
from connectors.erp.envelopes import check_json
from connectors.http.auth import Auth, LegacyXmlAuth, OAuthClientCredentials, SignedJsonAuth
from connectors.http.client import HttpClient
from connectors.http.errors import SourceError
from connectors.http.retry import RequestBudget, RetryPolicy
from connectors.registry import SourceConfig


def signed_json_auth(source: SourceConfig) -> Auth:
    return SignedJsonAuth(source.secret("app_id"), source.secret("sign_key"))


def legacy_xml_auth(source: SourceConfig) -> Auth:
    return LegacyXmlAuth(source.secret("account"), source.secret("password"))


def oauth_auth(source: SourceConfig) -> Auth:
    return OAuthClientCredentials(source.secret("client_id"), source.secret("client_secret"))


def retry_policy(source: SourceConfig, *, attempts: int = 6) -> RetryPolicy:
    """The registry file's retry options (`max_attempts`, `backoff_seconds`, `backoff_cap_seconds`)."""
    return RetryPolicy(
        max_attempts=int(source.option("max_attempts", attempts)),
        base_seconds=float(source.option("backoff_seconds", 0.2)),
        cap_seconds=float(source.option("backoff_cap_seconds", 20)),
    )


def build_client(source: SourceConfig) -> HttpClient:
    """The HTTP client of `source`, with the auth its dialect needs (secrets resolved here, once)."""
    try:
        auth: Auth = dialects.auth(source.dialect)(source)
    except dialects.UnknownDialect:
        raise SourceError(f"{source.name}: dialect {source.dialect} is not an ERP dialect") from None
    client = HttpClient(
        source.base_url,
        auth,
        timeout=float(source.option("timeout_seconds", 30)),
        retry=retry_policy(source),
        budget=RequestBudget(source.option("request_budget")),
        rate_limit=source.option("requests_per_second"),
        source=source.name,
    )
    if isinstance(auth, OAuthClientCredentials):

        def fetch_token(form: dict[str, str]) -> dict[str, Any]:
            reply = client.request(
                "POST",
                "/oauth/token",
                body=urlencode(form).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                check=check_json,
                authenticate=False,
            )
            return reply.payload

        auth.fetch = fetch_token
    return client
