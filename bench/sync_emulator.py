"""An ERP emulator in its own process for the sync bench: `python bench/sync_emulator.py SOURCE GROUPS
LATENCY_MS RATE_LIMIT` starts devkit's emulator of the registry source SOURCE's dialect with GROUPS
seeded groups and LATENCY_MS added to every response, prints one JSON line (url, credentials, the
ground truth's record counts) and serves until its standard input closes; a line `requests` on it
answers how many requests it has served (the bench counts each contender's requests the same way).

In its own process so that the emulator's Python does not share a GIL with the client it serves."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(source_name: str, groups: str, latency_ms: str, rate_limit: str) -> None:
    from connectors.registry import get_source
    from devkit.sandbox import SANDBOXES

    source = get_source(source_name)
    dialect = source.dialect
    options: dict = {"groups": int(groups), "agencies": 20}
    if dialect == "oauth-cursor":
        options["rate_limit"] = float(rate_limit)
    box = SANDBOXES[dialect](region=source.region or "110000", port=0, **options)
    box.faults.latency_seconds = int(latency_ms) / 1000
    box.start()
    truth = box.ground_truth()
    print(json.dumps({"url": box.url, "credentials": box.credentials,
                      "records": {k: len(v) for k, v in truth.items()}}), flush=True)  # fmt: skip
    for line in sys.stdin:  # until the bench closes the pipe; "requests": how many it has served so far
        if line.strip() == "requests":
            print(len(box.requests), flush=True)
    box.stop()


if __name__ == "__main__":
    main(*sys.argv[1:5])
