"""The load table: each contender's rows over the runs, ratios to `psql \\copy` and to dlt taken
within each run (`protocol.summarise`), printed as Markdown so bench/RESULTS.md holds what was printed."""

from __future__ import annotations

from data import PER_GROUP
from protocol import Summary, fmt_spread, markdown, summarise
from stages import E2E_RUNS

STAGES = ("read", "map", "validate", "merge")
REFERENCES = {"copy": "psql \\copy", "dlt default": "dlt merge, csv reader", "dlt tuned": "dlt upsert, Arrow"}


def e2e_rows(db: str, kind: str, rows: int, e2e: dict) -> list[dict]:
    """The rows of one tourlink child (first load, re-validated re-load, checksum re-load)."""
    label = f"tourlink → {db}"
    if "error" in e2e:
        return [{"name": f"{label}, {E2E_RUNS[0][0]}", "input": kind, "rows": rows, "error": e2e["error"]}]
    first = e2e["runs"][0]
    out = []
    for (run_label, skip_loaded), run in zip(E2E_RUNS, e2e["runs"], strict=True):
        t = run["timings"]
        counts = run["counts"].get("group_member", {})
        # merge: the batch writer's busy time; it overlaps read → map → validate
        stages = {s: t.get(s, 0.0) for s in STAGES}
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


def report(rows: int, per_run: list[list[dict]], *, cores: int, load: str, load_end: str) -> str:
    summaries = summarise(per_run, REFERENCES)
    runs = len(per_run)
    head = ["contender", "input", "rows", *(f"{s} s" for s in STAGES), "total s", "rows/s", "peak MB",
            "% of \\copy", "× dlt default", "× dlt tuned", "note"]  # fmt: skip
    body = [_cells(s, len(head), single=runs == 1) for s in summaries]
    lines = markdown(head, body)
    lines += [
        "",
        f"Machine: {cores} cores shared with other jobs (load average {load} at the start, {load_end} at the end). "
        f"{runs} run(s); each run runs every contender, each in its own process, one after the other, each after a "
        "CHECKPOINT. Figures are the median over the runs, (min–max) in brackets; a ratio is taken between two "
        "contenders of the same run, then its median and range over the runs. rows/s = rows ÷ median total s. "
        "tourlink loads each file as ONE batch (one transaction); the CSV input also carries its tour_group CSV "
        f"({rows // PER_GROUP:,} groups, the ORPHAN rule's parents), the xlsx (first rows of the same roster, "
        "Chinese labels, a title row) carries the groups in its rows; compare it by rows/s. "
        "merge s = the batch writer's busy time in the transaction; the writer merges each chunk while the next one "
        "is read, mapped and validated, so the stages add up to more than the total. peak MB = the highest ru_maxrss "
        "of that contender's process over the runs (a tourlink process holds its three loads). "
        "re-load, same files (checksum): what `tourlink import` does by default: a file whose SHA-256 a committed "
        "batch holds is not read again.",
    ]
    return "\n".join(lines)


def _cells(s: Summary, width: int, *, single: bool) -> list[str]:
    if s.seconds is None:
        return [s.name, s.input, f"{s.rows:,}", *["-"] * (width - 4), "FAILED: " + (s.errors or ["?"])[0][:80]]
    pct = lambda k: fmt_spread(s.ratios.get(k), "{:.0%}", single=single)  # noqa: E731
    times = lambda k: fmt_spread(s.ratios.get(k), "{:.2f}", single=single)  # noqa: E731
    note = s.note + (f"; FAILED in {len(s.errors)} run(s): {s.errors[0][:60]}" if s.errors else "")
    return [
        s.name, s.input, f"{s.rows:,}",
        *(f"{s.stages[k]:.1f}" if k in s.stages else "" for k in STAGES),
        fmt_spread(s.seconds, single=single), f"{s.rows / s.seconds.median:,.0f}", f"{s.maxrss_kb / 1024:,.0f}",
        pct("copy"), times("dlt default"), times("dlt tuned"), note,
    ]  # fmt: skip
