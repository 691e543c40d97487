"""Replay a corrected workbook: re-validate and load its rows as a new batch, and close what they fix.

Each data sheet of the returned correction workbook becomes one import-template file (its rows at
their original row numbers) and all of them go through `tourlink.pipeline.import_files` as ONE batch
with source `replay`, owned by the agency the workbook was exported for (a workbook cannot carry
another agency's rows). The warehouse resolves open entries whose entity and natural key loaded.
Entries the agency fixed by changing a key field (a wrong 序号 or 团号) cannot be found by key, so
the hidden `隔离编号` column links them: an entry whose corrected row this batch loaded (the core
row's lineage names the replayed file and row) is resolved here, after the batch committed.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tourlink.report import stewardship
from tourlink.report.fix_template import read_fix_template, write_import_file
from warehouse import tables as t

SOURCE = "replay"


@dataclass
class ReplayResult:
    batch_id: str | None
    files: list[str]
    entities: dict[str, Any]
    resolved: list[int] = field(default_factory=list)  # entries of the workbook now resolved
    # entries whose corrected row failed again: still open, or superseded by the entry the replay opened
    still_open: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "files": self.files,
            "entities": self.entities,
            "resolved": self.resolved,
            "still_open": self.still_open,
        }


def _safe(text: str) -> str:
    return re.sub(r"[^\w\-.一-鿿]+", "_", text)[:60] or "sheet"


def _committed_batch(conn: sa.Connection, names: list[str]) -> str | None:
    """The warehouse's id of the batch that just landed these files (the id rows and quarantine carry)."""
    b, f = t.batch, t.batch_file
    return conn.execute(
        sa.select(b.c.batch_id)
        .select_from(b.join(f, f.c.batch_id == b.c.batch_id))
        .where(f.c.file.in_(names), b.c.status == "committed", b.c.source == SOURCE)
        .order_by(b.c.started_at.desc())
        .limit(1)
    ).scalar()


def replay(path: Path, *, engine: sa.Engine | None = None, warehouse: Any = None, progress: bool = False) -> ReplayResult:
    """Load the corrected rows of `path` and resolve the quarantine entries they answer."""
    from tourlink import pipeline

    workbook = read_fix_template(path)
    sheets = [s for s in workbook.sheets if s.rows]
    if warehouse is None:
        from warehouse.load import Warehouse

        warehouse = Warehouse(url=engine.url.render_as_string(hide_password=False) if engine is not None else None)
    if engine is None:
        engine = warehouse.engine
    if not sheets:
        return ReplayResult(None, [], {})
    with tempfile.TemporaryDirectory(prefix="tourlink-replay-") as tmp:
        files, names, rows_of = [], [], {}
        for sheet in sheets:
            name = f"{path.name}[{sheet.title}]"
            target = Path(tmp) / f"{len(files):02d}-{_safe(sheet.title)}.xlsx"
            write_import_file(sheet, target)
            files.append(target)
            names.append(name)
            rows_of[name] = sheet.rows
        result = pipeline.import_files(
            files, source=SOURCE, names=names, owner_uscc=workbook.agency, warehouse=warehouse, progress=progress
        )
    with engine.begin() as conn:
        batch_id = _committed_batch(conn, names) or result.batch_id
        q, lf = t.quarantine, t.lineage_file
        ids = [i for rows in rows_of.values() for _n, _cells, row_ids in rows for i in row_ids]
        entity_of = dict(conn.execute(sa.select(q.c.id, q.c.entity).where(q.c.id.in_(ids))).all()) if ids else {}
        loaded: set[tuple[str, str, int]] = set()
        for entity in set(entity_of.values()):
            table = t.entity_tables[entity]
            loaded |= {
                (entity, f, r)
                for f, r in conn.execute(
                    sa.select(lf.c.file, table.c._row)
                    .join(t.batch, t.batch.c.batch_no == table.c._batch_no)
                    .join(lf, sa.and_(lf.c.batch_no == table.c._batch_no, lf.c.file_no == table.c._file_no))
                    .where(t.batch.c.batch_id == batch_id, lf.c.file.in_(names))
                )
            }
        # entries whose corrected row loaded under a new key (the key field itself was the mistake)
        fixed = [
            i
            for name, rows in rows_of.items()
            for n, _cells, row_ids in rows
            for i in row_ids
            if i in entity_of and (entity_of[i], name, n) in loaded
        ]
        stewardship.resolve(conn, fixed, batch_id)
        status = dict(conn.execute(sa.select(q.c.id, q.c.status).where(q.c.id.in_(ids))).all()) if ids else {}
    return ReplayResult(
        batch_id=batch_id,
        files=names,
        entities={k: vars(v) for k, v in result.entities.items()},
        resolved=sorted(i for i, s in status.items() if s == "resolved"),
        still_open=sorted(i for i, s in status.items() if s in ("open", "superseded")),
    )
