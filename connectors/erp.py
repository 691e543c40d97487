"""The sync of an ERP source (`signed-json`, `oauth-cursor`, `legacy-xml`): read → raw pages → one batch.

A sync freezes its window end when it starts, reads every stream from the stored watermark minus a
lookback (default 10 minutes) up to that end, writes each raw response body to a file, and hands the
pages to `tourlink.pipeline.load_frames`, which maps, validates and merges them in ONE transaction
together with the new watermarks. A sync killed at any point loads nothing; its re-run starts again
from the previous watermark, and the merge (by natural key, newest `updated_at` wins) makes rows that
are read twice load once.

Tombstones (`oauth-cursor`: `{"id": …, "deleted": true}`) are completed here, not in the mapping: a
tombstone lacks every required field (dates, type, agency) and the canonical rows do not carry the
vendor's ids. So the connector keeps the last full record it saw of every group id as sync STATE IN
THE WAREHOUSE: rows of the `watermark` table named `groups#known/NN` (16 hash buckets of
`{id: record}` JSON), written by the same batch, in the same transaction, as the rows and watermarks
they describe — a killed sync leaves rows and state consistent, and every worker (CLI, Airflow
extract on another machine, a fresh TOURLINK_HOME) sees the same state. A tombstone becomes that
record with status `cancelled` and `modified_at` = the window end. A tombstone of a group never seen
is skipped (logged).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from connectors.http import pagination
from connectors.http.auth import Auth, LegacyXmlAuth, OAuthClientCredentials, SignedJsonAuth
from connectors.http.client import HttpClient
from connectors.http.decoding import decode_json, iter_xml
from connectors.http.errors import AuthError, ParameterError, RetryableError, SourceError, TotalMismatch
from connectors.http.pagination import Page
from connectors.http.retry import RequestBudget, RetryPolicy
from connectors.registry import SourceConfig, SyncResult

log = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")
STREAM_RETRIES = 3  # re-reads of a stream whose total moved while paging
ROWS_PER_FRAME = 5000  # records mapped and validated together (pages are 100-500 records)


@dataclass
class StreamRead:
    """What reading one stream produced: records per page, raw bodies, the max update time seen."""

    pages: list[tuple[str, list[dict[str, Any]], bytes]] = field(default_factory=list)  # (file, records, body)
    records: int = 0
    max_updated: datetime | None = None


# ----------------------------------------------------------------------------------- envelopes
def check_signed_json(body: bytes, what: str) -> Any:
    payload = decode_json(body, what)
    code = payload.get("code") if isinstance(payload, dict) else None
    if code == 0:
        return payload
    msg = payload.get("msg") if isinstance(payload, dict) else None
    if code in (42900, 50001):
        raise RetryableError(f"{what}: vendor code {code} {msg}")
    if code in (40001, 40002, 40003):
        raise AuthError(
            f"{what}: vendor rejected the request signature (code {code} {msg}); check appId/signKey and the clock"
        )
    raise ParameterError(f"{what}: vendor error code {code} {msg}")


def check_json(body: bytes, what: str) -> Any:
    return decode_json(body, what)


LEGACY_LISTS = frozenset({"Guests", "Guides"})


def check_legacy_xml(body: bytes, what: str) -> Any:
    """Parses the whole page (streamed), so a truncated body is retried like any other failure."""
    head: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    for kind, item in iter_xml(body, "Team", list_tags=LEGACY_LISTS, what=what):
        if kind == "head":
            head = item
            code = (head.get("Code") or "").strip()
            if code == "9999":
                raise RetryableError(f"{what}: vendor code 9999 {head.get('Msg')}")
            if code == "9001":
                raise AuthError(f"{what}: vendor code 9001 {head.get('Msg')}: check account/password")
            if code != "0000":
                raise ParameterError(f"{what}: vendor code {code} {head.get('Msg')}")
        else:
            records.append(item)
    if not head:
        raise RetryableError(f"{what}: response has no Head")
    return head, records


# ----------------------------------------------------------------------------------- dialects
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
        # sync state stored in the warehouse (`watermark` rows named `<stream>#…`), and what to write back
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
        buckets = {name: json.loads(value) for name, value in self.state.items() if name.startswith(KNOWN_STATE)}
        touched: set[str] = set()
        stamp = end.astimezone(SHANGHAI).isoformat()
        for _, records, _ in read.pages:
            for i, r in enumerate(records):
                bucket = known_bucket(str(r["id"]))
                if not r.get("deleted"):
                    buckets.setdefault(bucket, {})[str(r["id"])] = {k: v for k, v in r.items() if k != "members"}
                    touched.add(bucket)
                    continue
                stored = buckets.get(bucket, {}).get(str(r["id"]))
                if stored is None:
                    log.warning("%s: tombstone of unknown group id %s skipped", self.source.name, r["id"])
                    records[i] = {"id": r["id"], "deleted": True}
                    continue
                records[i] = {**stored, "status": "cancelled", "modified_at": stamp, "members": [], "deleted": True}
        self.state_out.update({b: json.dumps(buckets[b], ensure_ascii=False, sort_keys=True) for b in sorted(touched)})


KNOWN_STATE = "groups#known/"  # warehouse state rows of the oauth-cursor tombstone store
KNOWN_BUCKETS = 16


def known_bucket(group_id: str) -> str:
    """The state row holding `group_id` (stable across processes: crc32, not hash())."""
    return f"{KNOWN_STATE}{zlib.crc32(group_id.encode()) % KNOWN_BUCKETS:02d}"


def is_state(name: str) -> bool:
    """A `watermark` row that is connector state (`stream#…`), not a stream's watermark."""
    return "#" in name


