"""One session with a source's drop folder (`Drop`): what the flow asks of the server, nothing more."""

from __future__ import annotations

import logging
import posixpath
import stat
from datetime import datetime
from pathlib import Path

import paramiko

from connectors.registry import SourceConfig
from connectors.sftp.connection import connect
from connectors.sftp.folders import _exists, _prepare_folders, download, folder_for, move, reject, stable_files
from connectors.sftp.outcomes import _USCC, CONNECTION_ERRORS, INBOX, SHANGHAI, DropOutcome, DropRun, SftpUnavailable

log = logging.getLogger("connectors.sftp")


# --------------------------------------------------------------------------- a session


def _staging(source: SourceConfig) -> Path:
    configured = source.option("staging_dir")
    if configured:
        return Path(configured)
    from tourlink import settings

    return settings.home() / "sftp-staging" / source.name


class Drop:
    """One session with a source's drop folder: what the flow asks of the server, nothing more."""

    def __init__(self, source: SourceConfig):
        self.source = source
        self.staging = _staging(source)
        self.client: paramiko.SSHClient | None = None
        self.sftp: paramiko.SFTPClient | None = None
        self.client, self.sftp = connect(source)

    def __enter__(self) -> Drop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        self.client, self.sftp = None, None

    def _session(self) -> paramiko.SFTPClient:
        if self.sftp is None:
            self.client, self.sftp = connect(self.source)
        return self.sftp

    def reconnect(self) -> bool:
        """After a broken transfer: a new session, or False when the server cannot be reached again."""
        self.close()
        try:
            self.client, self.sftp = connect(self.source)
        except (SftpUnavailable, *CONNECTION_ERRORS):
            log.warning("sftp %s: cannot reconnect; the rest waits for the next run", self.source.name)
            return False
        return True

    def settled(self, run: DropRun) -> list[tuple[str, str, int, int]]:
        """(remote, agency, size, mtime) of every settled file in an agency folder; the others are
        recorded in `run` (still uploading, growing, denied, or in a folder that is not a USCC). The
        inbox must exist and the archive and rejected folders be creatable (`SftpConfigError`)."""
        sftp = self._session()
        _prepare_folders(sftp, self.source)
        files = []
        for remote, agency, size, mtime in stable_files(sftp, float(self.source.option("settle_seconds", 1.0)), run):
            if not _USCC.match(agency):
                run.outcomes.append(DropOutcome(remote, agency, "failed", reason=f"folder {agency!r} is not a USCC"))
            else:
                files.append((remote, agency, size, mtime))
        return files

    def fetch(self, remote: str, agency: str, size: int, mtime: int) -> Path:
        """The file downloaded into the staging folder (resumed where an earlier session broke off)."""
        return download(self._session(), remote, size, mtime, self.staging / agency / posixpath.basename(remote))

    def archive(self, remote: str, agency: str, sha256: str) -> str:
        """Move an imported (or already loaded) file to its archive folder (`folder_for`)."""
        folder = folder_for(self.source, "archive", agency, datetime.now(SHANGHAI))
        create = bool(self.source.option("create_folders", True))
        return move(self._session(), remote, folder, sha256, create=create, option="archive_dir")

    def reject(self, remote: str, agency: str, sha256: str, exc: Exception) -> str:
        """Move a file the flow refused to the agency's rejected folder, its `.errors.txt` beside it."""
        return reject(self._session(), remote, agency, sha256, exc, self.source)

    def discard(self, local: Path) -> None:
        """The staging copy of a file that was archived or rejected."""
        for leftover in (local, local.with_name(local.name + ".part.json")):
            leftover.unlink(missing_ok=True)


def open_drop(source: SourceConfig) -> Drop:
    """A connected session (the dialect table's reader of `sftp-drop`)."""
    return Drop(source)


def check(source: SourceConfig) -> dict[str, int]:
    """Key, pinned host key and reachability (`tourlink sources check`): connect, count the files
    waiting in the agency folders, touch nothing."""
    client, sftp = connect(source)
    try:
        folders = [f for f in sftp.listdir_attr(INBOX) if stat.S_ISDIR(f.st_mode or 0)] if _exists(sftp, INBOX) else []
        waiting = sum(
            stat.S_ISREG(e.st_mode or 0) for f in folders for e in sftp.listdir_attr(posixpath.join(INBOX, f.filename))
        )
    finally:
        client.close()
    return {"inbox": waiting}
