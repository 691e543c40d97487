"""`make bench`, the nightly ERP sync: N groups from the signed-json and oauth-cursor emulators, each in its
own process with an injected per-request latency (default 0, 100 and 300 ms), synced three ways:

- fetch alone: the dialect's reader, every page decoded, nothing mapped or loaded (the ceiling);
- tourlink sync: fetch → map → validate → merge into a fresh PostgreSQL schema, one batch (`tourlink.flow.sync`);
- tourlink sync, one request at a time (`max_concurrency: 1`; at the `--seq-latency` cells, default 100 ms):
  the reference of "× one at a time";
- dlt rest_api: the same endpoints loaded into PostgreSQL by dlt's `rest_api` source (no validation),
  from bench/.venv-dlt (`dlt_rest.py`; signed-json through a custom HMAC auth class);
- with `--reference DIR`: "sync at DIR", the same sync run by another checkout (its own `.venv` and
  `bench/sync_stages.py`, e.g. main beside a branch), so a change is measured against what it changes
  in the same run.

`--runs` rounds (default 3), every contender of every cell in each, each after a CHECKPOINT (`protocol`);
the table gives medians and ranges, the sync's time as a multiple of its fetch and tourlink's speed as a
multiple of dlt's, both taken within each run. tourlink uses the registry source as registered (page
size, concurrency: whatever `connectors/` offers), pointed at the emulator, without a self-imposed rate
limit; the oauth-cursor emulator's own limit is `--rate` requests/s.

    python bench/sync.py [--groups 5000 | --groups signed-json=5000,oauth-cursor=100] [--latency 0,100,300]
                         [--runs 3] [--only fetch,sync,seq,dlt] [--seq-latency 100] [--max-concurrency N] [--sources sandbox_signed_json,…]
                         [--reference ../main] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from dlt_venv import ensure_dlt, run_dlt
from postgres import DEFAULT_PG, Scratch
from protocol import RUNS, Contender, measure
from sync_table import report

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SOURCES = ("sandbox_signed_json", "sandbox_oauth_cursor")
# signed-json: 100 groups a page, so 5,000 groups are ~90 requests; oauth-cursor asks one request per
# group for its members, so its N is what one request at a time at 300 ms can do in ~30 s.
GROUPS = {"signed-json": 5000, "oauth-cursor": 100}
LATENCIES_MS = (0, 100, 300)
RATE = 1000.0
LABELS = {"fetch": "fetch alone", "sync": "tourlink sync", "seq": "sync, one request at a time", "dlt": "dlt rest_api"}


@dataclass
class Emulator:
    """One emulator process: a source's dialect with `groups` groups and `latency_ms` on every response."""

    source: str
    dialect: str
    groups: int
    latency_ms: int
    proc: subprocess.Popen
    url: str
    credentials: dict
    records: dict

    @classmethod
    def start(cls, source: str, dialect: str, groups: int, latency_ms: int, rate: float) -> Emulator:
        proc = subprocess.Popen(
            [sys.executable, str(BENCH / "sync_emulator.py"), source, str(groups), str(latency_ms), str(rate)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip
        info = json.loads(proc.stdout.readline())
        return cls(source, dialect, groups, latency_ms, proc, info["url"], info["credentials"], info["records"])

    def served(self) -> int:
        self.proc.stdin.write("requests\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def stop(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)

    @property
    def cell(self) -> str:
        return f"{self.dialect}, {self.latency_ms} ms"


def _tourlink(mode: str, em: Emulator, pg_url: str, concurrency: int | None = None, tree: Path = ROOT) -> dict:
    """One measurement by `bench/sync_stages.py` of the checkout `tree` (this one, or `--reference`)."""
    options = {"max_concurrency": concurrency} if concurrency and mode != "sync-seq" else {}
    python = sys.executable if tree == ROOT else str(tree / ".venv" / "bin" / "python")
    args = [python, str(tree / "bench" / "sync_stages.py"), mode, em.source, em.url, json.dumps(em.credentials),
            json.dumps(options)]  # fmt: skip
    target = Scratch(pg_url) if mode.startswith("sync") else None
    try:
        proc = subprocess.run([*args, *([target.url] if target else [])], capture_output=True, text=True, cwd=tree)
    finally:
        if target:
            target.drop()
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def contender(kind: str, em: Emulator, scratch: Scratch, opts: argparse.Namespace) -> Contender:
    label = f"sync at {opts.reference}" if kind == "ref" else LABELS[kind]

    def run() -> list[dict]:
        before = em.served()
        if kind == "dlt":
            python = ensure_dlt()
            dataset = f"{scratch.name}_rest_{uuid.uuid4().hex[:6]}"
            try:
                args = [em.source, em.url, json.dumps(em.credentials), scratch.libpq, dataset]
                r = run_dlt(python, "dlt_rest.py", args, opts.out) if python else {"error": "no dlt venv"}
            finally:
                scratch.drop_schemas(dataset, f"{dataset}_staging")
        elif kind == "ref":
            r = _tourlink("sync", em, opts.pg_url, opts.max_concurrency, tree=opts.reference)
        else:
            r = _tourlink("sync-seq" if kind == "seq" else kind, em, opts.pg_url, opts.max_concurrency)
        requests = em.served() - before
        extra = {"requests": requests, "records": r.get("records", 0)}
        return [{"name": f"{em.cell}: {label}", "input": em.cell, "rows": em.groups, "extra": extra, **r}]

    return Contender(kind, f"{em.cell}: {label}", run)


def _groups(text: str | None) -> dict[str, int]:
    if not text:
        return dict(GROUPS)
    if "=" not in text:
        return dict.fromkeys(GROUPS, int(text))
    return {**GROUPS, **{k: int(v) for k, v in (part.split("=") for part in text.split(","))}}


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", help=f"groups per emulator: N, or dialect=N,… (default {GROUPS})")
    parser.add_argument("--latency", default=",".join(map(str, LATENCIES_MS)), help="ms per request, comma-separated")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--only", help="comma-separated: fetch, sync, seq, dlt (default all)")
    parser.add_argument("--max-concurrency", type=int,
                        help="requests in flight for tourlink's fetch and sync (default: the registry's, else the preset's)")
    parser.add_argument("--seq-latency", default="100", help="latencies (ms) whose cells also run the sync one request at a time")
    parser.add_argument("--sources", default=",".join(SOURCES))
    parser.add_argument(
        "--rate", type=float, default=RATE, help=f"oauth-cursor emulator's requests/s (default {RATE:g})"
    )
    parser.add_argument("--reference", type=Path,
                        help="another checkout (with its .venv) whose sync runs beside this one's, e.g. ../main")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    parser.add_argument("--markdown", type=Path)
    return parser.parse_args()


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from connectors.registry import get_source

    opts = parse()
    opts.out.mkdir(parents=True, exist_ok=True)
    kinds = [k for k in LABELS if not opts.only or k in opts.only.split(",")]
    if opts.reference:
        opts.reference = opts.reference.resolve()
        kinds.insert(kinds.index("sync") + 1 if "sync" in kinds else len(kinds), "ref")
    seq_cells = {int(v) for v in opts.seq_latency.split(",") if v}
    groups = _groups(opts.groups)
    load = f"{os.getloadavg()[0]:.1f}"
    emulators: list[Emulator] = []
    scratch = Scratch(opts.pg_url)
    try:
        for name in opts.sources.split(","):
            dialect = get_source(name).dialect
            for latency in map(int, opts.latency.split(",")):
                emulators.append(Emulator.start(name, dialect, groups[dialect], latency, opts.rate))
        contenders = [contender(kind, em, scratch, opts) for em in emulators for kind in kinds
                      if kind != "seq" or em.latency_ms in seq_cells]  # fmt: skip
        per_run = measure(contenders, opts.runs, scratch.settle)
    finally:
        for em in emulators:
            em.stop()
        scratch.drop()
    table = report(per_run, emulators, cores=os.cpu_count() or 0, load=load, load_end=f"{os.getloadavg()[0]:.1f}",
                   rate=opts.rate)  # fmt: skip
    print(table)
    if opts.markdown:
        opts.markdown.write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
