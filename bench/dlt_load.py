"""The peer: dlt loading the bench's roster CSV into PostgreSQL (runs in bench/.venv-dlt, not tourlink's venv).

Usage: python dlt_load.py MODE CSV DSN DATASET      MODE: default | tuned | dicts
Prints one JSON line: {"rows", "seconds", "maxrss_kb"}.
"""

from __future__ import annotations

import csv
import os
import sys
from datetime import date

from dlt_pipeline import report, timed_run  # first: it turns telemetry off before dlt loads

# isort: split
import dlt  # noqa: E402

KEY = ["organizer_uscc", "group_code", "seq_no"]


def csv_rows(path: str):
    """As a user would by default: the csv module's dicts (all strings)."""
    with open(path, newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def typed_dicts(path: str):
    """As a REST source would feed it: one typed dict per record."""
    for row in csv_rows(path):
        row["seq_no"] = int(row["seq_no"])
        row["birth_date"] = date.fromisoformat(row["birth_date"])
        yield row


def arrow_tables(path: str):
    """The peer at its best: Arrow record batches straight from pyarrow's CSV reader."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = open(path, encoding="utf-8").readline().strip().split(",")
    types = {n: pa.string() for n in names} | {"seq_no": pa.int64(), "birth_date": pa.date32()}
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=16 << 20),
        convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True),
    )
    for batch in reader:
        yield pa.Table.from_batches([batch])


def main(mode: str, path: str, dsn: str, dataset: str) -> None:
    if mode == "tuned" or mode == "dicts":
        os.environ["DATA_WRITER__DISABLE_COMPRESSION"] = "true"
    hints = {"primary_key": KEY, "write_disposition": "merge"}
    if mode in ("tuned", "dicts"):
        hints["write_disposition"] = {"disposition": "merge", "strategy": "upsert"}
    data = {"default": csv_rows, "tuned": arrow_tables, "dicts": typed_dicts}[mode](path)
    resource_ = dlt.resource(data, name="group_member", **hints)
    _, _, seconds = timed_run(f"bench_{mode}_{dataset}", dsn, dataset, resource_)
    rows = sum(1 for _ in open(path, encoding="utf-8")) - 1
    report(rows=rows, seconds=seconds)


if __name__ == "__main__":
    main(*sys.argv[1:5])
