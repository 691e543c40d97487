"""`load_batch`: the one function where a batch is wired — inputs → mapping → validators → warehouse.

Every direct path calls it: `tourlink import` (`flow.files.import_files`), a source's sync
(`flow.sources.sync`), each file of an SFTP drop (`flow.drop.run`) and a replay. It stages the inputs
(`flow.staging.stage`: mapping and validation, parents first) into a `flow.merge.StreamedBatch` whose
writer thread merges each part in the batch's ONE transaction, commits the source's state with the
rows, and then lets the warehouse derive what follows from what landed (`warehouse.derived`).
Airflow's steps run the same two halves apart, with a hand-over between them (`flow.steps`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from connectors.bodies import temp_folder
from connectors.reading import RawBody
from tourlink.flow.inputs import Input, recorded_sheets, sheet_records
from tourlink.flow.merge import BatchResult, StreamedBatch
from tourlink.flow.outage import as_failure, database_errors
from tourlink.flow.staging import stage
from tourlink.metrics import emit_batch


def load_batch(
    inputs: Sequence[Input],
    *,
    source: str,
    warehouse: Any,
    owner_uscc: str | None = None,
    raw: Sequence[RawBody] = (),
    state: dict[str, str] | None = None,
    show_progress: bool = False,
) -> BatchResult:
    """Stage and commit one batch at once: raw inputs and `raw` bodies kept in the landing folder,
    rows merged or quarantined, `state` committed with them; then the warehouse's derivations."""
    started = time.perf_counter()
    files = [(str(item.path), item.name or item.path.name) for item in inputs if item.path is not None]
    streamed: StreamedBatch | None = None
    try:  # the warehouse failing anywhere (a cut connection) is told as what it left: `flow.outage`
        with temp_folder("raw") as tmp:
            streamed = StreamedBatch(warehouse, source, files, raw_files(Path(tmp), raw))
            try:
                staged, _ = stage(
                    inputs, source=source, warehouse=warehouse, owner_uscc=owner_uscc, show_progress=show_progress,
                    sink=streamed.put,
                )
            except BaseException:
                streamed.abort()
                raise
            staged.state = dict(state or {})
            staged.sheets = sheet_records(inputs)  # stored in the batch's transaction (`merge._finish_batch`)
            result = streamed.finish(staged)
        _read_sheets(warehouse, result, staged.sheets)
        result.derived = after_commit(warehouse, source=source, entities=staged.entities)
    except database_errors() as exc:
        raise as_failure(warehouse, exc, streamed.result.batch_id if streamed else None) from exc
    emit_batch(result.to_json(), time.perf_counter() - started)  # counts to StatsD / Prometheus (docs/metrics.md)
    return result


def _read_sheets(warehouse: Any, result: BatchResult, records: dict[str, Any]) -> None:
    """The result's `sheets` read back from the batch record, so what the steward is told is what
    `batch_file.sheets` holds."""
    if result.batch_id is not None and records:
        result.sheets = recorded_sheets(warehouse.file_sheets(result.batch_id))


def after_commit(warehouse: Any, *, source: str, entities: Sequence[str]) -> dict[str, dict[str, int]]:
    """What the warehouse derives from a committed batch of `source` that could land `entities`."""
    from warehouse.derived import after_commit as derive

    return derive(warehouse.engine, source=source, entities=entities)


def raw_files(folder: Path, raw: Sequence[RawBody]) -> list[Path]:
    """The raw bodies as files the landing folder can copy, named as the steward will see them: a
    spilled body is linked (or copied in blocks), never read into memory."""
    return [body.save_as(folder / f"{i:05d}" / body.name) for i, body in enumerate(raw)]
