"""What an SFTP drop session can end in: its errors, one file's outcome, a run's outcomes."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import paramiko

from connectors.http.errors import SourceError

SHANGHAI = ZoneInfo("Asia/Shanghai")
INBOX, ARCHIVE, REJECTED = "/inbox", "/archive", "/rejected"
IN_PROGRESS_SUFFIXES = (".part", ".tmp", ".filepart", ".crdownload")
_USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
_CHUNK = 32 * 1024  # SFTP reads land on disk as they arrive: a broken transfer keeps what it got
CONNECTION_ERRORS = (paramiko.SSHException, EOFError, socket.error, OSError)


class HostKeyRejected(SourceError):
    """The server's host key is not the pinned one: refuse to talk to it."""


class SftpUnavailable(SourceError):
    """The server cannot be reached or refused our key; nothing was touched, the next run tries again."""


class SftpConfigError(SourceError):
    """A key, known_hosts or folder set up wrongly: the message names the path and the fix; retrying cannot help."""


class SftpPermissionDenied(SourceError):
    """Files the account may not read, write or move; the others were processed (see `run`)."""

    def __init__(self, message: str, run: DropRun):
        super().__init__(message)
        self.run = run


@dataclass
class DropOutcome:
    """What happened to one file of the inbox."""

    remote: str
    agency: str
    status: str  # imported | already_loaded | rejected | interrupted | failed | in_progress | growing | vanished | denied
    sha256: str | None = None
    batch_id: str | None = None
    moved_to: str | None = None
    reason: str | None = None


@dataclass
class DropRun:
    outcomes: list[DropOutcome] = field(default_factory=list)
    # per entity, the counts summed over the batches the run committed (filled by the flow that imports)
    entities: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    def of(self, name: str) -> DropOutcome:
        """The outcome of the file whose remote path ends with `name`."""
        return next(o for o in self.outcomes if o.remote.endswith(name))
