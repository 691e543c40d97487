"""The one table of dialects: for each, its reader, its auth, its incremental style and its emulator.

A registry file names a dialect; everything the platform does with it starts here. Entries name
their code as `module:attribute` strings, imported only when a source of that dialect is read (the
Airflow DAG files and `tourlink sources list` stay cheap, and nothing registers itself on import).

Incremental styles:
- `updated-since`: the stored watermark per stream is the newest update time read; the next read
  starts there minus a lookback (the ERP dialects, `rest`);
- `after-id`: the watermark is the last id committed, the feed is read from it (the portal);
- `files`: a drop folder, each settled file is imported once and then archived or rejected.

The emulator is the dev kit's server for the dialect (named, never imported by production code).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DialectSpec:
    name: str
    reader: str  # module:function — read(source, state, window) -> Extract, or for `files` open(source) -> Drop
    check: str  # module:function — check(source) -> {stream: records seen}, nothing loaded
    incremental: str  # updated-since | after-id | files
    emulator: str  # the dev kit's sandbox server class
    vendor: str | None = None  # module:class — the reader class of the dialect's preset (ERP family)
    auth: str | None = None  # module:function — auth(source) -> connectors.http.auth.Auth


_ERP = "connectors.erp"
_DECLARED = "connectors.declarative"  # every HTTP ERP dialect: a preset read by the declarative reader


def _http_erp(name: str, emulator: str, preset: str) -> DialectSpec:
    """An HTTP ERP dialect: the ERP reader and check, update-time watermarks, the declarative
    reader's `preset` class and its auth; only the name, the emulator and the preset differ."""
    return DialectSpec(name, f"{_ERP}.read:read", f"{_ERP}.read:check", "updated-since", emulator,
                       f"{_DECLARED}:{preset}", f"{_DECLARED}:source_auth")  # fmt: skip


DIALECTS: dict[str, DialectSpec] = {
    "signed-json": _http_erp("signed-json", "devkit.sandbox.signed_json:SignedJsonSandbox", "SignedJson"),
    "oauth-cursor": _http_erp("oauth-cursor", "devkit.sandbox.oauth_cursor:OAuthCursorSandbox", "OAuthCursor"),
    "legacy-xml": _http_erp("legacy-xml", "devkit.sandbox.legacy_xml:LegacyXmlSandbox", "LegacyXml"),
    # declarative REST vendors (JSON:API, …): the vendor's shapes are options of its registry file
    "rest": _http_erp("rest", "devkit.sandbox.jsonapi_server:JsonApiSandbox", "Rest"),
    # presets/gov-portal.yaml walked by the declarative reader; connectors.gov_portal keeps the
    # after-id state, the stuck-cursor guard and the two columns added before mapping
    "gov-portal": DialectSpec(
        "gov-portal", "connectors.gov_portal:read", "connectors.gov_portal:check", "after-id",
        "devkit.sandbox.gov_portal_server:PortalEmulator", auth=f"{_DECLARED}:source_auth",
    ),
    "sftp-drop": DialectSpec(
        "sftp-drop", "connectors.sftp:open_drop", "connectors.sftp:check", "files",
        "devkit.sandbox.sftp_server:SftpSandbox",
    ),
}


class UnknownDialect(ValueError):
    """No entry of the table speaks this dialect."""


def spec(dialect: str) -> DialectSpec:
    try:
        return DIALECTS[dialect]
    except KeyError:
        raise UnknownDialect(f"no connector for dialect {dialect!r}; known: {', '.join(sorted(DIALECTS))}") from None


def resolve(ref: str) -> Any:
    """The object a `module:attribute` entry names (imported now)."""
    module, _, attribute = ref.partition(":")
    return getattr(importlib.import_module(module), attribute)


def reader(dialect: str) -> Any:
    return resolve(spec(dialect).reader)


def checker(dialect: str) -> Any:
    return resolve(spec(dialect).check)


def vendor(dialect: str) -> Any:
    """The reader class of an ERP-family dialect (`connectors.declarative.Declarative` bound to its preset)."""
    ref = spec(dialect).vendor
    if ref is None:
        raise UnknownDialect(f"dialect {dialect!r} is not an ERP dialect")
    return resolve(ref)


def auth(dialect: str) -> Any:
    ref = spec(dialect).auth
    if ref is None:
        raise UnknownDialect(f"dialect {dialect!r} has no HTTP auth")
    return resolve(ref)


def reads_files(dialect: str) -> bool:
    """A drop folder: one batch per file, archived or rejected after it (no extract → merge steps)."""
    return spec(dialect).incremental == "files"
