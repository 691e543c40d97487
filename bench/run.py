"""`make bench`: the load path end to end beside its ceiling (`psql \\copy`) and its peer (dlt).

Generates N canonical `group_member` rows (12 columns, default 1,000,000) as CSV (plus the tour_group
CSV they belong to) and the first `--xlsx-rows` of them as the 团队名单 xlsx template, then runs each
contender in its own process (so peak memory, ru_maxrss, is that contender's alone) and prints ONE
Markdown table: tourlink read → map → validate → merge into PostgreSQL and SQLite (first load, an
unchanged re-load of the same files re-validated row by row, and the same files again skipped by their
SHA-256; per-stage seconds, peak memory), `psql \\copy` of the clean CSV into a bare table, and dlt three ways; throughput ratios against \\copy and dlt.

    python bench/run.py [--rows N] [--xlsx-rows M (default 200,000)] [--pg-url URL] [--skip-dlt] [--skip-xlsx] [--markdown FILE]

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
# The runs of each tourlink contender, in order, on the same files: (label, skip_loaded).
E2E_RUNS = (
    ("first load", False),
    ("re-load, unchanged (re-validated)", False),  # what `tourlink import --force` does
    ("re-load, same files (checksum)", True),  # what `tourlink import` does: files a committed batch holds are skipped
)
# The xlsx roster is smaller by default: a 1,000,000-row sheet takes ~25 s to write and ~2.5 min per
# load on 2 shared cores (calamine holds the whole sheet: ~3 GB), four loads of it would double the bench.
XLSX_ROWS = 200_000
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
    groups = (
        frame.select("organizer_uscc", "group_code")
        .unique(maintain_order=True)
        .with_columns(
            group_type=pl.lit("DOMESTIC"),
            start_date=pl.lit("2026-10-01"),
            end_date=pl.lit("2026-10-05"),
            destinations=pl.lit("110000"),
            tourist_count=pl.lit(PER_GROUP),
            status=pl.lit("SUBMITTED"),
            submitted_at=pl.lit("2026-09-20 08:00:00"),
            updated_at=pl.lit("2026-09-20 08:00:00"),
        )
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


ROSTER_HEADERS = [
    "团号", "团队类型", "组团社统一社会信用代码", "地接社统一社会信用代码", "线路名称", "出发日期", "返回日期", "目的地",
    "出境口岸", "入境口岸", "客源地", "游客人数", "团队状态", "报送时间", "序号", "姓名", "姓名拼音", "性别", "出生日期",
    "证件类型", "证件号码", "国籍", "手机号码", "常住省份", "领队证号",
]  # fmt: skip
_XLSX_PARTS = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>",
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>",
    "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="团队名单" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>",
}


def generate_xlsx(members_csv: Path, rows: int, out: Path) -> Path:
    """The first `rows` roster rows as the 团队名单 import template (SPEC §5): one tourist per row, the
    group's columns repeated, Chinese labels, a title row above the header, IDs as text cells.

    Written as SpreadsheetML directly, column-wise (xlsxwriter's per-cell API needs ~10 min per
    million rows on this machine); the reader under test is calamine, as for any uploaded file.
    """
    import zipfile

    import polars as pl

    m = pl.read_csv(members_csv, n_rows=rows, infer_schema=False)
    frame = m.select(
        pl.col("group_code"), pl.lit("国内").alias("group_type"), pl.col("organizer_uscc"),
        pl.lit(None, pl.String).alias("receiving"), pl.lit("京津五日游").alias("route"),
        pl.lit("2026-10-01").alias("start"), pl.lit("2026-10-05").alias("end"), pl.lit("110000").alias("dest"),
        pl.lit(None, pl.String).alias("exit"), pl.lit(None, pl.String).alias("entry"), pl.lit("11").alias("from"),
        pl.lit(str(PER_GROUP)).alias("count"), pl.lit("已提交").alias("status"),
        pl.lit("2026-09-20 08:00:00").alias("submitted"), pl.col("seq_no"), pl.col("name"), pl.col("name_pinyin"),
        pl.when(pl.col("gender") == "M").then(pl.lit("男")).otherwise(pl.lit("女")).alias("gender"),
        pl.col("birth_date"), pl.lit("身份证").alias("doc_type"), pl.col("doc_no"), pl.lit("中国").alias("nat"),
        pl.col("mobile"), pl.col("residence_province"), pl.lit(None, pl.String).alias("leader"),
    )  # fmt: skip
    numeric = {"count", "seq_no"}
    letters = [chr(ord("A") + k) for k in range(len(frame.columns))]
    line = pl.int_range(3, 3 + frame.height).cast(pl.String)  # row 1: title, row 2: header
    cells = []
    for letter, name in zip(letters, frame.columns, strict=True):
        ref = pl.concat_str(pl.lit(f'<c r="{letter}'), line)
        if name in numeric:
            cell = pl.concat_str(ref, pl.lit('"><v>'), pl.col(name), pl.lit("</v></c>"))
        else:
            cell = pl.concat_str(ref, pl.lit('" t="inlineStr"><is><t>'), pl.col(name), pl.lit("</t></is></c>"))
        cells.append(cell.fill_null(""))
    xml_rows = frame.select(pl.concat_str(pl.lit('<row r="'), line, pl.lit('">'), *cells, pl.lit("</row>")).alias("x"))

    def text_row(number: int, values: list[str]) -> str:
        inner = "".join(
            f'<c r="{letter}{number}" t="inlineStr"><is><t>{v}</t></is></c>'
            for letter, v in zip(letters, values, strict=False)
        )
        return f'<row r="{number}">{inner}</row>'

    path = out / f"团队名单_{rows}.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, text in _XLSX_PARTS.items():
            z.writestr(name, text)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            head += '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            head += text_row(1, ["北京示范国际旅行社有限公司 团队名单（2026-10）"]) + text_row(2, ROSTER_HEADERS)
            sheet.write(head.encode())
            for chunk in xml_rows.iter_slices(100_000):
                sheet.write(("\n".join(chunk["x"].to_list()) + "\n").encode())
            sheet.write(b"</sheetData></worksheet>")
    return path


# ---------------------------------------------------------------------------------------- stages
# Each stage runs in a child process and prints one JSON line.


def _warm_imports() -> None:
    """Import every module of the load path before the clock starts (this venv compiles its sources
    on each start, PYTHONDONTWRITEBYTECODE): the table times loading, not Python start-up."""
    import connectors.files  # noqa: F401
    import mappings.engine  # noqa: F401
    import tourlink.pipeline  # noqa: F401
    import validators  # noqa: F401
    import validators.batch  # noqa: F401
    import validators.rules  # noqa: F401
    import warehouse.load  # noqa: F401


def stage_end_to_end(files: list[Path], url: str, runs: int) -> dict:
    """read → map → validate → merge through `tourlink.pipeline.import_files`: the first `runs` of
    `E2E_RUNS`, on the same files."""
    _warm_imports()
    from tourlink.pipeline import import_files
    from warehouse.load import Warehouse

    wh = Warehouse(url, landing_dir=files[0].parent / f"landing-{uuid.uuid4().hex[:8]}")
    results = []
    try:
        for _, skip_loaded in E2E_RUNS[:runs]:
            started = time.perf_counter()
            result = import_files(files, source="bench", warehouse=wh, chunk_rows=CHUNK_ROWS, skip_loaded=skip_loaded)
            seconds = time.perf_counter() - started
            counts = {e: vars(c) for e, c in result.entities.items()}
            results.append({"seconds": seconds, "timings": result.timings, "counts": counts,
                            "skipped": len(result.skipped)})  # fmt: skip
    finally:
        shutil.rmtree(wh.landing_dir, ignore_errors=True)
        wh.engine.dispose()
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

    def settle(self) -> None:
        """Checkpoint now, so the WAL a contender wrote is flushed before the next one starts rather
        than in the middle of its run: every contender starts from the same server state (needs a
        superuser or `pg_checkpoint`; without them the runs just carry that noise)."""
        import sqlalchemy as sa

        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("CHECKPOINT")
        except sa.exc.DBAPIError:
            pass

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
    proc = subprocess.Popen(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", dsn, "-c", f"\\copy bare_member FROM '{csv}' CSV HEADER"], env=env
    )
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

STAGES = ("read", "map", "validate", "merge")


def _e2e_rows(db: str, kind: str, rows: int, e2e: dict) -> list[dict]:
    label = f"tourlink → {db}"
    if "error" in e2e:
        return [{"name": label, "input": kind, "rows": rows, "error": e2e["error"]}]
    first = e2e["runs"][0]
    out = []
    for (run_label, skip_loaded), run in zip(E2E_RUNS, e2e["runs"], strict=True):
        t = run["timings"]
        counts = run["counts"].get("group_member", {})
        stages = {
            "read": t.get("read", 0.0),
            "map": t.get("map", 0.0),
            "validate": t.get("validate", 0.0),
            "merge": t.get("merge", 0.0),  # the batch writer's busy time: it overlaps read → map → validate
        }
        speed = f"{first['seconds'] / run['seconds']:.1f}× the first load's speed"
        if run is first:
            note = f"members loaded {counts.get('loaded', 0):,}, quarantined {counts.get('quarantined', 0):,}"
        elif skip_loaded:
            stages = stages if run["counts"] else {}  # every file skipped: no stage ran
            note = f"files skipped {run.get('skipped', 0)}; {speed}"
        else:
            note = f"unchanged {counts.get('unchanged', 0):,}, loaded {counts.get('loaded', 0):,}; {speed}"
        out.append({"name": f"{label}, {run_label}", "input": kind, "rows": rows, "seconds": run["seconds"],
                    "stages": stages, "maxrss_kb": e2e["maxrss_kb"], "note": note})  # fmt: skip
    return out


def report(rows: int, results: list[dict], *, cores: int, load: str) -> str:
    """The one table (Markdown, so that bench/RESULTS.md holds exactly what was printed)."""

    def rate(r: dict) -> float | None:
        return r["rows"] / r["seconds"] if r.get("seconds") else None

    def find(prefix: str) -> float | None:
        return next((rate(r) for r in results if r["name"].startswith(prefix) and "error" not in r), None)

    ceiling, dlt_default, dlt_tuned = find("psql \\copy"), find("dlt merge, csv reader"), find("dlt upsert, Arrow")
    head = ["contender", "input", "rows", *(f"{s} s" for s in STAGES), "total s", "rows/s", "peak MB",
            "% of \\copy", "× dlt default", "× dlt tuned", "note"]  # fmt: skip
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" if i < 2 or i == len(head) - 1 else "--:" for i in range(len(head))) + "|",
    ]
    for r in results:
        if "error" in r:
            cells = [r["name"], r["input"], f"{r['rows']:,}", *["-"] * (len(head) - 4), "FAILED: " + r["error"][:80]]
        else:
            mine = rate(r)
            stages = r.get("stages") or {}
            cells = [
                r["name"], r["input"], f"{r['rows']:,}",
                *(f"{stages[s]:.1f}" if s in stages else "" for s in STAGES),
                f"{r['seconds']:.1f}", f"{mine:,.0f}", f"{r.get('maxrss_kb', 0) / 1024:,.0f}",
                f"{mine / ceiling:.0%}" if ceiling else "-",
                f"{mine / dlt_default:.2f}" if dlt_default else "-",
                f"{mine / dlt_tuned:.2f}" if dlt_tuned else "-",
                r.get("note", ""),
            ]  # fmt: skip
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    lines += [
        "",
        f"Machine: {cores} cores shared with other jobs (load average at start {load}); one run, every contender in "
        "its own process, one after the other, each after a CHECKPOINT. rows/s = rows ÷ total s; % of \\copy, × dlt: throughput ratios. "
        "tourlink loads each file as ONE batch (one transaction); the CSV input also carries its tour_group CSV "
        f"({rows // PER_GROUP:,} groups, the ORPHAN rule's parents), the xlsx (first rows of the same roster, "
        "Chinese labels, a title row) carries the groups in its rows; compare it by rows/s. "
        "merge s = the batch writer's busy time in the transaction (hash probe, COPY, ON CONFLICT for changed rows, "
        "quarantine, findings, landing copy); the writer merges each chunk while the next one is read, mapped and "
        "validated, so the stages add up to more than the total. peak MB = ru_maxrss of that contender's process (all its runs). "
        "re-load, same files (checksum): `import_files(skip_loaded=True)`, as `tourlink import` does by default: "
        "a file whose SHA-256 a committed batch holds is not read again; total s = hashing each file and looking it up.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--xlsx-rows", type=int, default=XLSX_ROWS, help=f"rows of the xlsx roster (default {XLSX_ROWS:,})"
    )
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    parser.add_argument("--skip-dlt", action="store_true")
    parser.add_argument("--skip-xlsx", action="store_true")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.stage:
        a = opts.args
        if opts.stage == "generate":
            members, groups = generate(int(a[0]), Path(a[1]))
            print(json.dumps({"members": str(members), "groups": str(groups)}))
        elif opts.stage == "xlsx":
            print(json.dumps({"xlsx": str(generate_xlsx(Path(a[0]), int(a[1]), Path(a[2])))}))
        else:
            out = stage_end_to_end([Path(p) for p in a[2:]], a[0], int(a[1]))
            print(json.dumps(out, default=str))
        return

    cores, load = os.cpu_count() or 0, f"{os.getloadavg()[0]:.1f}"
    opts.out.mkdir(parents=True, exist_ok=True)
    xlsx_rows = min(opts.xlsx_rows, opts.rows)
    t = time.perf_counter()
    # In a child: Linux carries a parent's peak RSS into the children it forks (ru_maxrss), so the
    # orchestrator stays small and every contender's peak is its own.
    made = _child("generate", str(opts.rows), str(opts.out))
    members, groups = Path(made["members"]), Path(made["groups"])
    print(f"generated {members} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    inputs: list[tuple[str, int, list[Path]]] = [("CSV", opts.rows, [groups, members])]
    if not opts.skip_xlsx:
        t = time.perf_counter()
        made = _child("xlsx", str(members), str(xlsx_rows), str(opts.out))
        if "error" in made:
            raise SystemExit(f"xlsx generation failed: {made['error']}")
        inputs.append(("xlsx 团队名单", xlsx_rows, [Path(made["xlsx"])]))
        print(f"generated {made['xlsx']} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    results: list[dict] = []
    scratch = Scratch(opts.pg_url)
    try:
        print("psql \\copy …", file=sys.stderr)
        scratch.settle()
        results.append({"name": "psql \\copy (ceiling)", "input": "CSV", "rows": opts.rows,
                        **psql_copy(members, scratch), "note": "clean CSV into a bare table: no key, no index"})  # fmt: skip
        for kind, rows, files in inputs:
            for db in ("PostgreSQL", "SQLite"):
                print(f"tourlink {kind} → {db} …", file=sys.stderr)
                scratch.settle()
                target = Scratch(opts.pg_url) if db == "PostgreSQL" else None
                url = target.url if target else f"sqlite:///{opts.out / f'e2e-{uuid.uuid4().hex[:8]}.db'}"
                try:
                    e2e = _child("e2e", url, str(len(E2E_RUNS)), *map(str, files))
                finally:
                    if target:
                        target.drop()
                    else:
                        for db_file in opts.out.glob(url.rsplit("/", 1)[1] + "*"):
                            db_file.unlink()
                results += _e2e_rows(db, kind, rows, e2e)
        if not opts.skip_dlt:
            python = ensure_dlt()
            for mode, label in (
                ("default", "dlt merge, csv reader (default)"),
                ("tuned", "dlt upsert, Arrow, no compression (tuned)"),
                ("dicts", "dlt upsert, generator of dicts (REST-like)"),
            ):
                print(f"{label} …", file=sys.stderr)
                scratch.settle()
                r = dlt_load(python, mode, members, scratch, opts.out) if python else {"error": "no dlt venv"}
                results.append({"name": label, "input": "CSV", "rows": opts.rows, **r,
                                "note": "loads only: no mapping, no validation"})  # fmt: skip
    finally:
        scratch.drop()
    table = report(opts.rows, results, cores=cores, load=load)
    print(table)
    if opts.markdown:
        opts.markdown.write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
