"""The audit log's hash chain: each row's hash covers its content and the previous row's hash.

Editing a row changes its content (its hash no longer matches); deleting one leaves the next row
pointing at a hash that is not its predecessor's. Both show in `verify`. Removing the newest rows
keeps the chain intact, which is why `verify` also reports the head (id and hash) for an operator to
compare with the one noted before, and why the database refuses DELETE in the first place.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from warehouse import tables as t

GENESIS = "0" * 64
# The columns a row's hash covers, in this order (everything but the two hash columns).
HASHED = ("id", "at", "actor", "role", "channel", "origin", "action", "region", "target", "rows", "unmasked",
          "outcome", "detail")  # fmt: skip


def canonical(row: Mapping[str, Any]) -> str:
    """The row's hashed content as one JSON text, the same however the database returns the values."""

    def plain(name: str) -> Any:
        value = row[name]
        if isinstance(value, datetime):
            return value.isoformat(timespec="microseconds")
        if name == "unmasked":
            return bool(value)
        return value

    return json.dumps([plain(n) for n in HASHED], ensure_ascii=False, separators=(",", ":"))


def row_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical(row)}".encode()).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """Where the chain breaks: the row whose content or predecessor does not match."""

    id: int
    problem: str  # "edited" (content hash differs) or "missing-before" (its predecessor is gone or changed)
    message_zh: str


@dataclass(frozen=True)
class Verification:
    rows: int
    head_id: int | None
    head_hash: str
    breaks: list[ChainBreak]

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify_rows(rows: Iterable[Mapping[str, Any]]) -> Verification:
    """Walk the rows in id order, recomputing each hash from the previous one."""
    prev, count, head_id, breaks = GENESIS, 0, None, []
    for row in rows:
        count += 1
        if row["prev_hash"] != prev:
            breaks.append(ChainBreak(row["id"], "missing-before", f"第 {row['id']} 条之前的记录被删除或改动（链断开）"))
        if row_hash(row["prev_hash"], row) != row["hash"]:
            breaks.append(ChainBreak(row["id"], "edited", f"第 {row['id']} 条记录的内容被改动（哈希不符）"))
        prev, head_id = row["hash"], row["id"]
    return Verification(count, head_id, prev, breaks)


def verify(engine: sa.Engine) -> Verification:
    """Recompute the whole chain of `audit_event` (streamed, in id order)."""
    a = t.audit_event
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=5000).execute(sa.select(a).order_by(a.c.id))
        return verify_rows(r._mapping for r in result)
