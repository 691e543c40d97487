"""The ERP readers (`signed-json`, `oauth-cursor`, `legacy-xml`, and `rest` built on them), by concern:

- `dialects`: the dialects' reader classes, `connectors.declarative` bound to each preset (SOURCES.md §1-3);
- `envelopes`: the presets' envelope checks (a body that says "error" becomes the right exception);
- `pages`: a stream read page by page (re-read when its total moved), pages grouped into frames;
- `client`: the shared HTTP client with the dialect's auth and the registry file's retry options;
- `read`: one read of a source: window → `connectors.reading.Extract` (frames, raw bodies, new state).

Reading is all they do: `tourlink.flow.sources` reads the state from the warehouse, calls `read`, and
loads the extract as one batch with the new state.
"""

from connectors.declarative.tombstones import KNOWN_STATE, known_bucket
from connectors.erp.client import build_client
from connectors.erp.dialects import Dialect, LegacyXml, OAuthCursor, SignedJson
from connectors.erp.envelopes import check_json, check_legacy_xml, check_signed_json
from connectors.erp.pages import StreamRead, distinct_pages, page_frame, pages_frame, read_stream
from connectors.erp.read import check, read, vendor_of
from connectors.http.errors import AuthError, ParameterError, RetryableError, SourceError
from connectors.reading import is_state

__all__ = [
    "KNOWN_STATE",
    "AuthError",
    "Dialect",
    "LegacyXml",
    "OAuthCursor",
    "ParameterError",
    "RetryableError",
    "SignedJson",
    "SourceError",
    "StreamRead",
    "build_client",
    "check",
    "check_json",
    "check_legacy_xml",
    "check_signed_json",
    "distinct_pages",
    "is_state",
    "known_bucket",
    "page_frame",
    "pages_frame",
    "read",
    "read_stream",
    "vendor_of",
]
