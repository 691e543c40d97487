"""Vendor emulators on loopback: one real HTTP server per ERP dialect, seeded data, fault switches.

`SANDBOXES` maps a dialect to its server class; `start_for(source)` starts the sandbox a registry
file points at (on its port) and exports the sandbox's credentials into the environment variables the
registry file references, so the demo and `tourlink sandbox up` need no secrets on disk.
"""

from __future__ import annotations

import os
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
    """Start the sandbox of `source` (port from its base_url unless given)."""
    if port is None:
        port = urlsplit(source.base_url).port or 0
    sandbox = SANDBOXES[source.dialect](region=source.region or "110000", port=port, **kwargs).start()
    if export_env:
        for role, ref in source.credentials.items():
            kind, _, name = ref.partition(":")
            if kind == "env" and role in sandbox.credentials:
                os.environ.setdefault(name, sandbox.credentials[role])
    return sandbox


ERP_DIALECTS = ("signed-json", "oauth-cursor", "legacy-xml")


def sync_sandbox_erps(warehouse=None) -> list:  # noqa: ANN001 - Warehouse imported lazily
    """The demo's ERP step: start every sandbox ERP of the registry on a free port, sync it, stop it.

    Credentials are the sandbox's own, exported into the env vars the registry file names (unless
    already set); returns one `SyncResult` per source."""
    import dataclasses

    from connectors.registry import load_sources, sync

    results = []
    for source in load_sources().values():
        if source.dialect not in ERP_DIALECTS or "sandbox" not in source.tags:
            continue
        extra = {"rate_limit": 1000.0} if source.dialect == "oauth-cursor" else {}
        box = start_for(source, port=0, **extra)
        try:
            local = dataclasses.replace(source, base_url=box.url, options={**source.options, "requests_per_second": None})
            results.append(sync(local, warehouse=warehouse))
        finally:
            box.stop()
    return results


__all__ = ["sync_sandbox_erps", "SANDBOXES", "Sandbox", "SignedJsonSandbox", "OAuthCursorSandbox", "LegacyXmlSandbox", "start_for"]
