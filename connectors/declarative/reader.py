"""The one declarative reader: a vendor's streams read page by page from its declaration alone.

`Declarative` is what `connectors.erp.pages.read_stream` reads a stream through: its `pages` walk
the declared paging style with the guards of `connectors.http.pagination` (numbered pages with
several requests in flight, cursors, next links, after-id feeds), each answer judged by
`connectors.declarative.answers` and its records found by `connectors.declarative.records`;
dependent resources are fetched per parent (several in flight; on a cursor walk, a page's children
while the next page is requested) and tombstones completed from the connector state.
`bind(dialect)` gives the class of one preset (`SignedJson`, `OAuthCursor`, `LegacyXml`, `Rest`),
whose class attributes describe the preset for the dev kit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlsplit
from zoneinfo import ZoneInfo

from connectors.bodies import RawBody, discard
from connectors.declarative.answers import checker
from connectors.declarative.records import XmlPage, dig, json_records, jsonapi_page
from connectors.declarative.spec import DEFAULT_CONCURRENCY, Resource, Spec, preset, spec_of
from connectors.declarative.tombstones import complete_tombstones
from connectors.http import pagination
from connectors.http.decoding import decode_json
from connectors.http.errors import ParameterError
from connectors.http.gate import carried
from connectors.http.pagination import Page
from connectors.registry import SourceConfig

if TYPE_CHECKING:
    from connectors.erp.pages import StreamRead
    from connectors.http.client import HttpClient

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIXED_WIDTH_FORMATS = frozenset({"%Y-%m-%d %H:%M:%S", "%Y%m%d%H%M%S"})
TOMBSTONES: dict[str, Callable[..., dict[str, str]]] = {"known-records": complete_tombstones}


def _ts(text: str | None, fmt: str | None = None) -> datetime | None:
    if not text:
        return None
    moment = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)).astimezone(UTC)


@dataclass
class Answer:
    """One page as the declaration reads it."""

    records: list[dict[str, Any]]
    total: int | None
    next: str | None


class Declarative:
    """A vendor read from its declaration (`connectors.declarative.spec`: preset + registry options)."""

    dialect = "rest"
    streams: dict[str, str] = {}  # stream -> path (of the preset, on the class; of the source, on an instance)
    list_columns: tuple[str, ...] = ()
    extension = "json"

    def __init__(self, source: SourceConfig, client: HttpClient | None, state: Mapping[str, str] | None = None):
        self.source = source
        self.client = client
        # connector state the flow read from the warehouse (`watermark` rows named `<stream>#…`), and
        # what this read writes back (committed with the rows)
        self.state: dict[str, str] = dict(state) if isinstance(state, Mapping) else {}
        self.state_out: dict[str, str] = {}
        self.page_size = int(source.option("page_size", 100))
        self.spec: Spec = spec_of(source, self.dialect)
        self.resources: dict[str, Resource] = self.spec.resources
        self.streams = {name: r.path for name, r in self.resources.items()}
        self.list_columns = self.spec.list_columns
        self.extension = str(self.spec.get("extension", "xml" if self.spec.get("format") == "xml" else "json"))
        updated = self.spec.part("updated")
        self.updated_field = str(updated.get("field", "updated_at"))
        self.updated_format: str | None = updated.get("format")
        self.concurrency = max(1, int(self.spec.get("max_concurrency", DEFAULT_CONCURRENCY)))
        self.check = checker(self.spec)

    # -- records
    def updated(self, record: dict[str, Any]) -> datetime | None:
        return _ts(record.get(self.updated_field), self.updated_format)

    def latest(self, records: list[dict[str, Any]]) -> datetime | None:
        """The newest update time on a page. Zero-padded fixed formats (`yyyy-MM-dd HH:mm:ss`,
        `yyyyMMddHHmmss`, all Asia/Shanghai) order as text, so only the largest is parsed."""
        values = [v for r in records if (v := r.get(self.updated_field))]
        if not values:
            return None
        if self.updated_format in FIXED_WIDTH_FORMATS:
            return _ts(max(values), self.updated_format)
        return max(_ts(v, self.updated_format) for v in values)

    def key(self, stream: str) -> Callable[[dict[str, Any]], Any]:
        fields = self.resources[stream].key if stream in self.resources else tuple(self.spec.get("key", ("id",)))
        if len(fields) == 1:
            only = fields[0]
            return lambda r: r.get(only)
        return lambda r: tuple(r.get(f) for f in fields)

    def answer_check(self, records_path: str | None, stream: str = "") -> Callable[[bytes | RawBody, str], Answer]:
        """The body check for one resource: the envelope's verdict, then its records, total and next.
        Its errors name the source and stream (`acme/teams GET /path?query`, secrets masked)."""
        fmt, paging, total_path = self.spec.get("format"), self.spec.part("paging"), self.spec.get("total")
        named = f"{self.source.name} "

        def check(body: bytes | RawBody, what: str, charset: str = "") -> Answer:
            if stream and what.startswith(named):
                what = f"{self.source.name}/{stream} {what.removeprefix(named)}"
            payload = self.check(body, what, charset)
            if isinstance(payload, XmlPage):
                records, envelope = payload.records, payload.head
            elif fmt == "jsonapi":
                records, envelope = jsonapi_page(payload, what, body), payload
            else:
                records, envelope = json_records(payload, records_path or self.spec.get("records", "items"), what, body), payload
            total = dig(envelope, total_path)
            if paging.get("style") == "after-id":
                more = dig(envelope, paging.get("more")) if paging.get("more") else bool(records)
                following = dig(envelope, paging.get("next")) if more and records else None
            else:
                following = dig(envelope, paging.get("next"))
            try:
                counted = None if total is None else int(total)
            except (TypeError, ValueError):
                raise ParameterError(f"{what}: the announced total at `{total_path}` is not a number: {total!r}") from None
            return Answer(records, counted, None if following in (None, "") else str(following))

        check.wants_charset = True  # type: ignore[attr-defined]
        check.reads_raw = True  # type: ignore[attr-defined]  # a spilled body is parsed from its file
        return check

    # -- requests
    def _stamp(self, moment: datetime, window: dict[str, Any]) -> str:
        zone = window.get("timezone")
        if zone:
            moment = moment.astimezone(ZoneInfo(zone))
        fmt = window.get("format", "iso")
        return moment.isoformat() if fmt == "iso" else moment.strftime(fmt)

    def first_params(self, start: datetime | None, end: datetime) -> dict[str, Any]:
        """The window and page size every page of a stream carries."""
        window, paging = self.spec.part("window"), self.spec.part("paging")
        params: dict[str, Any] = {}
        if window.get("since_param"):
            if start is not None:
                params[window["since_param"]] = self._stamp(start, window)
            elif window.get("since_default"):
                params[window["since_param"]] = window["since_default"]
        if window.get("until_param"):
            params[window["until_param"]] = self._stamp(end, window)
        if paging.get("size_param"):
            params[paging["size_param"]] = self.size()
        return params

    def size(self) -> int:
        paging = self.spec.part("paging")
        wanted = int(self.source.option("page_size", paging.get("default_size", 100)))
        return min(wanted, int(paging.get("max_size", wanted)))

    def _get(
        self, path: str, params: dict[str, Any], check: Callable[[bytes | RawBody, str], Answer], resource: Resource, attach: bool = True
    ) -> Page:
        assert self.client is not None, "a reader without a client cannot fetch"
        reply = self.client.request("GET", path, params=params, check=check)
        answer: Answer = reply.payload
        page = Page(answer.records, reply.body, total=answer.total, next_cursor=answer.next)
        if resource.dependent and attach:
            self._attach(resource, page)
        return page

    def _attached(self, resource: Resource, pages: Iterator[Page]) -> Iterator[Page]:
        """Cursor pages with their dependents, each page's children fetched while the next page is
        requested: a cursor is walked one page at a time, its pages' children need not wait for it.
        Pages are handed on in order, each once its children are attached; at most one page is
        being attached at a time (the client bounds the requests in flight)."""
        if not resource.dependent:
            yield from pages
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dependent") as pool:
            pending: tuple[Page, Future[None]] | None = None
            try:
                for page in pages:
                    attaching = pool.submit(carried(self._attach), resource, page)  # the stream's priority
                    if pending is not None:
                        pending[1].result()
                        yield pending[0]
                    pending = (page, attaching)
                if pending is not None:
                    pending[1].result()
                    yield pending[0]
            finally:
                if pending is not None:
                    pending[1].cancel()

    def pages(self, stream: str, start: datetime | None, end: datetime) -> Iterator[Page]:
        resource = self.resources[stream]
        paging = self.spec.part("paging")
        style = paging.get("style", "single")
        base = self.first_params(start, end)
        check = self.answer_check(resource.records, stream)
        where = f"{self.source.name}/{stream}"
        key = self.key(stream)
        param = paging.get("param")

        if style in {"page-number", "offset"}:
            if not self.spec.get("total"):
                raise ParameterError(f"{where}: {style} paging needs the announced `total`'s path")
            first = int(paging.get("first", 1 if style == "page-number" else 0))
            shift = first - 1 if style == "page-number" else first
            walker = pagination.page_number if style == "page-number" else pagination.offset_limit
            return walker(
                lambda n: self._get(resource.path, {**base, param: n + shift}, check, resource),
                page_size=self.size(), key=key, where=where, concurrency=self.concurrency,
            )
        if style in {"cursor", "after-id", "next-link", "single"}:

            def fetch(token: str | None) -> Page:
                path, params = resource.path, dict(base)
                if token and style == "next-link":  # a next link: same host, its own path and query
                    link = urlsplit(token)
                    path, params = link.path, dict(parse_qsl(link.query, keep_blank_values=True))
                elif style == "after-id":
                    params[param] = token if token is not None else paging.get("start", 0)
                elif param:
                    params[param] = token
                page = self._get(path, params, check, resource, attach=False)
                if style == "single":
                    page.next_cursor = None
                return page

            walked = pagination.totalled(pagination.cursor(fetch, key=key, where=where), key, where)
            return self._attached(resource, walked)
        raise ParameterError(f"{where}: unknown paging style {style!r} (page-number, offset, cursor, next-link, after-id, single)")

    def _attach(self, resource: Resource, page: Page) -> None:
        """Each dependent resource: one request per parent on the page (several in flight)."""
        assert self.client is not None
        parent_key = resource.key[0]
        for field, declared in resource.dependent.items():
            skip = declared.get("skip_when")
            parents = [r for r in page.records if not (skip and r.get(skip))]
            check = self.answer_check(declared.get("records", "items"), f"{resource.name}/{field}")

            def fetch(parent: dict[str, Any], template: str = str(declared["path"]), check=check):  # noqa: ANN001, ANN202
                path = re.sub(r"\{(\w+)\}", lambda m: quote(str(parent.get(m.group(1))), safe=""), template)
                return self.client.request("GET", path, check=check)

            replies = pagination.dependent(parents, fetch, parent_key=lambda p: p.get(parent_key), concurrency=self.concurrency)
            for parent in parents:
                parent[field] = replies[parent.get(parent_key)].payload.records
            bodies = {pid: decode_json(reply.body, f"{self.source.name} {declared['path']}") for pid, reply in replies.items()}
            discard(reply.body for reply in replies.values())  # decoded into the page's body: no file kept
            page.extra.update(bodies if len(resource.dependent) == 1 else {f"{field}/{k}": v for k, v in bodies.items()})

    def finish(self, stream: str, read: StreamRead, end: datetime) -> None:
        """After a stream is read: tombstones completed from the connector state."""
        named = self.resources[stream].tombstones if stream in self.resources else None
        if named:
            self.state_out.update(TOMBSTONES[named](read.pages, self.state, end, source=self.source.name))
            read.frames.clear()  # tombstones completed in place: frames made from the records as they came are stale


def bind(dialect: str, name: str) -> type[Declarative]:
    """The reader class of one preset, its class attributes read from the preset (for the dev kit)."""
    written = preset(dialect)
    fmt = written.get("format", "json")
    attributes = {
        "dialect": dialect,
        "streams": {name: (r or {}).get("path") if isinstance(r, dict) else r for name, r in (written.get("resources") or {}).items()},
        "list_columns": tuple(written.get("list_columns") or ()),
        "extension": str(written.get("extension", "xml" if fmt == "xml" else "json")),
        "__doc__": f"The `{dialect}` dialect: connectors/declarative/presets/{dialect}.yaml read by `Declarative`.",
    }
    return type(name, (Declarative,), attributes)
