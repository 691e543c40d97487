"""Tombstones of `oauth-cursor` (`{"id": …, "deleted": true}`), completed by the reader, not the mapping.

A tombstone lacks every required field (dates, type, agency) and the canonical rows do not carry the
vendor's ids. So the reader keeps the last full record it saw of every group id as connector STATE:
`watermark` rows named `groups#known/NN` (16 hash buckets of `{id: record}` JSON). The flow reads
them from the warehouse before the read and commits the touched buckets in the same transaction as
the rows and watermarks they describe — a killed sync leaves rows and state consistent, and every
worker (CLI, an Airflow extract on another machine, a fresh TOURLINK_HOME) sees the same state. A
tombstone becomes that record with status `cancelled` and `modified_at` = the window end; one of a
group never seen is left bare (`{"id", "deleted"}`), and dropped before mapping (logged).
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")
KNOWN_STATE = "groups#known/"  # warehouse state rows of the oauth-cursor tombstone store
KNOWN_BUCKETS = 16


def known_bucket(group_id: str) -> str:
    """The state row holding `group_id` (stable across processes: crc32, not hash())."""
    return f"{KNOWN_STATE}{zlib.crc32(group_id.encode()) % KNOWN_BUCKETS:02d}"


def complete_tombstones(
    pages: list[tuple[str, list[dict[str, Any]], bytes]], state: Mapping[str, str], end: datetime, *, source: str
) -> dict[str, str]:
    """Replace each tombstone on `pages` by its group's last known record, cancelled at `end`, and
    remember every live record; returns the touched state buckets (to commit with the rows)."""
    buckets = {name: json.loads(value) for name, value in state.items() if name.startswith(KNOWN_STATE)}
    touched: set[str] = set()
    stamp = end.astimezone(SHANGHAI).isoformat()
    for _, records, _ in pages:
        for i, r in enumerate(records):
            bucket = known_bucket(str(r["id"]))
            if not r.get("deleted"):
                buckets.setdefault(bucket, {})[str(r["id"])] = {k: v for k, v in r.items() if k != "members"}
                touched.add(bucket)
                continue
            stored = buckets.get(bucket, {}).get(str(r["id"]))
            if stored is None:
                log.warning("%s: tombstone of unknown group id %s skipped", source, r["id"])
                records[i] = {"id": r["id"], "deleted": True}
                continue
            records[i] = {**stored, "status": "cancelled", "modified_at": stamp, "members": [], "deleted": True}
    return {b: json.dumps(buckets[b], ensure_ascii=False, sort_keys=True) for b in sorted(touched)}


def bare_tombstone(record: dict[str, Any]) -> bool:
    """A tombstone `complete_tombstones` could not complete (`{"id", "deleted"}` only): nothing to map."""
    return bool(record.get("deleted")) and len(record) <= 2
