"""Vendor emulators on loopback: one real HTTP server per ERP dialect, seeded data, fault switches.

`SANDBOXES` maps a dialect to its server class; `start_for(source)` starts the sandbox a registry
file points at (on its port) and exports the sandbox's credentials into the environment variables the
registry file references, so the demo and `tourlink sandbox up` need no secrets on disk.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from connectors.registry import SourceConfig
from connectors.sandbox.gov_portal_server import PortalEmulator
from connectors.sandbox.jsonapi_server import JsonApiSandbox
from connectors.sandbox.legacy_xml import LegacyXmlSandbox
from connectors.sandbox.oauth_cursor import OAuthCursorSandbox
from connectors.sandbox.server import Sandbox
from connectors.sandbox.sftp_server import SftpSandbox
from connectors.sandbox.signed_json import SignedJsonSandbox

SANDBOXES: dict[str, type[Sandbox]] = {
    "signed-json": SignedJsonSandbox,
    "oauth-cursor": OAuthCursorSandbox,
    "legacy-xml": LegacyXmlSandbox,
    "gov-portal": PortalEmulator,  # type: ignore[dict-item]  (same start/credentials protocol)
    "sftp-drop": SftpSandbox,  # type: ignore[dict-item]
    "rest": JsonApiSandbox,  # the JSON:API vendor of docs/onboarding.md
}


def start_for(source: SourceConfig, *, port: int | None = None, export_env: bool = True, **kwargs) -> Sandbox:
    """Start the sandbox of `source` (port from its base_url unless given). With `export_env`, the
    sandbox's credentials replace whatever the env vars held: a new sandbox has new keys."""
    if port is None:
        port = urlsplit(source.base_url).port or 0
    sandbox = SANDBOXES[source.dialect](region=source.region or "110000", port=port, **kwargs).start()
    if export_env:
        os.environ.update(_credential_env(source, sandbox))
    return sandbox


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
    names = _credential_env(source, sandbox)
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(names)
    try:
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
    import dataclasses

    from connectors.registry import load_sources
    from tourlink.flow import sync

    results = []
    for source in load_sources().values():
        if source.dialect not in dialects or "sandbox" not in source.tags:
            continue
        extra = {"rate_limit": 1000.0} if source.dialect == "oauth-cursor" else {}
        box = start_for(source, port=0, export_env=False, **extra)
        try:
            local = dataclasses.replace(
                source, base_url=box.url, options={**source.options, "requests_per_second": None}
            )
            with credentials_in_env(source, box):
                results.append(sync(local, warehouse=warehouse))
        finally:
            box.stop()
    return results


__all__ = [
    "SANDBOXES",
    "Sandbox",
    "SignedJsonSandbox",
    "OAuthCursorSandbox",
    "LegacyXmlSandbox",
    "start_for",
    "credentials_in_env",
    "sync_sandboxes",
]
