"""The declarative reader: every ERP dialect of SOURCES.md as a YAML declaration, read by one class.

- `spec`: a vendor's declaration = its dialect's preset (`presets/<dialect>.yaml`) under its registry options;
- `auth`: auth plug-ins by name (HMAC query signing, gateway HMAC, OAuth2 client credentials, MD5 day
  token, bearer, basic);
- `answers`: a body's envelope judged as declared (`error: {path, ok, retry, auth}`), HTML refused;
- `records`: where the records are (JSON path, JSON:API, XML record path with namespaces, bounded);
- `reader`: `Declarative`, the reader (paging styles, several requests in flight, dependent
  resources, tombstones); `bind` gives one preset's class;
- `tombstones`: deletions completed from the connector state (`tombstones: known-records`).

A new vendor is a registry file (+ a mapping); Python only for a new signing scheme (one plug-in).
"""

from connectors.declarative.auth import PLUGINS, build_auth
from connectors.declarative.reader import Declarative, bind
from connectors.declarative.spec import Spec, preset, spec_of
from connectors.http.auth import Auth
from connectors.registry import SourceConfig

SignedJson = bind("signed-json", "SignedJson")
OAuthCursor = bind("oauth-cursor", "OAuthCursor")
LegacyXml = bind("legacy-xml", "LegacyXml")
Rest = bind("rest", "Rest")


def source_auth(source: SourceConfig) -> Auth:
    """The `Auth` a source's declaration names (the dialect table's `auth` column)."""
    spec = spec_of(source)
    return build_auth(source, str(spec.get("auth", "auto")), spec.part("auth_options"))


__all__ = [
    "PLUGINS", "Declarative", "LegacyXml", "OAuthCursor", "Rest", "SignedJson", "Spec", "bind", "build_auth",
    "preset", "source_auth", "spec_of",
]
