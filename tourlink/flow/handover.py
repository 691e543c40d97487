"""The hand-over between the steps of one run: a staged batch's parts and manifests, by run id.

Airflow runs a sync as extract → validate → merge, possibly on different workers. Each step leaves
what the next one needs in the run's hand-over and names it in a manifest:

- `extract.json` (extract): the source, its mapping, the new state, the frames (`frames/*.parquet`)
  and the raw bodies (`raw/*`) the reader returned;
- `staged.json` (validate): a `StagedBatch`, i.e. the good and bad parts (`parts/*.parquet`) per
  entity, what was read, the state and the raw bodies to keep;
- `merged.json` (merge): the committed batch's counts, so a retried merge answers again instead of
  committing twice.

A step that cannot find its hand-over raises `HandoverMissing`: it never reports success with
nothing done. `Handover` is the one interface the steps use; it keeps everything in a folder
(`$TOURLINK_HOME/runs/<source>/<run id>/`, or any folder every worker of the run mounts). Storage
shared another way (object storage) is another implementation of the same few methods, chosen in
`handover_for`.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from tourlink import settings


class HandoverMissing(FileNotFoundError):
    """A step found nothing where the step before it hands over: it ran out of order, or the earlier
    step's output was lost. Retrying the earlier step (not this one) is what helps."""


class Handover:
    """The named parts and manifests of one run, in a folder."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"Handover({str(self.root)!r})"

    def _path(self, name: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write_frame(self, name: str, frame: pl.DataFrame) -> str:
        frame.write_parquet(self._path(name), compression="lz4")
        return name

    def read_frame(self, name: str) -> pl.DataFrame:
        return pl.read_parquet(self.local_path(name))

    def write_bytes(self, name: str, data: bytes) -> str:
        self._path(name).write_bytes(data)
        return name

    def local_path(self, name: str) -> Path:
        """A local file holding part `name` (the landing folder copies raw bodies from a path)."""
        path = self.root / name
        if not path.is_file():
            raise HandoverMissing(f"{self.root}: the hand-over has no {name}")
        return path

    def write_json(self, name: str, payload: dict[str, Any]) -> None:
        self._path(name).write_text(json.dumps(payload, ensure_ascii=False, default=str), encoding="utf-8")

    def read_json(self, name: str) -> dict[str, Any]:
        return json.loads(self.local_path(name).read_text(encoding="utf-8"))

    def exists(self, name: str) -> bool:
        return (self.root / name).is_file()

    def delete(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)

    def remove(self, prefix: str) -> None:
        """Drop every part under `prefix` (a folder of parts the next steps no longer need)."""
        shutil.rmtree(self.root / prefix, ignore_errors=True)

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def handover_for(source: str, run_id: str) -> Handover:
    """The hand-over of run `run_id` of `source` (every step of the run finds the same one)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)
    return Handover(settings.home() / "runs" / source / safe)


def scratch_handover(batch_id: str) -> Handover:
    """A hand-over for a batch staged outside a run (`tourlink validate`, tests)."""
    return Handover(settings.home() / "staging" / batch_id)


@dataclass
class StagedBatch:
    """The validated rows of one batch, as parts of a hand-over, waiting for `commit`."""

    handover: Handover | None
    batch_id: str
    source: str
    received_at: datetime
    files: list[tuple[str, str]] = field(default_factory=list)  # (local path, name) of files to keep
    parts: list[tuple[str, str, str]] = field(default_factory=list)  # (entity, "good" | "bad", part name)
    read: dict[str, int] = field(default_factory=dict)
    state: dict[str, str] = field(default_factory=dict)  # watermarks and connector state, committed with the rows
    raw_files: list[str] = field(default_factory=list)  # raw bodies (part names) kept in the landing folder
    entities: list[str] = field(default_factory=list)  # what the batch's mappings can produce
    timings: dict[str, float] = field(default_factory=dict)

    MANIFEST = "staged.json"

    def save(self) -> None:
        assert self.handover is not None
        payload = {k: v for k, v in vars(self).items() if k != "handover"}
        self.handover.write_json(self.MANIFEST, {**payload, "received_at": self.received_at.isoformat()})

    @classmethod
    def load(cls, handover: Handover) -> StagedBatch:
        payload = handover.read_json(cls.MANIFEST)
        payload["received_at"] = datetime.fromisoformat(payload["received_at"])
        payload["files"] = [tuple(f) for f in payload["files"]]
        payload["parts"] = [tuple(p) for p in payload["parts"]]
        return cls(handover=handover, **payload)
