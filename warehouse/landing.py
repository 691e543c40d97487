"""The landing folder: every raw input kept by content hash, so any batch can be replayed.

A file lands at `<landing>/<sha[:2]>/<sha><ext>`. It is written to a temporary name in the same
folder and renamed into place, so a crash never leaves a truncated file under a final name, and a
file already landed (same content) is not copied again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from tourlink.atomic import atomic_file

_CHUNK = 1 << 20
_COMPRESSED = {".gz", ".bz2", ".xz", ".zst", ".zip"}


@dataclass(frozen=True)
class LandedFile:
    sha256: str
    landing_path: str  # relative to the landing folder
    size: int


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def land(path: Path, landing_dir: Path) -> LandedFile:
    """Copy `path` into the landing folder under its SHA-256 (atomically); return where it is."""
    path = Path(path)
    sha = sha256_of(path)
    suffix = path.suffix.lower()
    if suffix in _COMPRESSED and len(path.suffixes) >= 2:
        suffix = path.suffixes[-2].lower() + suffix
    relative = Path(sha[:2]) / f"{sha}{suffix}"
    target = landing_dir / relative
    size = path.stat().st_size
    if target.exists():
        os.utime(target)  # landed again: fresh, so retention never takes it for an unrecorded leftover
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(target, prefix=".landing-") as out, open(path, "rb") as src:
            shutil.copyfileobj(src, out, _CHUNK)
    return LandedFile(sha256=sha, landing_path=relative.as_posix(), size=size)
