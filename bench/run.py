"""`make bench`: the warehouse load path beside its ceiling (`psql \\copy`) and its peer (dlt).

For N canonical `group_member` rows (12 columns, default 1,000,000) it generates the CSV, then runs
each contender in its own process (so peak memory, ru_maxrss, is that contender's alone) and prints
one table: seconds, rows/s, peak memory, and the ratios tourlink / \\copy and tourlink / dlt.

    python bench/run.py [--rows N] [--pg-url URL] [--skip-dlt] [--skip-e2e]

dlt runs from its own virtualenv, bench/.venv-dlt, created here on first use (`dlt[postgres]`,
telemetry off). Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

DLT_VENV = BENCH / ".venv-dlt"
DLT_REQUIREMENT = "dlt[postgres]==1.31.0"
DEFAULT_PG = os.environ.get("TOURLINK_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CHUNK_ROWS = 200_000
PER_GROUP = 30
COLUMNS = [
    "organizer_uscc", "group_code", "seq_no", "name", "name_pinyin", "gender", "birth_date",
    "doc_type", "doc_no", "nationality", "mobile", "residence_province",
]  # fmt: skip


# ---------------------------------------------------------------------------------------- data


def generate(rows: int, out: Path) -> tuple[Path, Path]:
    """Canonical CSVs: `group_member` (the measured file) and the `tour_group`s it belongs to."""
    import polars as pl

    i = pl.int_range(0, rows, eager=True)
    birth = pl.date(1950, 1, 1) + pl.duration(days=(i * 7919) % 20000)
    frame = pl.DataFrame({"i": i}).select(
        organizer_uscc=pl.lit("91110000MA01ABCD2Q"),
        group_code=pl.format("T{}", (pl.col("i") // PER_GROUP).cast(pl.String).str.pad_start(8, "0")),
        seq_no=pl.col("i") % PER_GROUP + 1,
        name=pl.format("游客{}", pl.col("i")),
        name_pinyin=pl.format("YOUKE {}", pl.col("i")),
        gender=pl.when(pl.col("i") % 2 == 1).then(pl.lit("M")).otherwise(pl.lit("F")),  # 17th ID digit odd = male
        birth_date=birth.dt.strftime("%Y-%m-%d"),
        doc_type=pl.lit("CN_RIC"),
        doc_no=_ric(pl.col("i"), birth),
        nationality=pl.lit("CHN"),
        mobile=pl.format("138{}", (pl.col("i") % 100_000_000).cast(pl.String).str.pad_start(8, "0")),
        residence_province=pl.lit("11"),
    )
    members = out / f"group_member_{rows}.csv"
    frame.write_csv(members)
    groups = frame.select("organizer_uscc", "group_code").unique(maintain_order=True).with_columns(
        group_type=pl.lit("DOMESTIC"),
        start_date=pl.lit("2026-10-01"),
        end_date=pl.lit("2026-10-05"),
        destinations=pl.lit("110000"),
        tourist_count=pl.lit(PER_GROUP),
        status=pl.lit("SUBMITTED"),
        submitted_at=pl.lit("2026-09-20 08:00:00"),
        updated_at=pl.lit("2026-09-20 08:00:00"),
    )
    tour_groups = out / f"tour_group_{rows}.csv"
    groups.write_csv(tour_groups)
    return members, tour_groups


def _ric(i, birth):  # noqa: ANN001, ANN202 - polars expressions
    """A valid resident ID (GB 11643 check digit), column-wise."""
    import polars as pl

    body = pl.concat_str(
        pl.lit("110105"), birth.dt.strftime("%Y%m%d"), (i % 1000).cast(pl.String).str.pad_start(3, "0")
    )
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = pl.sum_horizontal(body.str.slice(k, 1).cast(pl.Int64) * w for k, w in enumerate(weights))
    check = pl.lit("10X98765432").str.slice(total % 11, 1)
    return pl.concat_str(body, check)


def _frames(path: Path):  # noqa: ANN202
    """The CSV as validated entity frames, streamed in chunks (pyarrow's CSV reader)."""
    import polars as pl
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from tourlink.frames import ISSUES_DTYPE

    types = {c: pa.string() for c in COLUMNS} | {"seq_no": pa.int64(), "birth_date": pa.date32()}
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=32 << 20),
        convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True),
    )
    offset = 2
    for batch in reader:
        frame = pl.from_arrow(batch)
        yield frame.with_columns(
            _file=pl.lit(path.name),
            _row=pl.int_range(offset, offset + frame.height, dtype=pl.Int64),
            _raw=pl.lit(None, pl.String),
            _issues=pl.lit([], ISSUES_DTYPE),
        )
        offset += frame.height


# ---------------------------------------------------------------------------------------- stages
# Each stage runs in a child process and prints one JSON line.


