"""A source's HTTP client: the shared client (`connectors.http.client`) with the auth its declaration
names, the retry policy, request budget, rate limit, connection pool and body limit of its registry
file (over its dialect's preset). Secrets are resolved here, once."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from connectors import dialects
from connectors.declarative.spec import DEFAULT_CONCURRENCY, spec_of
from connectors.erp.envelopes import check_json
from connectors.http.auth import Auth, OAuthClientCredentials
from connectors.http.client import MAX_BODY_BYTES, SPILL_BODY_BYTES, HttpClient
from connectors.http.errors import SourceError
from connectors.http.retry import RequestBudget, RetryPolicy
from connectors.registry import SourceConfig


def retry_policy(source: SourceConfig, *, attempts: int = 6) -> RetryPolicy:
    """The registry file's retry options (`max_attempts`, `backoff_seconds`, `backoff_cap_seconds`)."""
    return RetryPolicy(
        max_attempts=int(source.option("max_attempts", attempts)),
        base_seconds=float(source.option("backoff_seconds", 0.2)),
        cap_seconds=float(source.option("backoff_cap_seconds", 20)),
    )


def build_client(source: SourceConfig) -> HttpClient:
    """The HTTP client of `source`, with the auth its dialect needs (secrets resolved here, once).

    `requests_per_second` (the vendor's limit, shared by every request in flight) and
    `max_concurrency` come from the registry file, else the dialect's preset."""
    try:
        auth: Auth = dialects.auth(source.dialect)(source)
    except dialects.UnknownDialect:
        raise SourceError(f"{source.name}: dialect {source.dialect} is not an ERP dialect") from None
    spec = spec_of(source)
    concurrency = max(1, int(spec.get("max_concurrency", DEFAULT_CONCURRENCY)))
    client = HttpClient(
        source.base_url,
        auth,
        timeout=float(source.option("timeout_seconds", 30)),
        retry=retry_policy(source),
        budget=RequestBudget(source.option("request_budget")),
        rate_limit=spec.get("requests_per_second"),
        source=source.name,
        max_body_bytes=int(spec.get("max_body_bytes", MAX_BODY_BYTES)),
        spill_body_bytes=int(spec.get("spill_body_bytes", SPILL_BODY_BYTES)),
        max_in_flight=concurrency,
    )
    if isinstance(auth, OAuthClientCredentials):
        token_path = str(spec.part("auth_options").get("token_path", "/oauth/token"))

        def fetch_token(form: dict[str, str]) -> dict[str, Any]:
            reply = client.request(
                "POST",
                token_path,
                body=urlencode(form).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                check=check_json,
                authenticate=False,
            )
            return reply.payload

        auth.fetch = fetch_token
    return client
