"""Which identity numbers are due, and the run that removes them (dry run unless asked).

A landing file is due `days` after the later of its arrival and the end date of the last group it
carried (tour groups loaded from it, or the groups of members loaded from it); a file landed by
several batches waits for the latest. A quarantine raw row is due `days` after its entry closed
(resolved or waived); open entries keep their raw row, which their fix template needs.

A landing file no batch records (a sync whose read failed after some bodies had landed, a crash
before the commit, a copy cut short under its temporary name) is due `days` after it was last
written, and never within `UNRECORDED_GRACE` of it: a running batch's files are unrecorded until it
commits (landing a file already there touches it, so a batch reusing an old one keeps it fresh).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from tourlink.retention import redaction
from warehouse import tables as t

UNRECORDED_GRACE = timedelta(days=1)


@dataclass
class Plan:
    days: int
    landing: list[tuple[str, str]] = field(default_factory=list)  # (landing_path, encrypt|redact|delete)
    quarantine_ids: list[int] = field(default_factory=list)
    unrecorded: set[str] = field(default_factory=set)  # of `landing`: files no batch records


@dataclass
class RetentionResult:
    plan: Plan
    applied: bool

    def to_json(self) -> dict:
        counts: dict[str, int] = defaultdict(int)
        for _path, action in self.plan.landing:
            counts[action] += 1
        return {"days": self.plan.days, "applied": self.applied, "landing": dict(counts),
                "landing_files": [p for p, _a in self.plan.landing], "unrecorded_files": len(self.plan.unrecorded),
                "quarantine_rows": len(self.plan.quarantine_ids)}


def _last_group_end(conn: sa.Connection) -> dict[str, date]:
    """landing_path → the latest end date of the groups its rows belong to."""
    bf, b, lf = t.batch_file, t.batch, t.lineage_file
    tg, gm = t.entity_tables["tour_group"], t.entity_tables["group_member"]
    # rows name their batch and their file by number: batch.batch_no, lineage_file.file_no
    files = bf.join(b, b.c.batch_id == bf.c.batch_id).join(lf, sa.and_(lf.c.batch_no == b.c.batch_no, lf.c.file == bf.c.file))
    direct = sa.select(bf.c.landing_path, tg.c.end_date).select_from(
        files.join(tg, sa.and_(tg.c._batch_no == lf.c.batch_no, tg.c._file_no == lf.c.file_no))
    )
    via_members = sa.select(bf.c.landing_path, tg.c.end_date).select_from(
        files.join(gm, sa.and_(gm.c._batch_no == lf.c.batch_no, gm.c._file_no == lf.c.file_no)).join(
            tg, sa.and_(tg.c.organizer_uscc == gm.c.organizer_uscc, tg.c.group_code == gm.c.group_code)
        )
    )
    both = sa.union_all(direct, via_members).subquery()
    stmt = sa.select(both.c.landing_path, sa.func.max(both.c.end_date)).group_by(both.c.landing_path)
    return {path: end for path, end in conn.execute(stmt) if end is not None}


def plan(engine: sa.Engine, landing_dir: Path, *, days: int, key: bytes | None, now: datetime | None = None) -> Plan:
    now = (now or datetime.now(UTC)).replace(tzinfo=None)
    cutoff = now - timedelta(days=days)
    result = Plan(days)
    bf, q = t.batch_file, t.quarantine
    with engine.connect() as conn:
        ends = _last_group_end(conn)
        arrived: dict[str, datetime] = {}
        for path, received in conn.execute(sa.select(bf.c.landing_path, sa.func.max(bf.c.received_at)).group_by(bf.c.landing_path)):
            arrived[path] = received
        result.quarantine_ids = list(conn.execute(
            sa.select(q.c.id).where(q.c.status.in_(("resolved", "waived", "superseded")), q.c.updated_at <= cutoff).order_by(q.c.id)
        ).scalars())
    for path, received in sorted(arrived.items()):
        end = ends.get(path)
        due_from = max(received, datetime(end.year, end.month, end.day) + timedelta(days=1)) if end else received
        if due_from > cutoff:
            continue
        action = redaction.landing_action(landing_dir / path, key)
        if action:
            result.landing.append((path, action))
    for path, action in _unrecorded(landing_dir, set(arrived), min(cutoff, now - UNRECORDED_GRACE), key):
        result.landing.append((path, action))
        result.unrecorded.add(path)
    return result


def _written(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)


def _unrecorded(landing_dir: Path, recorded: set[str], before: datetime, key: bytes | None) -> list[tuple[str, str]]:
    """Landing files (`<sha[:2]>/<name>`) no batch_file row names, last written before `before`."""
    due = []
    for path in sorted(landing_dir.glob("*/*")) if landing_dir.is_dir() else ():
        relative = path.relative_to(landing_dir).as_posix()
        if relative in recorded or not path.is_file() or _written(path) > before:
            continue
        action = "delete" if path.name.startswith(".landing-") else redaction.landing_action(path, key)
        if action:
            due.append((relative, action))
    return due


def _still_unrecorded(engine: sa.Engine, landing_dir: Path, path: str, before: datetime) -> bool:
    """Checked again just before acting: a batch may have landed the same content since the plan."""
    bf = t.batch_file
    with engine.connect() as conn:
        named = conn.execute(sa.select(bf.c.landing_path).where(bf.c.landing_path == path).limit(1)).first()
    file = landing_dir / path
    return named is None and file.is_file() and _written(file) <= before


def _redact_quarantine(engine: sa.Engine, ids: list[int]) -> int:
    """Mask the raw rows and rule values of these entries; returns how many changed."""
    q, changed = t.quarantine, 0
    with engine.begin() as conn:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for row in conn.execute(sa.select(q.c.id, q.c.raw, q.c.rules).where(q.c.id.in_(chunk))):
                raw, rules = redaction.redacted_raw(row.raw), redaction.redacted_rules(row.rules or [])
                if raw != row.raw or rules != row.rules:
                    conn.execute(q.update().where(q.c.id == row.id).values(raw=raw, rules=rules))
                    changed += 1
    return changed


def run(
    engine: sa.Engine, landing_dir: Path, *, days: int, key: bytes | None = None, apply: bool = False,
    now: datetime | None = None,
) -> RetentionResult:
    """Plan, and with `apply` carry out: landing files first (each atomically), then the raw rows."""
    due = plan(engine, landing_dir, days=days, key=key, now=now)
    if apply:
        before = (now or datetime.now(UTC)).replace(tzinfo=None) - max(timedelta(days=days), UNRECORDED_GRACE)
        for path, action in due.landing:
            if path in due.unrecorded and not _still_unrecorded(engine, landing_dir, path, before):
                continue
            redaction.apply_to_landing(landing_dir / path, action, key)
        _redact_quarantine(engine, due.quarantine_ids)
    return RetentionResult(due, apply)
