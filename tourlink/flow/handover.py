"""The hand-over between the steps of one run: a staged batch's parts and manifests, by run id.

Airflow runs a sync as extract → validate → merge, possibly on different workers. Each step leaves
what the next one needs in the run's hand-over and names it in a manifest:

- `extract.json` (extract): the source, its mapping, the new state, the frames (`frames/*.parquet`)
  and the raw bodies (`raw/*`) the reader returned;
- `staged.json` (validate): a `StagedBatch`, i.e. the good and bad parts (`parts/*.parquet`) per
  entity, what was read, the state and the raw bodies to keep;
- `merged.json` (merge): the committed batch's counts, so a retried merge answers again instead of
  committing twice.

A step that cannot find its hand-over raises `HandoverMissing` (`tourlink.storage.HandOverMissing`):
it never reports success with nothing done. `Handover` is the one interface the steps use: parts
are written and read in a local folder; a run's hand-over (`RunHandover`, from `handover_for`) puts
them in storage every worker reaches (`tourlink.storage`: `runs/<source>/<run id>/` under
TOURLINK_STORAGE_URL, a folder, `s3://…` or a shared mount), manifests last, so the next step may run
on another worker.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from connectors.bodies import RawBody
from tourlink import settings, storage

# A step found nothing where the step before it hands over: it ran out of order, against other
# storage, or the earlier step's output was lost. Retrying the earlier step (not this one) helps.
HandoverMissing = storage.HandOverMissing


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

    def write_body(self, name: str, body: RawBody) -> str:
        """A raw body as part `name`: a spilled one linked or copied in blocks, never read whole
        (`publish` then streams the file to storage, `fsspec`'s `put_file`)."""
        body.save_as(self._path(name))
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


class RunHandover(Handover):
    """One run's hand-over in storage every worker reaches. A step computes in this worker's scratch
    folder (`storage.scratch`, emptied first: a retry starts clean), `fetch`es the parts it needs and
    `publish`es the ones the next step needs; manifests are written last, so a manifest's presence
    means its parts are whole."""

    def __init__(self, source: str, run_id: str):
        super().__init__(storage.scratch(source, run_id))
        self.source, self.run_id = source, run_id
        self.place = storage.hand_over(source, run_id)
        self._manifests: dict[str, dict[str, Any]] = {}

    def write_json(self, name: str, payload: dict[str, Any]) -> None:
        self._manifests[name] = json.loads(json.dumps(payload, ensure_ascii=False, default=str))

    def read_json(self, name: str, *, missing: str | None = None) -> dict[str, Any]:
        if name in self._manifests:
            return self._manifests[name]
        return self.place.read_json(name, missing=missing or f"no {name} in the hand-over of {self.source} run {self.run_id}")

    def exists(self, name: str) -> bool:
        return name in self._manifests or self.place.exists(name)

    def fetch(self, prefix: str) -> None:
        """Copy the parts under `prefix` from storage into this worker's folder."""
        self.place.get_folder(prefix, self.root / prefix)

    def publish(self, *prefixes: str) -> None:
        """Put the parts under `prefixes` in storage, then every manifest written since."""
        for prefix in prefixes:
            if (self.root / prefix).is_dir():
                self.place.put_folder(self.root / prefix, prefix)
        for name, payload in self._manifests.items():
            self.place.write_json(name, payload)
        self._manifests.clear()

    def remove(self, prefix: str) -> None:
        super().remove(prefix)
        target = f"{self.place.path}/{prefix}"
        if self.place.fs.exists(target):
            self.place.fs.rm(target, recursive=True)

    def clear(self) -> None:
        super().clear()
        self.place.remove()
        self._manifests.clear()

    def done(self) -> None:
        """This step is over: its scratch folder goes (storage keeps what was published)."""
        shutil.rmtree(self.root, ignore_errors=True)


def handover_for(source: str, run_id: str) -> RunHandover:
    """The hand-over of run `run_id` of `source` (every step of the run, on any worker, finds the same one)."""
    return RunHandover(source, run_id)


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
    sheets: dict[str, dict[str, Any]] = field(default_factory=dict)  # per workbook: sheets read / skipped

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
