"""Stage by stage: read → map → validate → merge of N canonical group_member rows into SQLite.

Runs the pipeline's own `stage` and `commit` one after the other (as the Airflow tasks do; `tourlink import`
overlaps them) and prints rows/s per stage beside a reference for that stage on the same machine and data:

- read: pyarrow's CSV reader into Arrow, all columns as text (the floor for parsing the file);
- validate: python-stdnum's `cn.ric.is_valid` per row on the same ID column (what row-by-row costs);
- merge: sqlite3 `executemany` of the same rows into a bare table without a key (the insert floor).

Usage: `.venv/bin/python bench/spine_stages.py [--rows 1000000]` (part of `make bench`, not of the tests).
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
from stdnum.cn import ric

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

ORGANIZER = "91210102MA0U12345T"


def resident_ids(n: int) -> pl.Series:
    """n distinct, valid resident IDs (Shenyang 和平区, born 1950–1999), check characters computed column-wise."""
    from validators.identifiers import mod11_2_check

    seq = pl.int_range(0, n, eager=True)
    birth = (pl.lit(19500000) + (seq % 50) * 10000 + (seq // 50 % 12 + 1) * 100 + (seq // 600 % 28 + 1)).cast(pl.String)
    body = pl.lit("210102") + birth + (seq // 16800 % 1000).cast(pl.String).str.zfill(3)
    frame = pl.DataFrame({"s": seq}).select(body=body)
    return frame.select(id=pl.col("body") + mod11_2_check(pl.col("body") + pl.lit("0")))["id"]


def write_inputs(directory: Path, rows: int, per_group: int = 50) -> tuple[Path, Path]:
    groups = rows // per_group
    codes = pl.int_range(0, groups, eager=True).cast(pl.String).str.zfill(7)
    pl.DataFrame({
        "group_code": "G" + codes, "organizer_uscc": ORGANIZER, "group_type": "DOMESTIC", "start_date": "2026-10-01",
        "end_date": "2026-10-03", "destinations": "21", "tourist_count": per_group, "status": "SUBMITTED",
        "submitted_at": "2026-09-20 10:00:00", "updated_at": "2026-09-20 10:00:00",
    }).write_csv(directory / "tour_group.csv")
    ids = resident_ids(rows)
    seq = pl.int_range(0, rows, eager=True)
    members = pl.DataFrame({
        "organizer_uscc": ORGANIZER,
        "group_code": "G" + (seq // per_group).cast(pl.String).str.zfill(7),
        "seq_no": seq % per_group + 1,
        "name": "王伟",
        "gender": pl.Series(["M", "F"] * (rows // 2 + 1))[:rows],
        "birth_date": ids.str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d"),
        "doc_type": "CN_RIC",
        "doc_no": ids,
        "nationality": "CHN",
        "mobile": "13812345678",
        "residence_province": "21",
    }).with_columns(gender=pl.when(pl.col("doc_no").str.slice(16, 1).cast(pl.Int64) % 2 == 1).then(pl.lit("M")).otherwise(pl.lit("F")))
    members.write_csv(directory / "group_member.csv")
    return directory / "tour_group.csv", directory / "group_member.csv"


def reference_read(path: Path) -> float:
    import pyarrow.csv as pacsv

    started = time.perf_counter()
    names = path.open(encoding="utf-8").readline().strip().split(",")
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types={n: "string" for n in names}))
    assert table.num_rows > 0
    return time.perf_counter() - started


def reference_validate(path: Path, sample: int) -> float:
    ids = pl.read_csv(path, columns=["doc_no"], n_rows=sample, schema_overrides={"doc_no": pl.String})["doc_no"].to_list()
    started = time.perf_counter()
    for value in ids:
        ric.is_valid(value)
    return time.perf_counter() - started  # seconds for `sample` rows


def reference_insert(path: Path) -> float:
    frame = pl.read_csv(path, infer_schema=False)
    rows = frame.rows()
    with tempfile.TemporaryDirectory() as tmp, sqlite3.connect(Path(tmp) / "bare.db") as conn:
        conn.execute(f"create table bare ({', '.join(frame.columns)})")
        started = time.perf_counter()
        conn.executemany(f"insert into bare values ({', '.join('?' * len(frame.columns))})", rows)
        conn.commit()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TOURLINK_HOME"] = tmp
        os.environ.pop("TOURLINK_WAREHOUSE_URL", None)
        from tourlink.pipeline import commit, file_inputs, stage
        from warehouse.load import Warehouse

        groups_csv, members_csv = write_inputs(Path(tmp), args.rows)
        wh = Warehouse()
        inputs = file_inputs([groups_csv, members_csv], [groups_csv.name, members_csv.name])
        staged, _ = stage(inputs, source="bench", warehouse=wh)
        timings = dict(staged.timings)
        result = commit(staged, warehouse=wh)
        timings["merge"] = result.timings["merge"]
        loaded = result.entities["group_member"].loaded
        started = time.perf_counter()
        again = commit(stage(file_inputs([groups_csv, members_csv], [groups_csv.name, members_csv.name]),
                             source="bench", warehouse=wh)[0], warehouse=wh)
        reload_seconds = time.perf_counter() - started
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the references: theirs is not ours
        sample = 100_000
        refs = {
            "read": reference_read(members_csv),
            "validate": reference_validate(members_csv, sample) * args.rows / sample,
            "merge": reference_insert(members_csv),
        }
    n = args.rows
    print(f"\n{n:,} canonical group_member rows (+ {n // 50:,} tour_group rows), SQLite, {os.cpu_count()} cores")
    print(f"{'stage':<10}{'tourlink s':>12}{'rows/s':>14}   {'reference':<44}{'ref s':>9}{'ref rows/s':>14}")
    labels = {"read": "pyarrow CSV read, all text", "map": "", "validate": "stdnum cn.ric.is_valid per row (extrapolated)",
              "merge": "sqlite3 executemany into a bare table"}
    for name in ("read", "map", "validate", "merge"):
        seconds = timings.get(name, 0.0)
        ref = refs.get(name)
        ref_cols = f"{labels[name]:<44}{ref:>9.2f}{n / ref:>14,.0f}" if ref else f"{'—':<44}"
        print(f"{name:<10}{seconds:>12.2f}{n / seconds if seconds else 0:>14,.0f}   {ref_cols}")
    total = sum(timings.get(s, 0.0) for s in ("read", "map", "validate", "stage", "merge"))
    print(f"{'total':<10}{total:>12.2f}{n / total:>14,.0f}   loaded {loaded:,}; "
          f"re-load of the same file: {reload_seconds:.2f}s, {again.entities['group_member'].unchanged:,} unchanged")
    print(f"peak memory of tourlink's stage + commit (ru_maxrss before the references ran): {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
