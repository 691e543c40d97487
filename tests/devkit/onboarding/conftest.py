"""The second signed-json vendor (tests/devkit/onboarding/signed_json_vendor.py) and its credentials."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.devkit.onboarding.signed_json_vendor import QiantangVendor


@pytest.fixture
def vendor(monkeypatch) -> Iterator[QiantangVendor]:
    """The vendor on a free loopback port, its credentials exported as QIANTANG_APP_ID / _SIGN_KEY."""
    with QiantangVendor() as running:
        monkeypatch.setenv("QIANTANG_APP_ID", running.credentials["app_id"])
        monkeypatch.setenv("QIANTANG_SIGN_KEY", running.credentials["sign_key"])
        yield running


CREDENTIALS = {"app_id": "env:QIANTANG_APP_ID", "sign_key": "env:QIANTANG_SIGN_KEY"}


def sample_urls(vendor: QiantangVendor) -> list[str]:
    return [f"{vendor.url}/openapi/v1/{stream}?pageSize=100" for stream in ("teams", "contracts")]
