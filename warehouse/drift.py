"""Schema drift in the warehouse: the fields each sync of a source received, and the findings.

The comparison itself is pure (`tourlink.drift`); this module only reads a stream's last sightings
and records a new one with its findings, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from warehouse import tables as t

KEEP = 30  # sightings kept per source and stream: the comparison reads the last few, the table stays small


def last_sightings(engine: sa.Engine, source: str, stream: str, limit: int) -> list[dict[str, str]]:
    """The fields ({path: kind}) of the stream's last `limit` sightings, newest first."""
    sf = t.source_field
    recent = (
        sa.select(sf.c.sighting, sa.func.max(sf.c.seen_at).label("at"))
        .where(sf.c.source == source, sf.c.stream == stream)
        .group_by(sf.c.sighting).order_by(sa.desc("at"), sf.c.sighting.desc()).limit(limit)
        .subquery()
    )
    stmt = sa.select(sf.c.sighting, sf.c.field, sf.c.kind, recent.c.at).join(recent, recent.c.sighting == sf.c.sighting).where(
        sf.c.stream == stream
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    order = sorted({(at, s) for s, _, _, at in rows}, reverse=True)
    fields: dict[str, dict[str, str]] = {s: {} for _, s in order}
    for sighting, name, kind, _ in rows:
        fields[sighting][name] = kind
    return [fields[s] for _, s in order]


def record_sighting(
    engine: sa.Engine,
    *,
    sighting: str,
    source: str,
    at: datetime,
    fields: Mapping[str, Mapping[str, str]],
    findings: Iterable[Mapping[str, Any]],
) -> None:
    """Store one sync's fields (per stream: {path: kind}) and its findings, in one transaction; a
    stream's sightings beyond the last `KEEP` are dropped (findings are kept)."""
    field_rows = [
        {"sighting": sighting, "stream": stream, "field": name, "source": source, "kind": kind, "seen_at": at}
        for stream, received in fields.items() for name, kind in received.items()
    ]
    finding_rows = [{**f, "sighting": sighting, "source": source, "detected_at": at} for f in findings]
    with engine.begin() as conn:
        if field_rows:
            conn.execute(t.source_field.insert(), field_rows)
        if finding_rows:
            conn.execute(t.drift_finding.insert(), finding_rows)
        sf = t.source_field
        for stream in fields:
            mine = sa.and_(sf.c.source == source, sf.c.stream == stream)
            cutoff = conn.execute(
                sa.select(sf.c.seen_at).where(mine).group_by(sf.c.sighting, sf.c.seen_at)
                .order_by(sf.c.seen_at.desc()).offset(KEEP - 1).limit(1)
            ).scalar()
            if cutoff is not None:
                conn.execute(sf.delete().where(mine, sf.c.seen_at < cutoff))


def findings(engine: sa.Engine, sources: Sequence[str] | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Recorded findings, newest first (of `sources` only, when given)."""
    df = t.drift_finding
    stmt = sa.select(df).order_by(df.c.detected_at.desc(), df.c.id.desc()).limit(limit)
    if sources is not None:
        stmt = stmt.where(df.c.source.in_(list(sources)))
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(stmt)]