DIALECTS: dict[str, type[Dialect]] = {"signed-json": SignedJson, "oauth-cursor": OAuthCursor, "legacy-xml": LegacyXml}
AUTHS: dict[str, Callable[[SourceConfig], Auth]] = {}  # auths of dialects registered elsewhere (connectors.rest)


# ----------------------------------------------------------------------------------- wiring
def build_client(source: SourceConfig) -> HttpClient:
    """The HTTP client of `source`, with the auth its dialect needs (secrets resolved here, once)."""
    retry = RetryPolicy(
        max_attempts=int(source.option("max_attempts", 6)),
        base_seconds=float(source.option("backoff_seconds", 0.2)),
        cap_seconds=float(source.option("backoff_cap_seconds", 20)),
    )
    auth: Auth
    if source.dialect == "signed-json":
        auth = SignedJsonAuth(source.secret("app_id"), source.secret("sign_key"))
    elif source.dialect == "legacy-xml":
        auth = LegacyXmlAuth(source.secret("account"), source.secret("password"))
    elif source.dialect == "oauth-cursor":
        auth = OAuthClientCredentials(source.secret("client_id"), source.secret("client_secret"))
    elif source.dialect in AUTHS:
        auth = AUTHS[source.dialect](source)
    else:
        raise SourceError(f"{source.name}: dialect {source.dialect} is not an ERP dialect")
    client = HttpClient(
        source.base_url,
        auth,
        timeout=float(source.option("timeout_seconds", 30)),
        retry=retry,
        budget=RequestBudget(source.option("request_budget")),
        rate_limit=source.option("requests_per_second"),
        source=source.name,
    )
    if isinstance(auth, OAuthClientCredentials):

        def fetch_token(form: dict[str, str]) -> dict[str, Any]:
            reply = client.request(
                "POST",
                "/oauth/token",
                body=urlencode(form).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                check=check_json,
                authenticate=False,
            )
            return reply.payload

        auth.fetch = fetch_token
    return client


def stored_watermarks(source: str, warehouse: Any = None) -> dict[str, str]:
    """The watermarks the warehouse holds for `source` (read-only; written only by the batch)."""
    import sqlalchemy as sa

    from warehouse.tables import watermark

    engine = getattr(warehouse, "engine", None)
    if engine is None:
        from tourlink import settings

        engine = sa.create_engine(settings.warehouse_url())
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(watermark.c.stream, watermark.c.value).where(watermark.c.source == source)
            ).all()
    except sa.exc.DBAPIError:  # no warehouse yet: first sync
        return {}
    return {stream: value for stream, value in rows}


