"""Writing and reading audit events: one row per action, appended under a lock so the chain is linear."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tourlink.audit.chain import GENESIS, row_hash
from tourlink.masking import mask_text
from warehouse import tables as t
from warehouse.engine import SQLITE_BEGIN

# PostgreSQL advisory lock key ("tlau"): appenders in any process take turns at the chain's head.
_LOCK = 0x746C6175
CHANNELS = ("web", "cli", "airflow")
OUTCOMES = ("ok", "denied", "failed")


@dataclass(frozen=True)
class Event:
    """One action. `region` is the scope acted on (None: national); `unmasked` says whether full
    identity numbers left the system (fix templates); `rows` how many rows were shown or written."""

    actor: str
    action: str
    channel: str
    role: str | None = None
    origin: str | None = None
    region: str | None = None
    target: str | None = None
    rows: int | None = None
    unmasked: bool = False
    outcome: str = "ok"
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"audit channel must be one of {CHANNELS}, got {self.channel!r}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"audit outcome must be one of {OUTCOMES}, got {self.outcome!r}")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def record(engine: sa.Engine, event: Event, *, at: datetime | None = None) -> int:
    """Append `event` in its own transaction (so a denied or failed action is logged too); its id.

    Free text (target, detail) is masked first: the audit log itself never holds an identity number.
    """
    a = t.audit_event
    with engine.connect() as conn:
        conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k, hashtext(current_schema()))"), {"k": _LOCK})
            last = conn.execute(sa.select(a.c.id, a.c.hash).order_by(a.c.id.desc()).limit(1)).first()
            row = {
                "id": (last.id + 1) if last else 1,
                "at": at or _now(),
                "actor": event.actor,
                "role": event.role,
                "channel": event.channel,
                "origin": event.origin,
                "action": event.action,
                "region": event.region,
                "target": mask_text(event.target),
                "rows": event.rows,
                "unmasked": event.unmasked,
                "outcome": event.outcome,
                "detail": mask_text(json.dumps(event.detail, ensure_ascii=False, sort_keys=True)) if event.detail else None,
            }
            prev = last.hash if last else GENESIS
            conn.execute(a.insert().values(**row, prev_hash=prev, hash=row_hash(prev, row)))
    return row["id"]


def query(
    engine: sa.Engine,
    *,
    actor: str | None = None,
    action: str | None = None,
    region: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Events, oldest first. `region` is a prefix: `21` finds the province's and its cities' events
    (national events, region null, only when no region is asked for); `since`/`until` naive UTC."""
    a = t.audit_event
    stmt = sa.select(a).order_by(a.c.id)
    if actor:
        stmt = stmt.where(a.c.actor == actor)
    if action:
        stmt = stmt.where(a.c.action == action)
    if region:
        stmt = stmt.where(a.c.region.like(region + "%"))
    if since:
        stmt = stmt.where(a.c.at >= since)
    if until:
        stmt = stmt.where(a.c.at < until)
    if limit:
        stmt = stmt.order_by(None).order_by(a.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    rows.sort(key=lambda r: r["id"])
    for r in rows:
        r["detail"] = json.loads(r["detail"]) if r["detail"] else {}
        r["unmasked"] = bool(r["unmasked"])
    return rows
