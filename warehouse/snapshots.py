"""Published indicator snapshots (D-PUB-1): a month's figures frozen with a version and a timestamp.

Late filings and cancellations after publication change only later versions. This module only ever
INSERTs into `indicator_snapshot`; there is no update path. Publishing figures identical to the
latest version (same SHA-256 digest) returns that version instead of adding a new one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from warehouse.engine import open_connection
from warehouse.indicators import compute_all_regions
from warehouse.regions import Month
from warehouse.tables import indicator_snapshot


@dataclass(frozen=True)
class Snapshot:
    month: str
    version: int
    published_at: datetime  # naive UTC
    figures: list[dict]  # [{region, indicator, numerator, denominator, value}]
    reason: str | None = None  # why this restatement was published (None for a first version)


def _figures_json(figures) -> list[dict]:
    out = []
    for f in figures:
        d = f.as_dict()
        del d["month"]
        out.append(d)
    return out


def digest(figures: list[dict]) -> str:
    """SHA-256 of the figures in a canonical JSON form (key order and region order fixed)."""
    ordered = sorted(figures, key=lambda d: (d["region"], d["indicator"]))
    return hashlib.sha256(json.dumps(ordered, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class MissingReason(ValueError):
    """A restatement (the figures changed since the last published version) was published without a reason."""


def publish(conn, month: str, *, reason: str | None = None, require_reason: bool = False) -> Snapshot:
    """Freeze `month`'s figures for the nation, every province and every prefecture with an agency.

    Give a Connection to publish inside the caller's transaction; given an Engine, one transaction here.
    """
    if isinstance(conn, sa.Engine):
        with conn.begin() as c:
            return publish(c, month, reason=reason, require_reason=require_reason)
    m = Month.parse(month)
    figures = _figures_json(compute_all_regions(conn, m.label))
    d = digest(figures)
    latest = conn.execute(
        sa.select(indicator_snapshot)
        .where(indicator_snapshot.c.month == m.label)
        .order_by(indicator_snapshot.c.version.desc())
        .limit(1)
    ).mappings().first()
    if latest is not None and latest["digest"] == d:
        return _snapshot(latest)
    if latest is not None and require_reason and not (reason or "").strip():
        raise MissingReason(f"{m.label}: the figures changed since version {latest['version']}; a restatement needs a reason")
    row = {
        "month": m.label,
        "version": (latest["version"] + 1) if latest else 1,
        "published_at": datetime.now(UTC).replace(tzinfo=None, microsecond=0),
        "figures": figures,
        "digest": d,
        "reason": (reason or "").strip() or None,
    }
    conn.execute(indicator_snapshot.insert(), row)  # a concurrent publisher fails on the primary key
    return _snapshot(row)


def versions(conn, month: str) -> list[Snapshot]:
    """Every published version of `month`, oldest first."""
    m = Month.parse(month)
    with open_connection(conn) as c:
        rows = c.execute(
            sa.select(indicator_snapshot).where(indicator_snapshot.c.month == m.label).order_by(indicator_snapshot.c.version)
        ).mappings()
        return [_snapshot(r) for r in rows]


def latest(conn, month: str) -> Snapshot | None:
    """The newest published version of `month`, or None when it was never published."""
    all_versions = versions(conn, month)
    return all_versions[-1] if all_versions else None


def _snapshot(row) -> Snapshot:
    figures = row["figures"]
    if isinstance(figures, str):
        figures = json.loads(figures)
    return Snapshot(row["month"], row["version"], row["published_at"], figures, row.get("reason"))


def version(conn, month: str, number: int) -> Snapshot | None:
    """Published version `number` of `month`, or None."""
    return next((v for v in versions(conn, month) if v.version == number), None)


def diff(old: Snapshot, new: Snapshot, region: str | None = None) -> list[dict]:
    """The figures that differ between two versions (optionally of one region), by region and indicator."""
    def keyed(s: Snapshot) -> dict[tuple[str, int], dict]:
        return {(f["region"], f["indicator"]): f for f in s.figures if region is None or f["region"] == region}

    a, b = keyed(old), keyed(new)
    out = []
    for key in sorted(set(a) | set(b)):
        before, after = a.get(key), b.get(key)
        if before != after:
            out.append({"region": key[0], "indicator": key[1], "old": before, "new": after})
    return out
