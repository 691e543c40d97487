"""tourlink's side of the sync bench, one child process per measurement:

    python bench/sync_stages.py fetch    SOURCE URL CREDENTIALS_JSON OPTIONS_JSON
    python bench/sync_stages.py sync     SOURCE URL CREDENTIALS_JSON OPTIONS_JSON WAREHOUSE_URL
    python bench/sync_stages.py sync-seq SOURCE URL CREDENTIALS_JSON OPTIONS_JSON WAREHOUSE_URL

`fetch`: the dialect's reader alone (`tourlink.flow.sources.read`: every page of every stream, with
whatever concurrency the registry's options give, decoded into frames; nothing mapped or loaded): the
ceiling. `sync`: `tourlink.flow.sync`, fetch → map → validate → merge into the warehouse, one batch,
the source's state committed with the rows. `sync-seq`: the same sync with one request at a time
(`max_concurrency: 1`), the reference of "× one at a time". The registry source is used as registered,
pointed at the emulator, with no self-imposed rate limit (the emulator's own limit stands). Prints one
JSON line. OPTIONS_JSON: registry options over the source's (`{"max_concurrency": 8}`), `{}` for none.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _source(name: str, url: str, credentials: dict[str, str], **options: object):  # noqa: ANN202 - SourceConfig
    """The registry source pointed at the emulator, its credentials in the env vars it references."""
    from connectors.registry import get_source

    source = get_source(name)
    for role, ref in source.credentials.items():
        if ref.startswith("env:") and role in credentials:
            os.environ[ref.removeprefix("env:")] = credentials[role]
    return dataclasses.replace(source, base_url=url, options={**source.options, "requests_per_second": None, **options})


def main(mode: str, name: str, url: str, credentials: str, options: str = "{}", warehouse_url: str = "") -> None:
    importlib.import_module("tourlink")  # first (isort would move an import), as the `tourlink` script: polars' allocator
    import mappings.engine  # noqa: F401 - imported before the clock starts: the table times syncing
    import tourlink.flow  # noqa: F401
    import validators.batch  # noqa: F401
    import warehouse.load  # noqa: F401
    from connectors.reading import Window
    from tourlink.flow.sources import read, sync

    chosen = {**json.loads(options), **({"max_concurrency": 1} if mode == "sync-seq" else {})}
    source = _source(name, url, json.loads(credentials), **chosen)
    if mode == "fetch":
        started = time.perf_counter()
        extract = read(source, {}, Window())
        seconds = time.perf_counter() - started
        out = {"seconds": seconds, "requests": extract.requests, "pages": extract.pages,
               "records": extract.rows}  # fmt: skip
    else:
        from warehouse.load import Warehouse

        landing = Path(tempfile.mkdtemp(prefix="bench-sync-landing-"))
        wh = Warehouse(warehouse_url, landing_dir=landing)
        try:
            started = time.perf_counter()
            result = sync(source, warehouse=wh)
            seconds = time.perf_counter() - started
        finally:
            wh.engine.dispose()
            shutil.rmtree(landing, ignore_errors=True)
        loaded = {e: c.get("loaded", 0) for e, c in result.entities.items() if isinstance(c, dict)}
        quarantined = sum(c.get("quarantined", 0) for c in result.entities.values() if isinstance(c, dict))
        out = {"seconds": seconds, "requests": result.requests, "pages": result.pages,
               "records": sum(loaded.values()), "quarantined": quarantined}  # fmt: skip
    out["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:])
