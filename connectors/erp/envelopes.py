"""The vendors' response envelopes as body checks, from their presets (`connectors/declarative/presets`).

Each check runs inside the HTTP client's retry loop (`HttpClient.request(check=…)`), so an envelope's
"rate limited" is retried exactly like an HTTP 429, and a rejected signature fails at once. What
each code means is written once, in the preset's `error:` line.
"""

from __future__ import annotations

from typing import Any

from connectors.declarative.answers import checker, refuse_html
from connectors.declarative.spec import spec_of
from connectors.http.decoding import decode_json
from connectors.registry import SourceConfig


def _preset_check(dialect: str):  # noqa: ANN202 - a Check
    return checker(spec_of(SourceConfig(name=dialect, dialect=dialect)))


check_signed_json = _preset_check("signed-json")  # the payload once `code` is 0
check_legacy_xml = _preset_check("legacy-xml")  # an XmlPage (head, records) once `Code` is 0000


def check_json(body: bytes, what: str) -> Any:
    """Plain JSON (the OAuth token endpoint); an HTML page is refused."""
    refuse_html(body, what)
    return decode_json(body, what)
