"""A URL sample fetched the way the dialect's reader asks: signed with the source's own credentials.

A signing vendor (SOURCES.md §1: `appId`, `timestamp`, `nonce`, `sign` on every request) answers an
unsigned sample request with an error envelope (`40001`), so `connector new` signs it with the
dialect's auth from `connectors.dialects` (the very code a sync uses). Credentials are given as
references (`app_id=env:ACME_APP_ID`), resolved here, never written, echoed or put in a message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

_REF = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|airflow:[A-Za-z0-9_.\-]+)$")


class CredentialError(ValueError):
    """A `--credential` is not a ROLE=reference the dialect knows (the message never holds a value)."""


def credential_refs(dialect: str, given: dict[str, str], roles: tuple[str, ...]) -> dict[str, str]:
    """The `--credential` references, checked: known roles, `env:VAR` / `airflow:conn` only."""
    out = {}
    for role, ref in given.items():
        if role not in roles:
            raise CredentialError(f"--credential {role}: dialect {dialect} has the roles {', '.join(roles)}")
        if not _REF.match(ref or ""):
            raise CredentialError(f"--credential {role}: give a reference (env:VAR), never the secret itself")
        out[role] = ref
    return out


def envelope_error(body: bytes) -> str | None:
    """`code N: msg` when a JSON body is an error envelope (HTTP 200 with a non-zero `code`)."""
    try:
        payload: Any = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if isinstance(payload, dict) and "code" in payload and str(payload["code"]) not in ("0", "200", "OK", "ok"):
        return f"code {payload['code']}: {payload.get('msg') or payload.get('message') or ''}".strip()
    return None


@dataclass
class Signer:
    """The dialect's auth for one source, applied to sample requests."""

    auth: Any

    @classmethod
    def for_source(cls, name: str, dialect: str, url: str, credentials: dict[str, str]) -> Signer:
        from connectors import dialects
        from connectors.registry import SecretError, SourceConfig

        parts = urlsplit(url)
        source = SourceConfig(name=name, dialect=dialect, base_url=f"{parts.scheme}://{parts.netloc}", credentials=credentials)
        try:
            return cls(dialects.auth(dialect)(source))
        except SecretError as exc:
            raise CredentialError(str(exc)) from None
        except dialects.UnknownDialect:
            raise CredentialError(f"dialect {dialect} signs no HTTP requests; drop --credential") from None

    def sign(self, path: str, params: dict[str, str], headers: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        from connectors.http.auth import Request

        signed = self.auth.apply(Request("GET", path, dict(params), dict(headers)))
        return signed.params, signed.headers
