"""A sync as three steps with a hand-over between them: extract → validate → merge (Airflow's tasks).

Each step is restartable on its own and finds its input in the run's hand-over (`flow.handover`),
never in a mode switch: `extract` calls the reader and keeps its frames, raw bodies and new state;
`validate` maps and validates them into a staged batch (good and bad parts, parents first); `merge`
commits that batch in one transaction and runs the warehouse's derivations. A step whose hand-over is
missing fails loudly (`HandoverMissing`), and a run whose extract read rows never ends in a
successful merge of nothing (`NothingStaged`).
"""

from __future__ import annotations

from typing import Any

from connectors.reading import Window
from tourlink.flow.batch import after_commit
from tourlink.flow.handover import StagedBatch, handover_for
from tourlink.flow.inputs import record_inputs
from tourlink.flow.merge import commit
from tourlink.flow.sources import config_of, nothing_to_commit, read
from tourlink.flow.staging import stage, warehouse_of
from tourlink.flow.state import stored_state
from tourlink.frames import SourceFrame

EXTRACTED = "extract.json"
MERGED = "merged.json"


class NothingStaged(RuntimeError):
    """The extract read rows but validation staged none: something lost them between the steps."""


def extract(source_name: str, run_id: str, window: Window) -> dict[str, Any]:
    """Read the window (state from the warehouse) and hand over what the reader returned."""
    source = config_of(source_name)
    handover = handover_for(source.name, run_id)
    handover.clear()  # a re-run of the step starts the run again
    got = read(source, stored_state(source.name, warehouse_of(None)), window)  # the schema made if need be
    frames = [
        {"part": handover.write_frame(f"frames/{i:05d}.parquet", frame.data), "file": frame.file}
        for i, frame in enumerate(got.frames)
    ]
    raw = [handover.write_bytes(f"raw/{i:05d}/{body.name}", body.body) for i, body in enumerate(got.raw)]
    handover.write_json(EXTRACTED, {
        "source": source.name, "mapping": got.mapping, "state": got.state, "frames": frames, "raw": raw,
        "rows": got.rows, "streams": got.streams, "pages": got.pages, "requests": got.requests,
        "nothing": nothing_to_commit(got),
    })
    return {"run": str(handover.root), "pages": got.pages, "requests": got.requests, "streams": got.streams,
            "rows": got.rows}


def validate(source_name: str, run_id: str) -> dict[str, Any]:
    """Map and validate the extracted frames into a staged batch; bad rows are staged for quarantine."""
    handover = handover_for(source_name, run_id)
    manifest = handover.read_json(EXTRACTED)
    frames = (SourceFrame(handover.read_frame(f["part"]), file=f["file"]) for f in manifest["frames"])
    staged, _ = stage(record_inputs(frames, manifest["mapping"]), source=manifest["source"], handover=handover)
    if manifest["rows"] and not staged.parts:  # no staged.json: the merge cannot report success
        handover.delete(StagedBatch.MANIFEST)
        raise NothingStaged(f"{source_name}: the extract read {manifest['rows']} rows, validation staged none")
    staged.state = manifest["state"]
    staged.raw_files = manifest["raw"]
    staged.save()
    handover.remove("frames")
    bad = {entity: sum(1 for e, kind, _ in staged.parts if e == entity and kind == "bad") for entity in staged.read}
    return {"read": staged.read, "bad_parts": bad, "batch_id": staged.batch_id}


def merge(source_name: str, run_id: str) -> dict[str, Any]:
    """Commit the staged batch in one transaction (rows, quarantine, findings, state), then derive.

    A merge retried after it committed answers with the committed batch instead of loading again."""
    handover = handover_for(source_name, run_id)
    if handover.exists(MERGED):
        return handover.read_json(MERGED)
    staged = StagedBatch.load(handover)
    if not staged.parts and not staged.raw_files and not staged.state:  # an idle feed: no batch to record
        payload = {"batch_id": None, "source": staged.source, "files": [], "entities": {}, "timings": {},
                   "skipped": [], "derived": {}}
    else:
        payload = commit(staged).to_json()
    payload["derived"] = after_commit(warehouse_of(None), source=staged.source, entities=staged.entities)
    handover.write_json(MERGED, payload)
    handover.remove("raw")
    return payload
