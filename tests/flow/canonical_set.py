"""A full canonical data set: the demo month's filings, every entity in its own file.

The demo's Chinese import templates are loaded once into a scratch warehouse; every entity is then
written back out as the canonical exchange format (`<entity>.csv` and `<entity>.jsonl`, canonical
field names as headers), with each group's itinerary added (the one entity no template carries) and
one group made bad (its children must be ORPHAN in every order). The same itinerary file goes beside
the templates, so the template set also holds a child file whose parents are in other files.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from tourlink import schema

BAD_GROUP_TOURISTS = "0"  # POSITIVE fails: the group is quarantined, its members, staff and days are ORPHAN


@dataclass
class DataSet:
    csv: list[Path]
    jsonl: list[Path]
    templates: list[Path]


def _itinerary(groups: pl.DataFrame) -> pl.DataFrame:
    rows = []
    for g in groups.iter_rows(named=True):
        abroad = g["group_type"] == "OUTBOUND"
        for day in range(2):
            rows.append({
                "organizer_uscc": g["organizer_uscc"],
                "group_code": g["group_code"],
                "day_no": str(day + 1),
                "date": str(g["start_date"] + timedelta(days=day)),
                "province_code": None if abroad else "21",
                "country": g["destinations"].split("|")[0] if abroad else None,
                "city": None,
            })
    return pl.DataFrame(rows, schema={c: pl.String for c in rows[0]})


def write_data_set(out: Path) -> DataSet:
    from devkit.demo.sample import write_sample
    from tourlink.flow import import_files
    from warehouse.load import Warehouse
    from warehouse.tables import entity_tables

    sample = write_sample(out / "templates")
    scratch = Warehouse(f"sqlite:///{out / 'scratch.db'}", landing_dir=out / "scratch-landing")
    import_files(sample.files, warehouse=scratch)
    frames: dict[str, pl.DataFrame] = {}
    with scratch.engine.connect() as conn:
        for name, entity in schema.entities().items():
            table = entity_tables[name]
            rows = [dict(r._mapping) for r in conn.execute(sa.select(*(table.c[f] for f in entity.field_names)))]
            if rows:
                frames[name] = pl.DataFrame(rows, infer_schema_length=None)
    scratch.engine.dispose()
    frames["group_itinerary"] = _itinerary(frames["tour_group"])
    bad = frames["tour_group"].row(0, named=True)
    frames = {name: df.with_columns(pl.col(c).cast(pl.String) for c in df.columns) for name, df in frames.items()}
    frames["tour_group"] = frames["tour_group"].with_columns(
        pl.when((pl.col("group_code") == bad["group_code"]) & (pl.col("organizer_uscc") == bad["organizer_uscc"]))
        .then(pl.lit(BAD_GROUP_TOURISTS)).otherwise(pl.col("tourist_count"))
        .alias("tourist_count")
    )
    written = DataSet([], [], [])
    for fmt, files in (("csv", written.csv), ("jsonl", written.jsonl)):
        folder = out / fmt
        folder.mkdir()
        for name, df in frames.items():
            path = folder / f"{name}.{fmt}"
            df.write_csv(path) if fmt == "csv" else df.write_ndjson(path)
            files.append(path)
    itinerary = out / "templates" / "group_itinerary.csv"
    shutil.copyfile(out / "csv" / "group_itinerary.csv", itinerary)
    written.templates = [*sample.files, itinerary]
    return written


def parents_first(files: list[Path]) -> list[Path]:
    """The order a careful user would give: every parent's file before its children's."""
    order = list(schema.entities())
    return sorted(files, key=lambda p: order.index(p.stem) if p.stem in order else -1)


def snapshot(engine: sa.Engine, *, ignore: tuple[str, ...] = ()) -> dict[str, list]:
    """Every stored row of every entity, the quarantine and the findings, without batch ids or times
    (nor the `ignore`d fields: a template without 更新时间 stamps `updated_at` with the batch's time)."""
    from warehouse.tables import entity_tables, lineage_file

    out: dict[str, list] = {}
    with engine.connect() as conn:
        for name, entity in schema.entities().items():
            table = entity_tables[name]
            # the file by name: its number is the order the batch met its files in
            cited = table.outerjoin(
                lineage_file, sa.and_(lineage_file.c.batch_no == table.c._batch_no, lineage_file.c.file_no == table.c._file_no)
            )
            fields = [table.c[f] for f in entity.field_names if f not in ignore]
            rows = conn.execute(sa.select(*fields, lineage_file.c.file, table.c._row).select_from(cited)).all()
            out[name] = sorted((tuple(r) for r in rows), key=repr)
        q = conn.execute(sa.text("select entity, file, row, natural_key, rules from quarantine")).all()
        out["quarantine"] = sorted(tuple(map(repr, r)) for r in q)
        f = conn.execute(sa.text("select entity, natural_key, rule, field from finding")).all()
        out["finding"] = sorted(tuple(map(repr, r)) for r in f)
    return out