def stage_tourlink_merge(csv: Path, url: str, runs: int) -> dict:
    """tourlink's merge stage: COPY/executemany into staging + one set-based merge, per chunk."""
    from warehouse.load import Warehouse

    wh = Warehouse(url, landing_dir=csv.parent / "landing")
    results = []
    for _ in range(runs):
        merge = read = 0.0
        loaded = unchanged = 0
        started = time.perf_counter()
        with wh.batch("bench") as b:
            t = time.perf_counter()
            for frame in _frames(csv):
                read += time.perf_counter() - t
                t = time.perf_counter()
                counts = b.merge("group_member", frame)
                merge += time.perf_counter() - t
                loaded += counts.loaded
                unchanged += counts.unchanged
                t = time.perf_counter()
        total = time.perf_counter() - started
        results.append({"seconds": merge, "read": read, "total": total, "loaded": loaded, "unchanged": unchanged})
    return {"runs": results, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def stage_end_to_end(csv: Path, groups_csv: Path, url: str, runs: int) -> dict:
    """HOOK for the lead: read → map → validate → merge through `tourlink.pipeline.import_files`."""
    from tourlink.pipeline import import_files
    from warehouse.load import Warehouse

    wh = Warehouse(url, landing_dir=csv.parent / "landing")
    results = []
    for _ in range(runs):
        started = time.perf_counter()
        result = import_files([groups_csv, csv], source="bench", warehouse=wh, chunk_rows=CHUNK_ROWS)
        seconds = time.perf_counter() - started
        member = result.entities.get("group_member")
        results.append({"seconds": seconds, "timings": result.timings, "counts": vars(member) if member else None})
    return {"runs": results, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def _child(stage: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--stage", stage, *args], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------- PostgreSQL


class Scratch:
    """A throwaway schema on the bench's PostgreSQL, dropped afterwards."""

    def __init__(self, base: str):
        import sqlalchemy as sa

        self.base = sa.make_url(base)
        self.name = f"bench_{uuid.uuid4().hex[:8]}"
        self.engine = sa.create_engine(self.base)
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f'create schema "{self.name}"')

    @property
    def url(self) -> str:
        return self.base.update_query_dict({"options": f"-csearch_path={self.name}"}).render_as_string(False)

    @property
    def libpq(self) -> str:
        u = self.base
        return f"postgresql://{u.username or 'postgres'}:{u.password or 'bench'}@{u.host or '127.0.0.1'}:{u.port or 5432}/{u.database}"

    def drop(self) -> None:
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f'drop schema if exists "{self.name}" cascade')
        self.engine.dispose()


def psql_copy(csv: Path, scratch: Scratch) -> dict:
    """The ceiling: `psql \\copy` of the clean CSV into a bare table (no key, no index)."""
    ddl = ", ".join(f"{c} {'bigint' if c == 'seq_no' else 'date' if c == 'birth_date' else 'text'}" for c in COLUMNS)
    script = f"SET search_path={scratch.name}; CREATE TABLE bare_member ({ddl});"
    env = {**os.environ, "PGOPTIONS": f"-csearch_path={scratch.name}"}
    dsn = scratch.libpq.replace("+psycopg", "")
    subprocess.run(["psql", "-q", dsn, "-c", script], check=True, env=env)
    started = time.perf_counter()
    proc = subprocess.Popen(["psql", "-q", "-v", "ON_ERROR_STOP=1", dsn, "-c", f"\\copy bare_member FROM '{csv}' CSV HEADER"], env=env)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak memory
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"psql \\copy failed ({proc.returncode})")
    return {"seconds": seconds, "maxrss_kb": usage.ru_maxrss}


# ---------------------------------------------------------------------------------------- dlt


def ensure_dlt() -> Path | None:
    python = DLT_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {DLT_VENV} with {DLT_REQUIREMENT} …", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(DLT_VENV)], check=True)
        uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
        if Path(uv).exists():
            cmd = [uv, "pip", "install", "-q", "--python", str(python), DLT_REQUIREMENT, "pyarrow"]
        else:
            cmd = [str(python), "-m", "pip", "install", "-q", DLT_REQUIREMENT, "pyarrow"]
        if subprocess.run(cmd).returncode != 0:
            return None
    return python


