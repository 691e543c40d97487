"""What the bench's two dlt scripts share (they run inside bench/.venv-dlt, `dlt_venv`): telemetry off,
one pipeline into PostgreSQL timed around `run`, and the one JSON line the bench reads back."""

from __future__ import annotations

import json
import os
import resource
import time
from typing import Any

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import dlt  # noqa: E402


def timed_run(name: str, dsn: str, dataset: str, data: Any) -> tuple[Any, Any, float]:
    """Load `data` into `dataset` as pipeline `name`; the pipeline, its load info and the seconds taken."""
    pipeline = dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.postgres(credentials=dsn),
        dataset_name=dataset,
        pipelines_dir=os.environ.get("BENCH_DLT_DIR"),
    )
    started = time.perf_counter()
    info = pipeline.run(data)
    return pipeline, info, time.perf_counter() - started


def report(**figures: Any) -> None:
    """Print the figures with this process's peak RSS: the line `dlt_venv.run_dlt` parses."""
    print(json.dumps({**figures, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
