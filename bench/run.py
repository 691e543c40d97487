"""`make bench`, the load: the load path end to end beside its ceiling (`psql \\copy`) and its peer (dlt).

Generates N canonical `group_member` rows (12 columns, default 1,000,000) as CSV (plus the tour_group
CSV they belong to) and the first `--xlsx-rows` of them as the 团队名单 xlsx template, then measures
every contender `--runs` times (default 3; `protocol`): tourlink read → map → validate → merge into
PostgreSQL and SQLite (first load, an unchanged re-load re-validated row by row, the same files skipped
by their SHA-256), `psql \\copy` of the clean CSV into a bare table, and dlt three ways. Prints ONE
Markdown table: medians and ranges, ratios to \\copy and dlt taken within each run, peak RSS per contender.

    python bench/run.py [--rows N] [--runs R] [--only copy,pg,dlt-tuned] [--xlsx-rows M] [--skip-dlt]
                        [--skip-xlsx] [--skip-sqlite] [--pg-url URL] [--markdown FILE]

Contenders (`--only`): copy, pg, sqlite, xlsx-pg, xlsx-sqlite, dlt-default, dlt-tuned, dlt-dicts.
dlt runs from its own virtualenv, bench/.venv-dlt (`dlt_venv`). Not part of the tests.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

from dlt_venv import ensure_dlt, run_dlt
from load_table import e2e_rows, report
from postgres import DEFAULT_PG, Scratch, psql_copy
from protocol import RUNS, Contender, measure
from stages import E2E_RUNS, child

BENCH = Path(__file__).resolve().parent
# The xlsx roster is smaller by default: a 1,000,000-row sheet takes ~25 s to write and ~2.5 min per
# load on 2 shared cores (calamine holds the whole sheet), four loads of it would double the bench.
XLSX_ROWS = 200_000
DLT_MODES = (
    ("dlt-default", "default", "dlt merge, csv reader (default)"),
    ("dlt-tuned", "tuned", "dlt upsert, Arrow, no compression (tuned)"),
    ("dlt-dicts", "dicts", "dlt upsert, generator of dicts (REST-like)"),
)


def tourlink_contender(
    key: str, db: str, kind: str, rows: int, files: list[Path], opts: argparse.Namespace
) -> Contender:
    def run() -> list[dict]:
        target = Scratch(opts.pg_url) if db == "PostgreSQL" else None
        url = target.url if target else f"sqlite:///{opts.out / f'e2e-{uuid.uuid4().hex[:8]}.db'}"
        try:
            return e2e_rows(db, kind, rows, child("e2e", url, str(len(E2E_RUNS)), *map(str, files)))
        finally:
            if target:
                target.drop()
            else:
                for db_file in opts.out.glob(url.rsplit("/", 1)[1] + "*"):
                    db_file.unlink()

    return Contender(key, f"tourlink {kind} → {db}", run)


def dlt_contender(
    key: str, mode: str, label: str, members: Path, scratch: Scratch, opts: argparse.Namespace
) -> Contender:
    def run() -> list[dict]:
        python = ensure_dlt()
        dataset = f"{scratch.name}_dlt_{mode}_{uuid.uuid4().hex[:4]}"
        try:
            r = (
                run_dlt(python, "dlt_load.py", [mode, str(members), scratch.libpq, dataset], opts.out)
                if python
                else {"error": "no dlt venv"}
            )
        finally:
            scratch.drop_schemas(dataset, f"{dataset}_staging")
        return [
            {"name": label, "input": "CSV", "rows": opts.rows, **r, "note": "loads only: no mapping, no validation"}
        ]

    return Contender(key, label, run)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=RUNS, help=f"rounds of every contender (default {RUNS})")
    parser.add_argument("--only", help="comma-separated contenders (see above); default all")
    parser.add_argument(
        "--xlsx-rows", type=int, default=XLSX_ROWS, help=f"rows of the xlsx roster (default {XLSX_ROWS:,})"
    )
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    parser.add_argument("--skip-dlt", action="store_true")
    parser.add_argument("--skip-xlsx", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    return parser.parse_args()


def main() -> None:
    opts = parse()
    only = set(opts.only.split(",")) if opts.only else None
    wanted = lambda key: (only is None or key in only) and not (  # noqa: E731
        (opts.skip_dlt and key.startswith("dlt")) or (opts.skip_xlsx and key.startswith("xlsx"))
        or (opts.skip_sqlite and key.endswith("sqlite")))  # fmt: skip
    cores, load = os.cpu_count() or 0, f"{os.getloadavg()[0]:.1f}"
    opts.out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    made = child("generate", str(opts.rows), str(opts.out))
    members, groups = Path(made["members"]), Path(made["groups"])
    print(f"generated {members} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    scratch = Scratch(opts.pg_url)
    contenders = [Contender("copy", "psql \\copy", lambda: [{"name": "psql \\copy (ceiling)", "input": "CSV", "rows": opts.rows,
                  **psql_copy(members, scratch), "note": "clean CSV into a bare table: no key, no index"}])]  # fmt: skip
    for db, key in (("PostgreSQL", "pg"), ("SQLite", "sqlite")):
        contenders.append(tourlink_contender(key, db, "CSV", opts.rows, [groups, members], opts))
    if wanted("xlsx-pg") or wanted("xlsx-sqlite"):
        xlsx_rows = min(opts.xlsx_rows, opts.rows)
        t = time.perf_counter()
        made = child("xlsx", str(members), str(xlsx_rows), str(opts.out))
        if "error" in made:
            raise SystemExit(f"xlsx generation failed: {made['error']}")
        print(f"generated {made['xlsx']} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        for db, key in (("PostgreSQL", "xlsx-pg"), ("SQLite", "xlsx-sqlite")):
            contenders.append(tourlink_contender(key, db, "xlsx 团队名单", xlsx_rows, [Path(made["xlsx"])], opts))
    contenders += [dlt_contender(key, mode, label, members, scratch, opts) for key, mode, label in DLT_MODES]
    try:
        per_run = measure([c for c in contenders if wanted(c.key)], opts.runs, scratch.settle)
    finally:
        scratch.drop()
    table = report(opts.rows, per_run, cores=cores, load=load, load_end=f"{os.getloadavg()[0]:.1f}")
    print(table)
    if opts.markdown:
        opts.markdown.write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
