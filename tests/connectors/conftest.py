"""Sandbox fixtures: a real vendor server per dialect on loopback (port 0), and its registry entry
pointing at it with the credentials in environment variables (never in the registry file)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from connectors.registry import SourceConfig, load_sources
from connectors.sandbox import SANDBOXES, Sandbox


@dataclasses.dataclass
class SandboxSource:
    sandbox: Sandbox
    source: SourceConfig


def _sandbox_source(name: str, monkeypatch, **options) -> Iterator[SandboxSource]:
    registered = load_sources()[name]
    extra = {"rate_limit": 1000.0} if registered.dialect == "oauth-cursor" else {}
    sandbox = SANDBOXES[registered.dialect](region=registered.region, groups=30, **extra).start()
    for role, ref in registered.credentials.items():
        monkeypatch.setenv(ref.removeprefix("env:"), sandbox.credentials[role])
    opts = {**registered.options, "page_size": 7, "requests_per_second": None, "backoff_seconds": 0.01, "backoff_cap_seconds": 0.05, **options}
    try:
        yield SandboxSource(sandbox, dataclasses.replace(registered, base_url=sandbox.url, options=opts))
    finally:
        sandbox.stop()


@pytest.fixture
def sandbox_signed_json(monkeypatch) -> Iterator[SandboxSource]:
    yield from _sandbox_source("sandbox_signed_json", monkeypatch)


@pytest.fixture
def sandbox_oauth_cursor(monkeypatch) -> Iterator[SandboxSource]:
    yield from _sandbox_source("sandbox_oauth_cursor", monkeypatch)


@pytest.fixture
def sandbox_legacy_xml(monkeypatch) -> Iterator[SandboxSource]:
    yield from _sandbox_source("sandbox_legacy_xml", monkeypatch)


@pytest.fixture(params=["sandbox_signed_json", "sandbox_oauth_cursor", "sandbox_legacy_xml"])
def any_sandbox(request, monkeypatch) -> Iterator[SandboxSource]:
    yield from _sandbox_source(request.param, monkeypatch)