def dlt_load(python: Path, mode: str, csv: Path, scratch: Scratch, work: Path) -> dict:
    env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", "BENCH_DLT_DIR": str(work / "dlt")}
    proc = subprocess.run(
        [str(python), str(BENCH / "dlt_load.py"), mode, str(csv), scratch.libpq, f"{scratch.name}_dlt_{mode}"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    with scratch.engine.begin() as conn:
        conn.exec_driver_sql(f'drop schema if exists "{scratch.name}_dlt_{mode}" cascade')
        conn.exec_driver_sql(f'drop schema if exists "{scratch.name}_dlt_{mode}_staging" cascade')
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------- report


def report(rows: int, results: list[tuple[str, dict]]) -> None:
    from rich.console import Console
    from rich.table import Table

    by_name = dict(results)
    ceiling = by_name.get("psql \\copy (ceiling)", {}).get("seconds")
    dlt_default = by_name.get("dlt merge, csv reader (default)", {}).get("seconds")
    dlt_tuned = by_name.get("dlt upsert, arrow, no compression (tuned)", {}).get("seconds")
    table = Table(title=f"warehouse load of {rows:,} group_member rows (12 columns)")
    for col in ("contender", "seconds", "rows/s", "peak MB", "÷ \\copy", "dlt default ÷", "dlt tuned ÷", "note"):
        table.add_column(col, justify="left" if col in ("contender", "note") else "right")
    for name, r in results:
        if "error" in r:
            table.add_row(name, "-", "-", "-", "-", "-", "-", r["error"][:60])
            continue
        s = r["seconds"]

        def ratio(ref: float | None, s: float = s) -> str:  # how many times faster than ref
            return f"{ref / s:.2f}×" if ref else "-"

        table.add_row(
            name, f"{s:.2f}", f"{rows / s:,.0f}", f"{r.get('maxrss_kb', 0) / 1024:,.0f}",
            f"{ceiling / s:.0%}" if ceiling else "-", ratio(dlt_default), ratio(dlt_tuned), r.get("note", ""),
        )  # fmt: skip
    Console(width=160).print(table)
    print("÷ \\copy: throughput as a share of psql \\copy; dlt ÷: how many times faster than that dlt run.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    parser.add_argument("--skip-dlt", action="store_true")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.stage:
        a = opts.args
        if opts.stage == "generate":
            members, groups = generate(int(a[0]), Path(a[1]))
            print(json.dumps({"members": str(members), "groups": str(groups)}))
            return
        if opts.stage == "merge":
            out = stage_tourlink_merge(Path(a[0]), a[1], int(a[2]))
        else:
            out = stage_end_to_end(Path(a[0]), Path(a[1]), a[2], int(a[3]))
        print(json.dumps(out, default=str))
        return

    opts.out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    # In a child: Linux carries a parent's peak RSS into the children it forks (ru_maxrss), so the
    # orchestrator stays small and every contender's peak is its own.
    made = _child("generate", str(opts.rows), str(opts.out))
    members, groups = Path(made["members"]), Path(made["groups"])
    print(f"generated {members} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    results: list[tuple[str, dict]] = []
    scratch = Scratch(opts.pg_url)
    try:
        results.append(("psql \\copy (ceiling)", psql_copy(members, scratch)))
        for db, url in (("PostgreSQL", scratch.url), ("SQLite", f"sqlite:///{opts.out / f'bench-{scratch.name}.db'}")):
            merged = _child("merge", str(members), url, "2")
            if "error" in merged:
                results.append((f"tourlink merge → {db}", merged))
                continue
            first, again = merged["runs"]
            mem = merged["maxrss_kb"]
            results.append((f"tourlink merge → {db}, first load", {"seconds": first["seconds"], "maxrss_kb": mem,
                            "note": f"read {first['read']:.1f}s; loaded {first['loaded']:,}"}))  # fmt: skip
            results.append((f"tourlink merge → {db}, unchanged re-load", {"seconds": again["seconds"], "maxrss_kb": mem,
                            "note": f"unchanged {again['unchanged']:,}; {first['seconds'] / again['seconds']:.1f}× first"}))  # fmt: skip
        if not opts.skip_e2e:
            # HOOK: end to end (read → map → validate → merge) through tourlink.pipeline.import_files.
            for db, url in (("PostgreSQL", Scratch(opts.pg_url)), ("SQLite", None)):
                target = url.url if url else f"sqlite:///{opts.out / f'e2e-{scratch.name}.db'}"
                e2e = _child("e2e", str(members), str(groups), target, "2")
                if url:
                    url.drop()
                if "error" in e2e:
                    results.append((f"tourlink end to end → {db}", e2e))
                    continue
                for label, run in zip(("first load", "unchanged re-load"), e2e["runs"], strict=True):
                    stages = ", ".join(f"{k} {v:.1f}s" for k, v in run["timings"].items())
                    results.append((f"tourlink end to end → {db}, {label}",
                                    {"seconds": run["seconds"], "maxrss_kb": e2e["maxrss_kb"], "note": f"{stages}; {run['counts']}"}))  # fmt: skip
        if not opts.skip_dlt:
            python = ensure_dlt()
            for mode, label in (
                ("default", "dlt merge, csv reader (default)"),
                ("tuned", "dlt upsert, arrow, no compression (tuned)"),
                ("dicts", "dlt upsert, generator of dicts"),
            ):
                results.append((label, dlt_load(python, mode, members, scratch, opts.out) if python else {"error": "no dlt"}))
    finally:
        scratch.drop()
        for db in opts.out.glob(f"*{scratch.name}.db*"):
            db.unlink()
    report(opts.rows, results)


if __name__ == "__main__":
    main()
