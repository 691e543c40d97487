"""What a steward does to a quarantine entry: list it, waive it, see it resolved. Nothing is deleted.

Every status change is an UPDATE of the entry's `status` plus one `quarantine_history` row (who, when,
why, which batch), in one transaction. Only open entries change: a resolved or waived entry stays as
it is, so history reads as a straight line open → resolved | waived.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

import sqlalchemy as sa

from tourlink.masking import mask_issue
from tourlink.report.failures import Scope, _scoped, in_region
from warehouse import tables as t


class EntryError(Exception):
    """A status change a steward asked for cannot be made; `reason_zh` says why, in Chinese."""

    def __init__(self, message: str, reason_zh: str):
        super().__init__(message)
        self.reason_zh = reason_zh


class EntryNotFound(EntryError):
    pass


class OutsideRegion(EntryError):
    """The entry belongs to another region than the steward's (统一平台，分级管理)."""


class NotOpen(EntryError):
    pass


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def files_with_entries(conn: sa.Connection, scope: Scope) -> list[str]:
    """The names of the files holding entries of `scope` with its file filter left out, sorted: what
    a steward who named a file no entry has may have meant."""
    everywhere = dataclasses.replace(scope, file=None)
    return sorted({PurePath(e["file"]).name for e in list_entries(conn, everywhere, masked=False) if e["file"]})


def list_entries(conn: sa.Connection, scope: Scope, *, masked: bool = True) -> list[dict[str, Any]]:
    """Entries as `{"id", "batch_id", "file", "row", "entity", "key", "rules", "status", ...}`.

    Rule values and messages are masked (this output ends up in terminals and tickets) unless
    `masked=False`.
    """
    out = []
    for row in conn.execute(_scoped(scope)):
        rules = row.rules if not isinstance(row.rules, str) else json.loads(row.rules)
        if scope.rule and scope.rule not in {r.get("rule") for r in rules}:
            continue
        if masked:
            rules = [mask_issue(r, entity=row.entity) for r in rules]
        out.append(
            {
                "id": row.id,
                "batch_id": row.batch_id,
                "source": row.source,
                "file": row.file,
                "row": row.row,
                "entity": row.entity,
                "key": _key(row.natural_key),
                "agency_uscc": row.agency_uscc,
                "division_code": row.division_code,
                "rules": rules,
                "status": row.status,
                "status_reason": row.status_reason,
            }
        )
    return out


def _key(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def _entry(conn: sa.Connection, quarantine_id: int) -> Any:
    q, ta = t.quarantine, t.entity_tables["travel_agency"]
    row = conn.execute(
        sa.select(q.c.id, q.c.status, sa.func.coalesce(q.c.division_code, ta.c.division_code).label("division_code"))
        .select_from(q.outerjoin(ta, ta.c.uscc == q.c.agency_uscc))
        .where(q.c.id == quarantine_id)
    ).first()
    if row is None:
        raise EntryNotFound(f"quarantine entry {quarantine_id} does not exist", f"隔离记录 {quarantine_id} 不存在")
    return row


def check_region(conn: sa.Connection, quarantine_id: int, region: str | None) -> None:
    """Raise `OutsideRegion` unless the entry belongs to `region` (None: national, every entry)."""
    row = _entry(conn, quarantine_id)
    if not in_region(row.division_code, region):
        raise OutsideRegion(
            f"quarantine entry {quarantine_id} is outside region {region}", f"隔离记录 {quarantine_id} 不属于您管辖的地区"
        )


def waive(
    conn: sa.Connection, quarantine_id: int, reason: str, *, actor: str | None = None, region: str | None = None
) -> None:
    """Mark an open entry `waived` with the steward's reason (required) and a history row."""
    reason = (reason or "").strip()
    if not reason:
        raise EntryError("a waiver needs a reason", "豁免必须填写原因")
    check_region(conn, quarantine_id, region)
    _change(conn, [quarantine_id], "waived", reason=reason, actor=actor, batch_id=None)


def resolve(conn: sa.Connection, quarantine_ids: Iterable[int], batch_id: str, *, actor: str = "replay") -> list[int]:
    """Mark open entries `resolved` by a batch that loaded their corrected rows; returns those changed."""
    ids = list(quarantine_ids)
    if not ids:
        return []
    open_ids = [
        i for (i,) in conn.execute(sa.select(t.quarantine.c.id).where(t.quarantine.c.id.in_(ids), t.quarantine.c.status == "open"))
    ]
    if open_ids:
        _change(conn, open_ids, "resolved", reason="更正后重新导入", actor=actor, batch_id=batch_id)
    return open_ids


def _change(
    conn: sa.Connection, ids: list[int], status: str, *, reason: str | None, actor: str | None, batch_id: str | None
) -> None:
    now = _now()
    q = t.quarantine
    values: dict[str, Any] = {"status": status, "status_reason": reason, "updated_at": now}
    if status == "resolved":
        values["resolved_by_batch"] = batch_id
    changed = conn.execute(q.update().where(q.c.id.in_(ids), q.c.status == "open").values(**values)).rowcount
    if changed != len(ids):
        raise NotOpen(f"quarantine entries {ids} are not all open", "该记录已处理（已修正或已豁免），不能再次更改")
    conn.execute(
        t.quarantine_history.insert(),
        [{"quarantine_id": i, "at": now, "status": status, "actor": actor, "reason": reason, "batch_id": batch_id} for i in ids],
    )


def history(conn: sa.Connection, quarantine_id: int) -> list[dict[str, Any]]:
    h = t.quarantine_history
    rows = conn.execute(sa.select(h).where(h.c.quarantine_id == quarantine_id).order_by(h.c.at, h.c.id)).mappings()
    return [dict(r) for r in rows]
