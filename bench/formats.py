"""`make bench` formats table: the 团队名单 roster read as xlsx, xls, ods and CSV by tourlink's readers,
beside fastexcel and pandas.read_excel (calamine and openpyxl engines) reading the same file.

Each contender runs in its own process (peak memory = that process's ru_maxrss); ratios are to
fastexcel on the same file in the same run, so the shared, noisy machine cancels out, and each
figure has the 1-minute load average read as that contender finished beside it.

    python bench/formats.py [--rows 200000 1000000] [--formats xlsx xls ods csv] [--openpyxl] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))


def _known() -> set[str]:
    from mappings.spec import templates

    return {h for m in templates() for r in m.rules.values() for f in r.entity.fields for h in f.headers}


def _measure(contender: str, path: str) -> dict:
    """Run in the child: read `path` with `contender`, return rows, seconds and peak MB."""
    if contender == "tourlink":
        from connectors.files import read_source

        known = _known()  # imports and templates loaded before the clock starts
    started = time.perf_counter()
    if contender == "tourlink":
        rows = sum(f.data.height for f in read_source(Path(path), known_headers=known))
    elif contender == "fastexcel":
        import fastexcel

        reader = fastexcel.read_excel(path)
        rows = sum(reader.load_sheet(n, header_row=1, dtypes="string").height for n in reader.sheet_names)
    else:
        import pandas as pd

        engine = contender.removeprefix("pandas-")
        rows = sum(len(f) for f in pd.read_excel(path, sheet_name=None, header=1, engine=engine, dtype=str).values())
    seconds = time.perf_counter() - started
    return {"rows": rows, "s": seconds, "mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _write(fmt: str, rows: int, out: Path) -> Path:
    import format_files as ff

    frame = ff.roster(rows)
    path = out / f"团队名单_{rows}.{fmt}"
    if not path.exists():
        if fmt == "csv":
            frame.write_csv(path)
        else:
            {"xlsx": ff.write_xlsx, "xls": ff.write_xls, "ods": ff.write_ods}[fmt](frame, path, "团队名单（2026-10）")
    return path


def _load() -> str:
    """The 1-minute load average (the machine is shared: read each figure beside it)."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--formats", nargs="+", default=["xlsx", "xls", "ods", "csv"])
    parser.add_argument("--openpyxl", action="store_true", help="also pandas with openpyxl (minutes per million rows)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--write", nargs=3, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.child:
        print(json.dumps(_measure(*opts.child)))
        return
    if opts.write:
        print(_write(opts.write[0], int(opts.write[1]), Path(opts.write[2])))
        return
    out = opts.out or Path(tempfile.mkdtemp(prefix="tourlink-formats-"))
    print("| format | rows | contender | read s | rows/s | peak MB | × fastexcel speed | load |")
    print("|---|--:|---|--:|--:|--:|--:|--:|")
    for rows in opts.rows:
        for fmt in opts.formats:
            # Written in a child: ru_maxrss survives fork+exec, so the parent stays small for the readers' figures.
            made = subprocess.run([sys.executable, __file__, "--write", fmt, str(rows), str(out)], capture_output=True, text=True, check=True)
            path = Path(made.stdout.strip().splitlines()[-1])
            contenders = ["tourlink"] if fmt == "csv" else ["tourlink", "fastexcel", "pandas-calamine"]
            if opts.openpyxl and fmt == "xlsx":
                contenders.append("pandas-openpyxl")
            results = {}
            for contender in contenders:
                done = subprocess.run([sys.executable, __file__, "--child", contender, str(path)], capture_output=True, text=True)
                if done.returncode:
                    print(f"| {fmt} | {rows:,} | {contender} | failed: {done.stderr.strip().splitlines()[-1:]} | | | | |")
                    continue
                results[contender] = {**json.loads(done.stdout.strip().splitlines()[-1]), "load": _load()}
            reference = results.get("fastexcel")
            for contender, r in results.items():
                ratio = f"{reference['s'] / r['s']:.2f}" if reference else ""
                print(f"| {fmt} | {rows:,} | {contender} | {r['s']:.1f} | {r['rows'] / r['s']:,.0f} | {r['mb']:,.0f} | {ratio} | {r['load']} |",
                      flush=True)


if __name__ == "__main__":
    main()
