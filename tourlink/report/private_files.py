"""Report files are personal data: readable by their owner only (folders 0700, files 0600).

Stewards' reports and fix templates name agencies and (fix templates) full identity numbers, so a
report folder shared on a server must not let one region's steward read another's files.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) owner-only; an existing folder of ours loses group/other access."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    if path.stat().st_uid == os.geteuid():
        path.chmod(DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    path = Path(path)
    path.chmod(FILE_MODE)
    return path
