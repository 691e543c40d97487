"""The `rest` dialect: a vendor's REST API declared entirely in its registry file, no Python per vendor.

It is the declarative reader (`connectors.declarative`) with the `rest` preset's defaults; any key
of `connectors.declarative.spec` may be set in `options`, and the flat options of the first `rest`
files still read the same:

    options:
      paths: {tour-groups: /v1/tour-groups}   # stream -> path
      format: jsonapi          # records = JSON:API resources with their included relationships
      records: data            # (format json) dotted path to the record list; a body without it fails
      next: links.next         # a next link (URL or path+query) or a cursor token
      cursor_param: cursor     # (when `next` holds a token) the parameter that sends it back
      total: meta.total        # announced total: rows read must add up to it
      page_size_param: page[size]
      since_param: filter[updated-since]     # ISO 8601 lower bound of the incremental window
      until_param: filter[updated-until]     # optional upper bound (the frozen window end)
      updated_field: updated-at
      key_field: id
      list_columns: [travelers, escorts]     # child lists every page must carry (for `explode`)
      error: {path: code, ok: [0], retry: [42900], auth: [40001]}   # an envelope inside HTTP 200
      paging: {style: page-number, param: pageNo, size_param: pageSize}   # instead of `next`

Credentials: `token` (bearer) or `username` + `password` (basic), or `auth:` naming a plug-in. An
error envelope, an HTML page or a body without the records path fails the read, naming the source,
stream and request: a sync never succeeds on what a vendor answered as an error.
"""

from __future__ import annotations

from typing import Any

from connectors.declarative import Rest
from connectors.declarative.answers import raise_for_jsonapi, refuse_html
from connectors.declarative.auth import auto
from connectors.declarative.records import dig
from connectors.http.auth import Auth
from connectors.http.decoding import decode_json, jsonapi_records
from connectors.http.pagination import Page
from connectors.http.pagination import totalled as _totalled  # noqa: F401 - the name tests and callers know
from connectors.registry import SourceConfig

__all__ = ["Page", "Rest", "check_rest", "dig", "jsonapi_records", "rest_auth"]


def check_rest(body: bytes, what: str) -> Any:
    """JSON bodies; a JSON:API `errors` document is a vendor error (5xx-like ones are retried)."""
    refuse_html(body, what)
    payload = decode_json(body, what)
    raise_for_jsonapi(payload, what)
    return payload


def rest_auth(source: SourceConfig) -> Auth:
    return auto(source, {})


