"""Files replaced whole or not at all: the landing folder's copies and retention's rewrites in place.

A reader (a replay, an audit, a crash-recovering run) must never see a truncated file under its
final name: the bytes go to a temporary file in the same folder (so the rename cannot cross file
systems), reach the disk (`fsync`), and only then are renamed over the final name.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_file(path: Path, *, prefix: str) -> Iterator[BinaryIO]:
    """A binary file to write that becomes `path` when the block ends; on any exception `path` is
    left as it was and the temporary file (`<prefix>…` beside it) is removed."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
