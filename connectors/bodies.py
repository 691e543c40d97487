"""A response body (or export file) as received: in memory when small, in a temp file when large.

A vendor body over the client's spill threshold (`spill_body_bytes`, 8 MiB by default) is streamed
to a `tourlink-body-<pid>-<host>-…` file under `$TOURLINK_HOME/tmp/` (the landing folder's disk, so landing
it is a link or a streamed copy, never a read into memory) and only its first `HEAD_BYTES` stay in
memory: enough for the encoding checks and the error messages that quote the start of a body.

Who deletes a spilled file: the HTTP client when the attempt that received it fails (a retry, a
refusal) or when the read it served fails (`HttpClient.__exit__` with an exception); the flow, in a
`finally`, once the read's batch or hand-over is done (`discard`). A crashed process leaves its
files behind: the next HTTP client made in any process on that host removes every `tourlink-*`
entry there whose process is gone (`sweep`). The folder is not the OS's /tmp (often a tmpfs, i.e.
memory, and not the landing folder's disk), so the OS's tmp cleaning is no help: the sweep is.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from tourlink import settings

HEAD_BYTES = 256 * 1024  # what the encoding checks sample (`connectors.encoding.SAMPLE_BYTES`) and quotes need
PREFIX = "tourlink-"


@dataclass(frozen=True)
class RawBody:
    """A body as received: `body` (small ones) or `path` (a spilled temp file) — exactly one is set.

    `name` is what a steward sees on a quarantined row (`batch_file.file`); the client's bodies have
    none until the reader names them (`named`). `start` holds a spilled body's first bytes."""

    name: str = ""
    body: bytes | None = None
    path: Path | None = None
    start: bytes = b""

    def __post_init__(self) -> None:
        if (self.body is None) == (self.path is None):
            raise ValueError("a RawBody holds either bytes or a path")

    @property
    def spilled(self) -> bool:
        return self.path is not None

    @property
    def size(self) -> int:
        return len(self.body) if self.body is not None else os.path.getsize(self.path)  # type: ignore[arg-type]

    def open(self) -> BinaryIO:
        """The body as a binary file object (read from disk when spilled)."""
        return io.BytesIO(self.body) if self.body is not None else open(self.path, "rb")  # type: ignore[arg-type]  # noqa: SIM115

    def read_bytes(self) -> bytes:
        """The whole body in memory: for small bodies (a spilled one is read whole, which it is spilled to avoid)."""
        if self.body is not None:
            return self.body
        return Path(self.path).read_bytes()  # type: ignore[arg-type]

    def head(self, n: int = HEAD_BYTES) -> bytes:
        """The first `n` bytes (error quotes, encoding checks), from memory when they are kept."""
        if self.body is not None:
            return self.body[:n]
        if n <= len(self.start):
            return self.start[:n]
        with self.open() as fh:
            return fh.read(n)

    def tail(self, n: int) -> bytes:
        """The last `n` bytes (whether a body ends with its root's end tag)."""
        if self.body is not None:
            return self.body[-n:]
        with self.open() as fh:
            fh.seek(max(0, self.size - n))
            return fh.read()

    def named(self, name: str) -> RawBody:
        """The same body under the name a steward will see (a spilled file is not copied)."""
        return replace(self, name=name)

    def save_as(self, target: Path) -> Path:
        """The body written to `target`: a hard link to a spilled file where the disk allows, else a
        streamed copy; never the whole body in memory."""
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.body is not None:
            target.write_bytes(self.body)
            return target
        try:
            os.link(self.path, target)  # type: ignore[arg-type]
        except OSError:  # another filesystem (or no links there): copy in blocks
            with self.open() as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        return target

    def discard(self) -> None:
        """Delete a spilled file (nothing for a body in memory); safe to call twice."""
        if self.path is not None:
            Path(self.path).unlink(missing_ok=True)


def as_raw(body: bytes | RawBody, name: str = "") -> RawBody:
    """`body` as a RawBody named `name` (bytes wrapped; a RawBody renamed when a name is given)."""
    if isinstance(body, RawBody):
        return body.named(name) if name else body
    return RawBody(name, bytes(body))


def discard(bodies: Iterable[RawBody]) -> None:
    """Delete the spilled files of `bodies` (the extract they came with is done or failed)."""
    for body in bodies:
        body.discard()


def spill_dir() -> Path:
    """Where large bodies are spilled: `$TOURLINK_HOME/tmp`, on the landing folder's disk."""
    folder = settings.home() / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _host() -> str:
    """This machine, as a name part without dashes: a TOURLINK_HOME shared by several hosts must
    never have one host sweep another's live files (its pids mean nothing here)."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _owned(kind: str) -> str:
    return f"{PREFIX}{kind}-{os.getpid()}-{_host()}-"


def spill_file() -> tuple[Path, BinaryIO]:
    """A new spill file (`tourlink-body-<pid>-<host>-…`, named by its process so `sweep` knows its owner)."""
    fd, name = tempfile.mkstemp(prefix=_owned("body"), suffix=".part", dir=spill_dir())
    return Path(name), os.fdopen(fd, "wb")


def temp_folder(kind: str) -> tempfile.TemporaryDirectory[str]:
    """A temp folder beside the spill files (`tourlink-<kind>-<pid>-<host>-…`): linking a spilled body into it is free."""
    return tempfile.TemporaryDirectory(prefix=_owned(kind), dir=spill_dir())


_swept = threading.Event()


def sweep(folder: Path | None = None) -> int:
    """Remove the `tourlink-*` files and folders a process that is gone left in the spill folder
    (a crash between spilling and the flow's `finally`). Once per process; returns what it removed."""
    if folder is None:
        if _swept.is_set():
            return 0
        _swept.set()
        folder = settings.home() / "tmp"
    if not folder.is_dir():
        return 0
    removed, here = 0, _host()
    for entry in folder.iterdir():
        owner = _owner(entry.name, here)
        if owner is None or owner == os.getpid() or _alive(owner):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed


def _owner(name: str, host: str) -> int | None:
    """The pid in `tourlink-<kind>-<pid>-<host>-…` made on `host`, or None for anything else."""
    if not name.startswith(PREFIX):
        return None
    parts = name.split("-")
    if len(parts) < 5 or not parts[2].isdigit() or parts[3] != host:
        return None
    return int(parts[2])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