def stored_state(source: str, warehouse: Any = None) -> dict[str, str]:
    """The connector state rows (`stream#…`) the warehouse holds for `source`."""
    return {k: v for k, v in stored_watermarks(source, warehouse).items() if is_state(k)}


def read_stream(dialect: Dialect, stream: str, start: datetime | None, end: datetime) -> StreamRead:
    """All pages of one stream in [start, end]; re-read (bounded) when the total moved while paging."""
    for attempt in range(STREAM_RETRIES + 1):
        read = StreamRead()
        try:
            for n, page in enumerate(dialect.pages(stream, start, end), start=1):
                # the name a steward sees on a quarantined row is the raw body's name in `batch_file`
                name = f"{stream}-page-{n:04d}.{dialect.extension}"
                body = page.body
                if page.extra:  # dependent bodies travel with their page, so the raw input replays
                    body = json.dumps(
                        {"page": json.loads(page.body), "dependent": page.extra}, ensure_ascii=False
                    ).encode()
                read.pages.append((name, page.records, body))
                read.records += len(page.records)
                moment = dialect.latest(page.records)
                if moment is not None and (read.max_updated is None or moment > read.max_updated):
                    read.max_updated = moment
            dialect.finish(stream, read, end)
            return read
        except TotalMismatch as exc:
            if attempt == STREAM_RETRIES:
                raise
            log.warning("%s; re-reading the stream (attempt %d)", exc, attempt + 2)
    raise AssertionError("unreachable")


Pages = list[tuple[str, list[dict[str, Any]], list[int]]]  # (page name, records, their positions on the page)


def page_frame(records: list[dict[str, Any]], file: str, list_columns: tuple[str, ...]):
    """One API page as a SourceFrame: the records as received, `__row` = position on the page."""
    return pages_frame([(file, records, list(range(1, len(records) + 1)))], list_columns)


def pages_frame(pages: Pages, list_columns: tuple[str, ...]):
    """Several API pages as ONE SourceFrame: each row keeps its page's name (`__file`) and its
    position on that page (`__row`), so quarantine still points at the exact raw body and record.

    Why: mapping and validation cost a fixed ~0.5 s per frame whatever its size; one frame per
    100-record page made that overhead dominate a sync (see `ROWS_PER_FRAME`)."""
    import polars as pl

    from mappings.engine import PAGE_FILE
    from tourlink.frames import ROW, SourceFrame

    records = [r for _, page, _ in pages for r in page]
    data = pl.DataFrame(records, infer_schema_length=None) if records else pl.DataFrame()
    for column in list_columns:
        if column not in data.columns:
            data = data.with_columns(pl.lit(None, pl.List(pl.String)).alias(column))
    files = [name for name, page, _ in pages for _ in page]
    rows = [n for _, _, positions in pages for n in positions]
    data = data.with_columns(pl.Series(ROW, rows, dtype=pl.Int64), pl.Series(PAGE_FILE, files, dtype=pl.String))
    return SourceFrame(data=data, file=pages[0][0] if len(pages) == 1 else f"{pages[0][0]} … {pages[-1][0]}")


def distinct_pages(pages: list[tuple[str, list[dict[str, Any]]]], key: Callable[[dict[str, Any]], Any]) -> Pages:
    """The pages of one stream with every record kept once: its LAST occurrence (a record repeated
    across pages, or re-served after it changed while we paged, is the same record; the later copy is
    the newer). The pages stay whole in the landing folder; this only decides what gets mapped."""
    last: dict[Any, tuple[int, int]] = {}
    for p, (_, records) in enumerate(pages):
        for i, r in enumerate(records):
            last[key(r)] = (p, i)
    out: Pages = []
    for p, (name, records) in enumerate(pages):
        kept = [(i, r) for i, r in enumerate(records) if last[key(r)] == (p, i)]
        out.append((name, [r for _, r in kept], [i + 1 for i, _ in kept]))
    return out


def _bare_tombstone(record: dict[str, Any]) -> bool:
    """A tombstone `finish` could not complete (`{"id", "deleted"}` only): nothing to map."""
    return bool(record.get("deleted")) and len(record) <= 2


