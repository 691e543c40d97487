"""How each ERP vendor is read: its streams, update field, keys and request shapes (SOURCES.md §1-3).

A `Dialect` subclass is configuration plus the vendor's paging calls; `connectors.erp.pages` reads a
stream through it, `connectors.erp.read` reads a whole source. Which class speaks which dialect is
the table `connectors.dialects.DIALECTS` (the `rest` dialect's class is `connectors.rest.Rest`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from connectors.erp.envelopes import check_json, check_legacy_xml, check_signed_json
from connectors.erp.tombstones import complete_tombstones
from connectors.http import pagination
from connectors.http.client import HttpClient
from connectors.http.pagination import Page
from connectors.registry import SourceConfig

if TYPE_CHECKING:
    from connectors.erp.pages import StreamRead

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _ts(text: str | None, fmt: str | None = None) -> datetime | None:
    if not text:
        return None
    moment = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)).astimezone(UTC)


FIXED_WIDTH_FORMATS = frozenset({"%Y-%m-%d %H:%M:%S", "%Y%m%d%H%M%S"})


class Dialect:
    """How one vendor is read. Subclasses are configuration plus the vendor's request shapes."""

    streams: dict[str, str] = {}  # stream -> path
    updated_field = ""
    updated_format: str | None = None
    key_field = ""
    list_columns: tuple[str, ...] = ()  # every list column any stream of the dialect has (for the mapping)
    extension = "json"

    def __init__(self, source: SourceConfig, client: HttpClient, state: Mapping[str, str] | None = None):
        self.source = source
        self.client = client
        # connector state the flow read from the warehouse (`watermark` rows named `<stream>#…`), and
        # what this read writes back (committed with the rows)
        self.state: dict[str, str] = dict(state) if isinstance(state, Mapping) else {}
        self.state_out: dict[str, str] = {}
        self.page_size = int(source.option("page_size", 100))

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
        return lambda r: r.get(self.key_field)

    def pages(self, stream: str, start: datetime | None, end: datetime) -> Iterator[Page]:
        raise NotImplementedError

    def finish(self, stream: str, read: StreamRead, end: datetime) -> None:
        """Hook after a stream is read (tombstones, dependent resources)."""


class SignedJson(Dialect):
    streams = {"teams": "/openapi/v1/teams", "contracts": "/openapi/v1/contracts"}
    updated_field = "updateTime"
    updated_format = "%Y-%m-%d %H:%M:%S"
    list_columns = ("tourists", "guides", "travellers")

    def key(self, stream: str) -> Callable[[dict[str, Any]], Any]:
        name = "teamNo" if stream == "teams" else "contractNo"
        return lambda r: (r.get("corpCode"), r.get(name))

    def pages(self, stream: str, start: datetime | None, end: datetime) -> Iterator[Page]:
        size = min(self.page_size, 100)
        window = {"updatedEnd": end.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")}
        if start is not None:
            window["updatedStart"] = start.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")

        def fetch(page_no: int) -> Page:
            reply = self.client.request(
                "GET",
                self.streams[stream],
                params={**window, "pageNo": page_no, "pageSize": size},
                check=check_signed_json,
            )
            data = reply.payload.get("data") or {}
            return Page(list(data.get("list") or []), reply.body, total=int(data.get("total") or 0))

        return pagination.page_number(fetch, page_size=size, key=self.key(stream), where=f"{self.source.name}/{stream}")


class LegacyXml(Dialect):
    streams = {"teams": "/export/teams.do"}
    updated_field = "XGSJ"
    updated_format = "%Y%m%d%H%M%S"
    list_columns = ("Guests", "Guides")
    extension = "xml"

    def key(self, stream: str) -> Callable[[dict[str, Any]], Any]:
        return lambda r: (r.get("ZTSDM"), r.get("TDH"))

    def pages(self, stream: str, start: datetime | None, end: datetime) -> Iterator[Page]:
        size = min(self.page_size, 500)
        since = start.astimezone(SHANGHAI).strftime("%Y%m%d%H%M%S") if start else "19700101080000"

        def fetch(offset: int) -> Page:
            reply = self.client.request(
                "GET",
                self.streams[stream],
                params={"from": since, "start": offset, "limit": size},
                check=check_legacy_xml,
            )
            head, records = reply.payload
            # The export has no upper bound: records updated after the frozen end wait for the next sync.
            return Page(records, reply.body, total=int(head.get("Total") or 0))

        return pagination.offset_limit(
            fetch, page_size=size, key=self.key(stream), where=f"{self.source.name}/{stream}"
        )


class OAuthCursor(Dialect):
    streams = {"groups": "/api/v2/groups", "contracts": "/api/v2/contracts"}
    updated_field = "modified_at"
    list_columns = ("members", "guides", "travellers", "countries")

    def key(self, stream: str) -> Callable[[dict[str, Any]], Any]:
        return lambda r: r.get("id")

    def pages(self, stream: str, start: datetime | None, end: datetime) -> Iterator[Page]:
        size = min(int(self.source.option("page_size", 200)), 200)
        since = start.isoformat() if start else "1970-01-01T00:00:00+00:00"

        def fetch(token: str | None) -> Page:
            reply = self.client.request(
                "GET",
                self.streams[stream],
                params={"modified_since": since, "cursor": token, "limit": size},
                check=check_json,
            )
            page = Page(
                list(reply.payload.get("items") or []), reply.body, next_cursor=reply.payload.get("next_cursor")
            )
            if stream == "groups":
                self._attach_members(page)
            return page

        return pagination.cursor(fetch, key=self.key(stream), where=f"{self.source.name}/{stream}")

    def _attach_members(self, page: Page) -> None:
        """Members are a dependent resource: one request per (live) group on the page."""
        live = [g for g in page.records if not g.get("deleted")]
        bodies = pagination.dependent(
            live,
            lambda g: self.client.request("GET", f"{self.streams['groups']}/{g['id']}/members", check=check_json),
            parent_key=lambda g: g["id"],
        )
        for g in live:
            g["members"] = list(bodies[g["id"]].payload.get("items") or [])
        page.extra = {gid: json.loads(reply.body) for gid, reply in bodies.items()}

    # -- tombstones
    def finish(self, stream: str, read: StreamRead, end: datetime) -> None:
        """Complete tombstones from the known-records state; queue the touched state buckets."""
        if stream != "groups":
            return
        self.state_out.update(complete_tombstones(read.pages, self.state, end, source=self.source.name))
