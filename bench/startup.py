"""`make bench`, start-up: a one-file `tourlink import` of a 50-row 团队名单 template, as a person runs it.

Times the whole CLI process (interpreter start, imports, migrations check, read → map → validate →
merge of 50 rows, exit) `--runs` times (default 5) into a warehouse that already exists (the usual
case; `--force`, so each run reads the file again), plus once into a fresh one (the migrations run),
and lists what the process imports at start, by top-level module (`python -X importtime`). Goal: ≤ 1 s.
`--warehouse-url` measures against that warehouse instead of a temporary SQLite one (a PostgreSQL URL,
e.g. with `?options=-csearch_path%3Dmy_schema`; the "fresh" run migrates only if it is empty).

    python bench/startup.py [--runs 5] [--rows 50] [--warehouse-url URL] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from protocol import Spread, fmt_spread, markdown

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TOURLINK = Path(sys.executable).parent / "tourlink"


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall s, user + system CPU s, peak RSS KB) of one run of `cmd`."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def import_profile(cmd: list[str], env: dict[str, str], top: int = 12) -> list[tuple[str, float]]:
    """The top-level modules the process imports, by cumulative import time (s), largest first."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *cmd], env=env, capture_output=True, text=True)
    found = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)  # one space: imported at top level
        if m:
            found.append((m[2].strip(), int(m[1]) / 1e6))
    return sorted(found, key=lambda t: -t[1])[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--warehouse-url", help="default: SQLite in a temporary TOURLINK_HOME")
    parser.add_argument("--markdown", type=Path)
    opts = parser.parse_args()
    sys.path.insert(0, str(BENCH))
    from data import generate, generate_xlsx

    load = f"{os.getloadavg()[0]:.1f}"
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work = Path(tmp)
        members, _ = generate(opts.rows, work)
        template = generate_xlsx(members, opts.rows, work)
        env = {**os.environ, "TOURLINK_HOME": str(work / "home")}
        env.pop("TOURLINK_WAREHOUSE_URL", None)
        if opts.warehouse_url:
            env["TOURLINK_WAREHOUSE_URL"] = opts.warehouse_url
        cmd = [str(TOURLINK), "import", "--json", "--force", str(template)]
        fresh = timed(cmd, env)  # creates the warehouse: every migration runs
        runs = [timed(cmd, env) for _ in range(opts.runs)]
        noop = [timed([sys.executable, "-c", "pass"], env) for _ in range(opts.runs)]
        profile = import_profile(cmd, env)
    rows = [
        ["`tourlink import` (existing warehouse)", fmt_spread(Spread.of([r[0] for r in runs]), "{:.2f}"),
         fmt_spread(Spread.of([r[1] for r in runs]), "{:.2f}"), f"{max(r[2] for r in runs) / 1024:,.0f}"],
        ["`tourlink import` (fresh warehouse: migrations)", f"{fresh[0]:.2f}", f"{fresh[1]:.2f}", f"{fresh[2] / 1024:,.0f}"],
        ["`python -c pass` (the interpreter alone)", fmt_spread(Spread.of([r[0] for r in noop]), "{:.2f}"),
         fmt_spread(Spread.of([r[1] for r in noop]), "{:.2f}"), f"{max(r[2] for r in noop) / 1024:,.0f}"],
    ]  # fmt: skip
    where = "warehouse at TOURLINK_WAREHOUSE_URL" if opts.warehouse_url else "SQLite warehouse in a temporary TOURLINK_HOME"
    lines = markdown(["process", "wall s", "CPU s (user + sys)", "peak MB"], rows, left=1)
    lines += ["", "Imported at start (top level, cumulative `-X importtime`, one run): "
              + ", ".join(f"{name} {sec:.2f} s" for name, sec in profile) + ".",
              "", f"{opts.rows}-row 团队名单 xlsx, one file, {where}; {opts.runs} runs, "
              f"median (min–max); load average {load} at the start, {os.getloadavg()[0]:.1f} at the end (wall time on a "
              "shared machine waits for the CPU: CPU s is the steadier figure)."]  # fmt: skip
    table = "\n".join(lines)
    print(table)
    if opts.markdown:
        opts.markdown.write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
