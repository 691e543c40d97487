"""Storage every worker reaches: the hand-over between a run's tasks, and copies of raw inputs and reports.

One setting chooses it, `TOURLINK_STORAGE_URL` (any fsspec URL, the same scheme Airflow's
`ObjectStoragePath` reads): by default a folder under TOURLINK_HOME (the embedded default, one
machine); for a deployment whose tasks run on several workers, object storage (`s3://bucket/prefix`,
endpoint and keys from the standard `AWS_*` variables, or `TOURLINK_STORAGE_OPTIONS` as JSON) or a
shared filesystem (`file:///mnt/shared/tourlink`).

Tasks still compute in a local scratch folder (Parquet and polars want local files); what one task
leaves for the next is copied up when it finishes and down when the next starts, so no task depends
on the disk of the worker that ran the one before. A hand-over that is not there fails loudly
(`HandOverMissing`): a run must never succeed with nothing loaded because it looked on the wrong disk.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from tourlink import settings


class HandOverMissing(RuntimeError):
    """What the previous task of a run handed over is not in storage (it did not run, ran against
    other storage, or the hand-over was removed): the run must fail, not go on with nothing."""


def storage_url() -> str:
    return settings.storage_url()


def _filesystem() -> tuple[Any, str]:
    from fsspec.core import url_to_fs  # here: a process that never leaves the local disk need not load fsspec

    options = json.loads(os.environ.get("TOURLINK_STORAGE_OPTIONS") or "{}")
    fs, root = url_to_fs(storage_url(), **options)
    return fs, root.rstrip("/")


def _key(first: str, *parts: str) -> str:
    """`first` joined with `parts` by "/" (a leading "/" of `first`, a local root, is kept)."""
    return "/".join([first.rstrip("/"), *(p.strip("/") for p in parts if p)])


def _safe(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)


class Place:
    """A folder in storage (`runs/<source>/<run id>`, `reports/…`): put and get files and folders."""

    def __init__(self, *parts: str):
        self.fs, root = _filesystem()
        self.path = _key(root, *parts)

    @property
    def url(self) -> str:
        return self.fs.unstrip_protocol(self.path)

    def _at(self, relative: str) -> str:
        return _key(self.path, relative) if relative else self.path

    def exists(self, relative: str = "") -> bool:
        return bool(self.fs.exists(self._at(relative)))

    def put_folder(self, local: Path, relative: str = "") -> int:
        """Copy every file under `local` to `relative` of this place; returns the number of files."""
        files = [p for p in sorted(Path(local).rglob("*")) if p.is_file()]
        for path in files:
            inside = path.relative_to(local).as_posix()
            target = self._at(f"{relative.strip('/')}/{inside}" if relative else inside)
            self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            self.fs.put_file(str(path), target)
        return len(files)

    def put_file(self, local: Path, relative: str) -> str:
        target = self._at(relative)
        self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        self.fs.put_file(str(local), target)
        return self.fs.unstrip_protocol(target)

    def get_folder(self, relative: str, local: Path) -> int:
        """Copy the files under `relative` of this place into `local` (same layout)."""
        source = self._at(relative)
        self.fs.invalidate_cache()  # another worker wrote it: never trust this process's listing cache
        if not self.fs.exists(source):
            raise HandOverMissing(f"nothing at {self.fs.unstrip_protocol(source)}")
        names = self.fs.find(source)
        for name in names:
            target = Path(local) / Path(name).relative_to(Path(source)).as_posix()
            target.parent.mkdir(parents=True, exist_ok=True)
            self.fs.get_file(name, str(target))
        return len(names)

    def write_json(self, relative: str, value: dict[str, Any]) -> None:
        target = self._at(relative)
        self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        self.fs.pipe_file(target, json.dumps(value, ensure_ascii=False).encode("utf-8"))

    def read_json(self, relative: str, *, missing: str) -> dict[str, Any]:
        """The JSON at `relative`; `HandOverMissing(missing)` naming where it was looked for if absent."""
        target = self._at(relative)
        try:
            return json.loads(self.fs.cat_file(target))
        except FileNotFoundError:
            raise HandOverMissing(f"{missing}: nothing at {self.fs.unstrip_protocol(target)}") from None

    def remove(self) -> None:
        if self.fs.exists(self.path):
            self.fs.rm(self.path, recursive=True)


def hand_over(source: str, run_id: str) -> Place:
    """The place where the tasks of one run of `source` hand over to each other."""
    return Place("runs", source, _safe(run_id))


def scratch(source: str, run_id: str) -> Path:
    """This worker's local scratch folder for a run's task (emptied first: a retry starts clean)."""
    folder = settings.home() / "scratch" / source / _safe(run_id)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def keep_landed(landing_dir: Path, landing_paths: list[str]) -> list[str]:
    """Copy raw inputs a batch landed on this worker to `landing/` in storage (same relative paths), so
    a replay or audit never needs the worker that happened to run the batch."""
    place = Place("landing")
    return [place.put_file(Path(landing_dir) / relative, relative) for relative in landing_paths]


def keep_reports(paths: list[str], reports_dir: Path) -> list[str]:
    """Copy written reports (files or folders under `reports_dir`) to `reports/` in storage."""
    place, kept = Place("reports"), []
    for path in map(Path, paths):
        relative = path.relative_to(reports_dir).as_posix()
        if path.is_dir():
            place.put_folder(path, relative)
            kept.append(place.fs.unstrip_protocol(place._at(relative)))
        else:
            kept.append(place.put_file(path, relative))
    return kept
