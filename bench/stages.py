"""The bench's child processes: `python bench/stages.py STAGE ARGS…` prints one JSON line.

Every contender runs in its own process, so its peak memory (ru_maxrss) is its own: Linux carries a
parent's peak RSS into the children it forks, so the orchestrator stays small and spawns these.
"""

from __future__ import annotations

import importlib
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

CHUNK_ROWS = int(os.environ.get("BENCH_CHUNK_ROWS", 100_000))  # what `tourlink import` uses: 200 k held ~640 MB at 1 M rows, 100 k ~500 MB
# The loads of each tourlink contender, in order, on the same files: (label, skip_loaded).
E2E_RUNS = (
    ("first load", False),
    ("re-load, unchanged (re-validated)", False),  # what `tourlink import --force` does
    ("re-load, same files (checksum)", True),  # what `tourlink import` does: files a committed batch holds are skipped
)


def child(stage: str, *args: str) -> dict:
    """Run `stage` in a fresh interpreter; its JSON line, or {"error": last line of stderr}."""
    proc = subprocess.run([sys.executable, __file__, stage, *args], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _warm_imports() -> None:
    """Import every module of the load path before the clock starts: the table times loading, not
    Python start-up (`bench/startup.py` measures that). `tourlink` first, as the `tourlink` script
    imports it: it sets polars' allocator before polars loads (`tourlink/memory.py`)."""
    importlib.import_module("tourlink")
    import connectors.files  # noqa: F401
    import mappings.engine  # noqa: F401
    import tourlink.flow  # noqa: F401
    import validators  # noqa: F401
    import validators.batch  # noqa: F401
    import validators.rules  # noqa: F401
    import warehouse.load  # noqa: F401


def end_to_end(files: list[Path], url: str, runs: int) -> dict:
    """read → map → validate → merge through `tourlink.flow.files.import_files`: the first `runs` of
    `E2E_RUNS`, on the same files, in this one process."""
    _warm_imports()
    from tourlink.flow.files import import_files
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


def main(stage: str, *a: str) -> None:
    from data import generate, generate_xlsx

    if stage == "generate":
        members, groups = generate(int(a[0]), Path(a[1]))
        out = {"members": str(members), "groups": str(groups)}
    elif stage == "xlsx":
        out = {"xlsx": str(generate_xlsx(Path(a[0]), int(a[1]), Path(a[2])))}
    elif stage == "e2e":
        out = end_to_end([Path(p) for p in a[2:]], a[0], int(a[1]))
    else:
        raise SystemExit(f"unknown stage {stage!r}")
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main(*sys.argv[1:])
