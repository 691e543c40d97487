"""Vendor emulators on loopback: one real HTTP server per ERP dialect, seeded data, fault switches.

`SANDBOXES` maps a dialect to its server class; `start_for(source)` starts the sandbox a registry
file points at (on its port) and exports the sandbox's credentials into the environment variables the
registry file references, so the demo and `tourlink sandbox up` need no secrets on disk. `sandboxed`
is the same on a free port for one block, the source pointed at it (the kit's checks and the tests).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from connectors.dialects import DIALECTS, resolve
from connectors.registry import SourceConfig
from devkit.sandbox.legacy_xml import LegacyXmlSandbox
from devkit.sandbox.oauth_cursor import OAuthCursorSandbox
from devkit.sandbox.server import Sandbox
from devkit.sandbox.signed_json import SignedJsonSandbox

# Which emulator serves which dialect is a column of the one dialect table (`connectors.dialects`).
SANDBOXES: dict[str, type[Sandbox]] = {name: resolve(spec.emulator) for name, spec in DIALECTS.items()}


# A source's options that make a sync against an emulator quick: small pages (pagination is
# exercised), no self-imposed rate limit, retries in milliseconds (tests and checks never wait on them).
QUICK_OPTIONS: dict[str, Any] = {
    "page_size": 7,
    "requests_per_second": None,
    "backoff_seconds": 0.01,
    "backoff_cap_seconds": 0.05,
}


@dataclass
class SandboxSource:
    """A running emulator and the registry source pointed at it."""

    sandbox: Sandbox
    source: SourceConfig


def start_for(
    source: SourceConfig, *, port: int | None = None, export_env: bool = True, quick: bool = False, **kwargs: Any
) -> Sandbox:
    """Start the sandbox of `source` (port from its base_url unless given). With `export_env`, the
    sandbox's credentials replace whatever the env vars held: a new sandbox has new keys. `quick`: a
    smaller data set and no rate limit to wait on (tests, `connector check`); `kwargs` go to the emulator.
    The one place an emulator is started for a source: the demo, `sandbox up`, the kit and the tests."""
    if port is None:
        port = urlsplit(source.base_url).port or 0
    emulator = SANDBOXES[source.dialect]
    if quick:
        kwargs = {**_quick_emulator(source.dialect, emulator), **kwargs}
    sandbox = emulator(region=source.region or "110000", port=port, **kwargs).start()
    if export_env:
        os.environ.update(_credential_env(source, sandbox))
    return sandbox


def _quick_emulator(dialect: str, emulator: type) -> dict[str, Any]:
    options: dict[str, Any] = {"groups": 30} if issubclass(emulator, Sandbox) else {}
    if dialect == "oauth-cursor":
        options["rate_limit"] = 1000.0
    return options


@contextmanager
def sandboxed(
    source: SourceConfig, *, emulator: dict[str, Any] | None = None, base_options: dict[str, Any] | None = None,
    **options: Any,
) -> Iterator[SandboxSource]:
    """A fresh, quick sandbox of `source`'s dialect on a free port, its credentials in the env vars the
    registry file references (restored afterwards), and the source pointed at it with
    `base_options` (default `QUICK_OPTIONS`) and `options` over its own. Stopped on exit."""
    box = start_for(source, port=0, export_env=False, quick=True, **(emulator or {}))
    opts = {**source.options, **(QUICK_OPTIONS if base_options is None else base_options), **options}
    try:
        with credentials_in_env(source, box):
            yield SandboxSource(box, dataclasses.replace(source, base_url=box.url, options=opts))
    finally:
        box.stop()


def _credential_env(source: SourceConfig, sandbox: Sandbox) -> dict[str, str]:
    """{env var named by the registry file: the sandbox's value} for every credential it serves."""
    return {
        ref.removeprefix("env:"): sandbox.credentials[role]
        for role, ref in source.credentials.items()
        if ref.startswith("env:") and role in sandbox.credentials
    }


@contextmanager
def credentials_in_env(source: SourceConfig, sandbox: Sandbox) -> Iterator[None]:
    """The sandbox's credentials in the env vars the registry file names, for this block only."""
    with environment(_credential_env(source, sandbox)):
        yield


@contextmanager
def environment(changes: dict[str, str | None]) -> Iterator[None]:
    """Environment variables set (None: removed) for this block only, then restored as they were."""
    saved = {name: os.environ.get(name) for name in changes}
    try:
        for name, value in changes.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def sync_sandboxes(dialects: Collection[str], warehouse=None) -> list:  # noqa: ANN001 - Warehouse imported lazily
    """Each sandbox source of the registry with one of `dialects`, synced once without Airflow: its
    emulator started on a free port, the source pointed at it with the emulator's own credentials
    (never left behind in the environment), stopped afterwards. One `SyncResult` per source."""
    from connectors.registry import load_sources
    from tourlink.flow import sync

    results = []
    for source in load_sources().values():
        if source.dialect not in dialects or "sandbox" not in source.tags:
            continue
        with sandboxed(source, base_options={"requests_per_second": None}) as box:
            results.append(sync(box.source, warehouse=warehouse))
    return results


__all__ = [
    "QUICK_OPTIONS",
    "SANDBOXES",
    "Sandbox",
    "SandboxSource",
    "SignedJsonSandbox",
    "OAuthCursorSandbox",
    "LegacyXmlSandbox",
    "start_for",
    "sandboxed",
    "credentials_in_env",
    "environment",
    "sync_sandboxes",
]
