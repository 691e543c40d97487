"""Files as one batch: `tourlink import` and `tourlink validate` (and a replay, an SFTP drop's file).

The files may come in any order: each is opened (its header picks its mapping) before any row is
staged, and the batch stages them parents first (`flow.inputs.parents_first`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tourlink.flow.batch import load_batch
from tourlink.flow.inputs import file_inputs
from tourlink.flow.merge import BatchResult
from tourlink.flow.staging import stage, warehouse_of


def import_files(
    paths: Sequence[Path | str],
    *,
    source: str = "files",
    entity: str | None = None,
    mapping: str | None = None,
    owner_uscc: str | None = None,
    names: Sequence[str] | None = None,
    warehouse: Any = None,
    chunk_rows: int = 100_000,
    progress: bool = False,
    skip_loaded: bool = False,
) -> BatchResult:
    """Import files as ONE batch. Files may come in any order. A file that cannot be read at all
    raises `UnreadableInput`; a file in an agency's folder with another agency's rows raises
    `ForeignAgencyRows`; in both cases nothing of the batch is loaded.

    `skip_loaded`: a file whose exact bytes (SHA-256) a committed batch already holds is left out
    and listed in `skipped`, unread: re-reading it could only find every row unchanged. When every
    file is left out, nothing is written and `batch_id` is None."""
    paths = [Path(p) for p in paths]
    names = list(names) if names else [str(p) for p in paths]
    wh = warehouse_of(warehouse)
    skipped: list[dict[str, str]] = []
    checksum = 0.0
    if skip_loaded:
        started = time.perf_counter()
        paths, names, skipped = _leave_out_loaded(paths, names, wh)
        checksum = time.perf_counter() - started
        if not paths:
            return BatchResult(batch_id=None, source=source, timings={"checksum": checksum}, skipped=skipped)
    started = time.perf_counter()
    inputs = file_inputs(paths, names, entity=entity, mapping=mapping, chunk_rows=chunk_rows)
    opened = time.perf_counter() - started  # each file's first chunk is read here, to pick its mapping
    result = load_batch(inputs, source=source, warehouse=wh, owner_uscc=owner_uscc, show_progress=progress)
    result.timings["read"] = result.timings.get("read", 0.0) + opened
    if skip_loaded:
        result.timings["checksum"] = checksum
    result.skipped = skipped
    return result


def _leave_out_loaded(
    paths: list[Path], names: list[str], wh: Any
) -> tuple[list[Path], list[str], list[dict[str, str]]]:
    """Split off the files a committed batch already holds (same SHA-256 as the landing folder keys
    them by): the paths and names still to import, and what was left out with the batch that holds it."""
    from warehouse.landing import sha256_of

    kept_paths, kept_names, skipped = [], [], []
    for path, name in zip(paths, names, strict=True):
        digest = sha256_of(path) if path.is_file() else None  # a missing file fails as unreadable, below
        batch_id = wh.loaded_by(digest) if digest else None
        if batch_id is None:
            kept_paths.append(path)
            kept_names.append(name)
        else:
            skipped.append({"file": name, "sha256": digest, "batch_id": batch_id})
    return kept_paths, kept_names, skipped


def validate_files(
    paths: Sequence[Path | str], *, entity: str | None = None, mapping: str | None = None, warehouse: Any = None
) -> BatchResult:
    """The checks of `import_files`, writing nothing: every failing row comes back in `failures`."""
    paths = [Path(p) for p in paths]
    inputs = file_inputs(paths, [str(p) for p in paths], entity=entity, mapping=mapping)
    staged, failures = stage(inputs, source="validate", warehouse=warehouse, keep_failures=True)
    if staged.handover is not None:
        staged.handover.clear()
    result = BatchResult(batch_id=None, source="validate", files=[name for _, name in staged.files], failures=failures)
    for entity_name, read in staged.read.items():
        result.counts(entity_name).read = read
    for failure in failures:
        if any(rule["severity"] == "ERROR" for rule in failure["rules"]):
            result.counts(failure["entity"]).quarantined += 1
    return result
