"""The sync bench's peer: dlt's `rest_api` source loading an ERP emulator's endpoints into PostgreSQL
(runs in bench/.venv-dlt, not tourlink's venv). No mapping, no validation: the vendor's records as
dlt's schema inference makes them (nested lists as child tables), merged on the vendor's key.

    python dlt_rest.py SOURCE URL CREDENTIALS_JSON DSN DATASET      SOURCE: sandbox_signed_json | sandbox_oauth_cursor

signed-json signs every request (HMAC-SHA256 over the sorted query and the body's hash, a fresh nonce,
SOURCES.md §1): dlt has no such auth, so `SignedJsonAuth` below is the custom auth class a dlt user
writes. Pages: signed-json by page number until an empty page (dlt's `PageNumberPaginator` reads a page
COUNT, the API returns a record count: one extra request per stream), oauth-cursor by its `next_cursor`,
members one request per group (a dependent resource). One request at a time: dlt's rest_api fetches
sequentially. Prints one JSON line: {"seconds", "records", "maxrss_kb"}.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sys
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dlt_pipeline import report, timed_run  # first: it turns telemetry off before dlt loads

# isort: split
from dlt.common.configuration import configspec  # noqa: E402
from dlt.common.typing import TSecretStrValue  # noqa: E402
from dlt.sources.helpers.rest_client.auth import AuthConfigBase, OAuth2ClientCredentials  # noqa: E402
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator, PageNumberPaginator  # noqa: E402
from dlt.sources.rest_api import rest_api_source  # noqa: E402


@configspec
class SignedJsonAuth(AuthConfigBase):
    """appId, timestamp (ms), nonce and sign added to the query of every request."""

    app_id: str = None
    sign_key: TSecretStrValue = None

    def __call__(self, request):  # noqa: ANN001, ANN204 - requests.PreparedRequest
        parts = urlsplit(request.url)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        params.pop("sign", None)
        params |= {"appId": self.app_id, "timestamp": str(int(time.time() * 1000)), "nonce": secrets.token_hex(8)}
        body = request.body or b""
        canonical = "&".join(f"{k}={params[k]}" for k in sorted(params))
        canonical += "&body=" + hashlib.sha256(body if isinstance(body, bytes) else body.encode()).hexdigest()
        params["sign"] = hmac.new(self.sign_key.encode(), canonical.encode(), hashlib.sha256).hexdigest().upper()
        request.url = urlunsplit(parts._replace(query=urlencode(params)))
        return request


def signed_json(url: str, creds: dict) -> dict:
    page = lambda: PageNumberPaginator(base_page=1, page_param="pageNo", total_path=None, stop_after_empty_page=True)  # noqa: E731
    return {
        "client": {"base_url": url, "auth": SignedJsonAuth(app_id=creds["app_id"], sign_key=creds["sign_key"])},
        "resource_defaults": {"write_disposition": "merge", "endpoint": {"data_selector": "data.list"}},
        "resources": [
            {"name": "teams", "primary_key": "teamNo",
             "endpoint": {"path": "openapi/v1/teams", "params": {"pageSize": 100}, "paginator": page()}},
            {"name": "contracts", "primary_key": "contractNo",
             "endpoint": {"path": "openapi/v1/contracts", "params": {"pageSize": 100}, "paginator": page()}},
        ],
    }  # fmt: skip


def oauth_cursor(url: str, creds: dict) -> dict:
    cursor = lambda: JSONResponseCursorPaginator(cursor_path="next_cursor", cursor_param="cursor")  # noqa: E731
    auth = OAuth2ClientCredentials(access_token_url=f"{url}/oauth/token", client_id=creds["client_id"],
                                   client_secret=creds["client_secret"])  # fmt: skip
    return {
        "client": {"base_url": url, "auth": auth},
        "resource_defaults": {"write_disposition": "merge", "endpoint": {"data_selector": "items"}},
        "resources": [
            {"name": "groups", "primary_key": "id",
             "endpoint": {"path": "api/v2/groups", "params": {"limit": 200}, "paginator": cursor()}},
            {"name": "members", "primary_key": ["_groups_id", "seq"], "include_from_parent": ["id"],
             "endpoint": {"path": "api/v2/groups/{resources.groups.id}/members", "paginator": "single_page"}},
            {"name": "contracts", "primary_key": "id",
             "endpoint": {"path": "api/v2/contracts", "params": {"limit": 200}, "paginator": cursor()}},
        ],
    }  # fmt: skip


def main(source: str, url: str, credentials: str, dsn: str, dataset: str) -> None:
    config = {"sandbox_signed_json": signed_json, "sandbox_oauth_cursor": oauth_cursor}[source](
        url, json.loads(credentials)
    )
    pipeline, info, seconds = timed_run(f"bench_rest_{dataset}", dsn, dataset, rest_api_source(config))
    counts = pipeline.last_trace.last_normalize_info.row_counts if pipeline.last_trace else {}
    records = sum(n for table, n in counts.items() if not table.startswith("_dlt"))
    info.raise_on_failed_jobs()
    report(seconds=seconds, records=records)


if __name__ == "__main__":
    main(*sys.argv[1:6])
