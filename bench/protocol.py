"""How the bench measures: every run runs every contender, each after a CHECKPOINT; N runs (default 3);
each figure is the median over the runs with its range (min–max), and every ratio is taken between two
contenders of the SAME run before its median is taken: the machine is shared, absolute seconds move
from run to run, a ratio measured side by side moves much less."""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

RUNS = 3


@dataclass
class Contender:
    """One thing timed: `run()` measures it once and returns its table rows, each a dict with `name`,
    `input`, `rows`, `seconds`, `maxrss_kb` (optional `stages`, `note`, `extra`), or `error`."""

    key: str  # what `--only` names
    label: str  # what the log line says
    run: Callable[[], list[dict]]


@dataclass
class Spread:
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread | None:
        return cls(statistics.median(values), min(values), max(values)) if values else None


@dataclass
class Summary:
    """One table row: a contender's rows over all runs."""

    name: str
    input: str
    rows: int
    runs: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: Spread | None = None
    stages: dict[str, float] = field(default_factory=dict)  # median per stage
    maxrss_kb: int = 0  # the highest peak of any run
    ratios: dict[str, Spread] = field(default_factory=dict)  # throughput ÷ the reference's, same run
    note: str = ""
    extra: dict[str, Spread] = field(default_factory=dict)  # medians of other numbers a row carries


def measure(contenders: Sequence[Contender], runs: int, settle: Callable[[], None]) -> list[list[dict]]:
    """Every row of every run: `runs` rounds, each every contender once, each after `settle()`."""
    out: list[list[dict]] = []
    for n in range(runs):
        rows: list[dict] = []
        for c in contenders:
            print(f"run {n + 1}/{runs}: {c.label} …", file=sys.stderr)
            settle()
            try:
                rows += c.run()
            except Exception as exc:  # noqa: BLE001 - one contender failing must not lose the table
                rows.append({"name": c.label, "input": "", "rows": 0, "error": f"{type(exc).__name__}: {exc}"})
        out.append(rows)
    return out


def rate(row: dict) -> float | None:
    return row["rows"] / row["seconds"] if row.get("seconds") and "error" not in row else None


def summarise(per_run: list[list[dict]], references: dict[str, str]) -> list[Summary]:
    """One `Summary` per row name and input (first-seen order: the same contender on the CSV and on
    the xlsx is two rows); `references` maps a ratio's label to the name of the row it divides by
    (found by prefix in the same run)."""
    table: dict[tuple[str, str], Summary] = {}
    samples: dict[tuple[str, str], list[dict]] = {}
    ratio_samples: dict[tuple[str, str], dict[str, list[float]]] = {}
    for rows in per_run:
        refs = {label: next((rate(r) for r in rows if r["name"].startswith(p) and rate(r)), None)
                for label, p in references.items()}  # fmt: skip
        for r in rows:
            key = (r["name"], r.get("input", ""))
            s = table.setdefault(key, Summary(r["name"], r.get("input", ""), r.get("rows", 0)))
            if "error" in r:
                s.errors.append(r["error"])
                continue
            samples.setdefault(key, []).append(r)
            mine = rate(r)
            for label, ref in refs.items():
                if mine and ref:
                    ratio_samples.setdefault(key, {}).setdefault(label, []).append(mine / ref)
    for name, s in table.items():
        got = samples.get(name, [])
        s.runs = len(got)
        if not got:
            continue
        s.seconds = Spread.of([r["seconds"] for r in got])
        stage_names = {k for r in got for k in (r.get("stages") or {})}
        s.stages = {k: statistics.median([(r.get("stages") or {}).get(k, 0.0) for r in got]) for k in stage_names}
        s.maxrss_kb = max(r.get("maxrss_kb", 0) for r in got)
        s.note = got[0].get("note", "")
        s.ratios = {label: Spread.of(v) for label, v in ratio_samples.get(name, {}).items()}
        extra_names = {k for r in got for k in (r.get("extra") or {})}
        s.extra = {k: Spread.of([r["extra"][k] for r in got if k in r.get("extra", {})]) for k in extra_names}
    return list(table.values())


def fmt_spread(s: Spread | None, fmt: str = "{:.1f}", *, single: bool = False) -> str:
    """`median (low–high)`; just the median for one run."""
    if s is None:
        return "-"
    if single or s.low == s.high:
        return fmt.format(s.median)
    return f"{fmt.format(s.median)} ({fmt.format(s.low)}–{fmt.format(s.high)})"


def markdown(head: list[str], rows: list[list[str]], left: int = 2) -> list[str]:
    """A Markdown table: the first `left` columns and the last one left-aligned, the rest right."""
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join("---" if i < left or i == len(head) - 1 else "--:" for i in range(len(head))) + "|"]  # fmt: skip
    lines += ["| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |" for cells in rows]
    return lines
