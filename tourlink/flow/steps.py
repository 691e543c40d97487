"""A sync as three steps with a hand-over between them: extract → validate → merge (Airflow's tasks).

Each step is restartable on its own and finds its input in the run's hand-over (`flow.handover`, in
storage every worker reaches), never in a mode switch: `extract` calls the reader and hands over its
frames, raw bodies and new state (`extract.json`); `validate` maps and validates them into a staged
batch (good and bad parts, parents first; `staged.json`, `validate.json`); `merge` commits that batch
in one transaction, copies the raw inputs it landed to storage and runs the warehouse's derivations
(`merged.json`). A step whose hand-over is missing fails loudly (`HandoverMissing`); an extract that
read pages but handed over no records, or rows that validation staged none of (`NothingStaged`),
never end in a successful merge of nothing.
"""

from __future__ import annotations

from typing import Any

from connectors.bodies import discard
from connectors.reading import Window
from tourlink import storage
from tourlink.flow.batch import after_commit
from tourlink.flow.drift import observe as observe_drift
from tourlink.flow.handover import HandoverMissing, StagedBatch, handover_for
from tourlink.flow.inputs import record_inputs
from tourlink.flow.merge import commit
from tourlink.flow.sources import config_of, nothing_to_commit, read
from tourlink.flow.staging import stage, warehouse_of
from tourlink.flow.state import stored_state
from tourlink.frames import SourceFrame
from tourlink.metrics import emit_batch

EXTRACTED, VALIDATED, MERGED = "extract.json", "validate.json", "merged.json"


class NothingStaged(HandoverMissing):
    """The extract read rows but validation staged none: something lost them between the steps."""


def extract(source_name: str, run_id: str, window: Window) -> dict[str, Any]:
    """Read the window (state from the warehouse) and hand over what the reader returned."""
    source = config_of(source_name)
    handover = handover_for(source.name, run_id)
    handover.clear()  # a retry starts from nothing a previous try left
    wh = warehouse_of(None)  # the schema made if need be
    got = read(source, stored_state(source.name, wh), window)
    try:  # spilled raw bodies are deleted once handed over (or when the hand-over fails)
        observe_drift(got, wh)  # alerted before validation can quarantine over a renamed field
        frames = [
            {"part": handover.write_frame(f"frames/{i:05d}.parquet", frame.data), "file": frame.file}
            for i, frame in enumerate(got.frames)
        ]
        raw = [handover.write_body(f"raw/{i:05d}/{body.name}", body) for i, body in enumerate(got.raw)]
    finally:
        discard(got.raw)
    summary = {"pages": got.pages, "requests": got.requests, "streams": got.streams, "rows": got.rows,
               "pushback": got.pushback, "extracted": not nothing_to_commit(got)}
    handover.write_json(EXTRACTED, {**summary, "source": source.name, "mapping": got.mapping, "state": got.state,
                                    "frames": frames, "raw": raw})
    handover.publish("frames", "raw")
    handover.done()
    return {"run_dir": handover.place.url, **summary}


def validate(source_name: str, run_id: str) -> dict[str, Any]:
    """Map and validate the extracted frames into a staged batch; bad rows are staged for quarantine."""
    handover = handover_for(source_name, run_id)
    manifest = handover.read_json(EXTRACTED, missing=f"no hand-over from the extract task of {source_name} run {run_id}")
    derive: list[str] = []
    if not manifest.get("extracted"):
        if manifest.get("pages"):
            raise HandoverMissing(f"extract read {manifest['pages']} pages of {source_name} but handed over no records")
        result: dict[str, Any] = {"entities": {}, "nothing_extracted": True}
        if manifest.get("mapping"):  # an idle feed: what a commit would derive still runs (catch-up)
            from mappings.engine import load_mapping

            derive = list(load_mapping(manifest["mapping"]).entities)
    else:
        if manifest["frames"]:
            handover.fetch("frames")
        frames = (SourceFrame(handover.read_frame(f["part"]), file=f["file"]) for f in manifest["frames"])
        staged, _ = stage(record_inputs(frames, manifest["mapping"]), source=manifest["source"], handover=handover)
        if manifest.get("rows") and not staged.parts:  # nothing published: the merge cannot report success
            raise NothingStaged(f"{source_name}: the extract read {manifest['rows']} rows, validation staged none")
        staged.state = manifest["state"]
        staged.raw_files = manifest["raw"]
        staged.save()
        handover.publish("parts")
        handover.remove("frames")
        bad = {e: sum(1 for x, kind, _ in staged.parts if x == e and kind == "bad") for e in staged.read}
        result = {"read": staged.read, "bad_parts": bad, "batch_id": staged.batch_id}
    handover.write_json(VALIDATED, {**result, "derive": derive})
    handover.publish()
    handover.done()
    return result


def merge(source_name: str, run_id: str) -> dict[str, Any]:
    """Commit the staged batch in one transaction (rows, quarantine, findings, state), copy the raw
    inputs it landed to storage, then derive. A merge retried after its commit answers with the
    committed batch instead of loading again."""
    handover = handover_for(source_name, run_id)
    if handover.exists(MERGED):
        return handover.read_json(MERGED)
    validated = handover.read_json(VALIDATED, missing=f"no hand-over from the validate task of {source_name} run {run_id}")
    if validated.get("nothing_extracted"):
        if validated.get("derive"):
            after_commit(warehouse_of(None), source=source_name, entities=validated["derive"])
        handover.clear()
        return {"entities": {}}
    staged = StagedBatch.load(handover)
    for prefix, wanted in (("parts", staged.parts), ("raw", staged.raw_files)):
        if wanted:
            handover.fetch(prefix)
    payload = commit(staged).to_json()
    _keep_landed(payload["batch_id"])
    payload["derived"] = after_commit(warehouse_of(None), source=staged.source, entities=staged.entities)
    extracted = handover.read_json(EXTRACTED) if handover.exists(EXTRACTED) else {}
    # counts and the vendor's pushback to StatsD / Prometheus (docs/metrics.md); duration = the steps' timings
    emit_batch({**payload, "pushback": extracted.get("pushback")})
    handover.clear()  # storage keeps only the answer for a retry
    handover.write_json(MERGED, payload)
    handover.publish()
    return payload


def _keep_landed(batch_id: str | None) -> None:
    """Copy the raw inputs batch `batch_id` landed on this worker to storage every worker reaches."""
    import sqlalchemy as sa

    from warehouse.tables import batch_file

    if batch_id is None:
        return
    warehouse = warehouse_of(None)
    with warehouse.engine.connect() as conn:
        paths = conn.execute(sa.select(batch_file.c.landing_path).where(batch_file.c.batch_id == batch_id)).scalars().all()
    storage.keep_landed(warehouse.landing_dir, list(paths))
