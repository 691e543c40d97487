"""The `rest` dialect: a vendor's REST API declared entirely in its registry file, no Python per vendor.

The ERP dialects of SOURCES.md need code (signatures, day tokens, dependent resources). Most new
vendors do not: a bearer token, a list of records in the body, a next link or cursor, a total, an
update-time filter. Those are options of the registry file:

    options:
      paths: {tour-groups: /v1/tour-groups}   # stream -> path
      format: jsonapi          # records = JSON:API resources with their included relationships
      records: data            # (format json) dotted path to the record list
      next: links.next         # a next link (URL or path+query) or a cursor token
      cursor_param: cursor     # (when `next` holds a token) the parameter that sends it back
      total: meta.total        # announced total: rows read must add up to it
      page_size_param: page[size]
      since_param: filter[updated-since]     # ISO 8601 lower bound of the incremental window
      until_param: filter[updated-until]     # optional upper bound (the frozen window end)
      updated_field: updated-at
      key_field: id
      list_columns: [travelers, escorts]     # child lists every page must carry (for `explode`)

Credentials: `token` (bearer) or `username` + `password` (basic). Reads reuse the ERP machinery
(`connectors.erp.read`: incremental windows, raw bodies kept, the new watermarks) and the pagination
guards: a cursor seen twice, a repeated page, or rows that do not add up to the total fail. The
dialect table (`connectors.dialects`) names `Rest` and `rest_auth`; nothing registers on import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from connectors.erp.dialects import Dialect
from connectors.http import pagination
from connectors.http.auth import Auth, BasicAuth, BearerAuth
from connectors.http.client import HttpClient
from connectors.http.decoding import decode_json, jsonapi_records
from connectors.http.errors import ParameterError, RetryableError, TotalMismatch
from connectors.http.pagination import Page
from connectors.registry import SourceConfig

__all__ = ["Page", "Rest", "check_rest", "dig", "jsonapi_records", "rest_auth"]


def dig(payload: Any, path: str | None) -> Any:
    """The value at a dotted path of a JSON body (None when any step is missing)."""
    if not path:
        return None
    for part in path.split("."):
        if not isinstance(payload, dict):
            return None
        payload = payload.get(part)
    return payload


def check_rest(body: bytes, what: str) -> Any:
    """JSON bodies; a JSON:API `errors` document is a vendor error (5xx-like ones are retried)."""
    payload = decode_json(body, what)
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if errors:
        first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        status = str(first.get("status") or "")
        text = f"{what}: vendor error {status} {first.get('title') or ''} {first.get('detail') or ''}".strip()
        if status.startswith("5") or status == "429":
            raise RetryableError(text)
        raise ParameterError(text)
    return payload


def rest_auth(source: SourceConfig) -> Auth:
    if "token" in source.credentials:
        return BearerAuth(source.secret("token"))
    if "username" in source.credentials:
        return BasicAuth(source.secret("username"), source.secret("password"))
    return Auth()


class Rest(Dialect):
    """A REST vendor as configured in its registry file's options."""

    def __init__(self, source: SourceConfig, client: HttpClient, state: Any = None):
        super().__init__(source, client, state)
        self.streams = dict(source.option("paths") or {})
        if not self.streams:
            raise ParameterError(f"{source.name}: a rest source needs options.paths (stream -> path)")
        self.format = source.option("format", "json")
        self.updated_field = source.option("updated_field", "updated_at")
        self.updated_format = source.option("updated_format")
        self.key_field = source.option("key_field", "id")
        self.list_columns = tuple(source.option("list_columns") or ())

    def key(self, stream: str) -> Callable[[dict[str, Any]], Any]:
        return lambda r: r.get(self.key_field)

    def records(self, payload: Any) -> list[dict[str, Any]]:
        if self.format == "jsonapi":
            return jsonapi_records(payload)
        found = dig(payload, self.source.option("records", "items"))
        return list(found or [])

    def pages(self, stream: str, start: datetime | None, end: datetime) -> Iterator[Page]:
        option = self.source.option
        first: dict[str, Any] = {}
        if option("page_size_param"):
            first[option("page_size_param")] = self.page_size
        if start is not None and option("since_param"):
            first[option("since_param")] = start.isoformat()
        if option("until_param"):
            first[option("until_param")] = end.isoformat()
        where = f"{self.source.name}/{stream}"

        def fetch(token: str | None) -> Page:
            path, params = self.streams[stream], dict(first)
            if token and option("cursor_param"):
                params[option("cursor_param")] = token
            elif token:  # a next link: same host, its own path and query
                link = urlsplit(token)
                path, params = link.path, dict(parse_qsl(link.query, keep_blank_values=True))
            reply = self.client.request("GET", path, params=params, check=check_rest)
            total = dig(reply.payload, option("total"))
            nxt = dig(reply.payload, option("next"))
            return Page(self.records(reply.payload), reply.body, total=None if total is None else int(total), next_cursor=nxt or None)

        return _totalled(pagination.cursor(fetch, key=self.key(stream), where=where), self.key(stream), where)


def _totalled(pages: Iterator[Page], key: Callable[[dict[str, Any]], Any], where: str) -> Iterator[Page]:
    """Cursor pages whose rows must add up to the announced total (when the vendor announces one)."""
    seen: set[Any] = set()
    total: int | None = None
    for n, page in enumerate(pages, start=1):
        if page.total is not None:
            if total is not None and page.total != total:
                raise TotalMismatch(f"{where}: total changed from {total} to {page.total} at page {n} (records changed while paging)")
            total = page.total
        seen.update(key(r) for r in page.records)
        yield page
    if total is not None and len(seen) != total:
        raise TotalMismatch(f"{where}: read {len(seen)} distinct records but the source announced {total}")