def _frames(pages: Pages, list_columns: tuple[str, ...], rows_per_frame: int):
    """The pages of one stream grouped into frames of about `rows_per_frame` records."""
    chunk: Pages = []
    size = 0
    for page in pages:
        chunk.append(page)
        size += len(page[1])
        if size >= rows_per_frame:
            yield pages_frame(chunk, list_columns)
            chunk, size = [], 0
    if chunk and size:
        yield pages_frame(chunk, list_columns)


def sync(
    source: SourceConfig,
    *,
    full_refresh: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    warehouse: Any = None,
) -> SyncResult:
    """Read every stream of `source` incrementally and load it as one batch with its watermarks."""
    from tourlink import settings

    end = (until or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)  # frozen for the whole sync
    lookback = timedelta(minutes=float(source.option("lookback_minutes", 10)))
    stored = stored_watermarks(source.name, warehouse)
    marks = {} if (full_refresh or since) else {k: v for k, v in stored.items() if not is_state(k)}
    run_dir = settings.home() / "staging" / source.name / f"{end:%Y%m%dT%H%M%S}-{time.monotonic_ns()}"
    result = SyncResult(source=source.name, batch_id=None)
    reads: dict[str, StreamRead] = {}
    with build_client(source) as client:
        dialect = DIALECTS[source.dialect](source, client, {k: v for k, v in stored.items() if is_state(k)})
        for stream in source.streams or tuple(dialect.streams):
            if stream not in dialect.streams:
                raise SourceError(f"{source.name}: unknown stream {stream!r} for dialect {source.dialect}")
            if since is not None:
                start = since.astimezone(UTC)
            elif stream in marks:
                start = datetime.fromisoformat(marks[stream]) - lookback
            else:
                start = None
            reads[stream] = read_stream(dialect, stream, start, end)
        result.requests = client.requests
    raw_files: list[Path] = []
    frames = []
    rows_per_frame = int(source.option("rows_per_frame", ROWS_PER_FRAME))
    for stream, read in reads.items():
        pages = []
        for name, records, body in read.pages:
            path = run_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
            raw_files.append(path)
            pages.append((name, records))
        mapped: Pages = []
        for name, records, rows in distinct_pages(pages, dialect.key(stream)):
            kept = [(r, n) for r, n in zip(records, rows, strict=True) if not _bare_tombstone(r)]
            mapped.append((name, [r for r, _ in kept], [n for _, n in kept]))
        frames.extend(_frames(mapped, dialect.list_columns, rows_per_frame))
        result.streams[stream] = read.records
        result.pages += len(read.pages)
    watermarks = {}
    for stream, read in reads.items():
        previous = stored.get(stream)  # never moves back, not even after a backfill or full refresh
        latest = read.max_updated.isoformat() if read.max_updated else previous
        if latest and previous and latest < previous:
            latest = previous
        if latest:
            watermarks[stream] = latest
    watermarks.update(dialect.state_out)  # committed with the rows, like the watermarks
    from tourlink.pipeline import load_frames

    batch = load_frames(
        frames,
        mapping=source.mapping or source.dialect.replace("-", "_"),
        source=source.name,
        raw_files=raw_files,
        watermarks=watermarks,
        warehouse=warehouse,
    )
    result.batch_id = batch.batch_id
    shutil.rmtree(run_dir, ignore_errors=True)  # the batch kept every body in the landing folder
    result.entities = {name: vars(counts) for name, counts in batch.entities.items()}
    result.watermarks = {k: v for k, v in watermarks.items() if not is_state(k)}
    return result


def check(source: SourceConfig) -> dict[str, int]:
    """Credentials and reachability: one authenticated first page per stream, nothing loaded.

    Returns the records on each stream's first page (at most 1)."""
    import dataclasses

    probe = dataclasses.replace(source, options={**source.options, "page_size": 1})
    seen: dict[str, int] = {}
    with build_client(probe) as client:
        dialect = DIALECTS[source.dialect](probe, client)
        end = datetime.now(UTC).replace(microsecond=0)
        for stream in source.streams or tuple(dialect.streams):
            first = next(iter(dialect.pages(stream, None, end)), None)
            seen[stream] = len(first.records) if first else 0
    return seen
