"""`sftp-drop`: import-template spreadsheets agencies upload to `/inbox/<USCC>/` (SOURCES.md §5).

The connector connects, lists, downloads, archives and rejects (`Drop`); what to import, in which
order, and importing it is the flow's (`tourlink.flow.drop`). A session: connect with a key, the
server's host key pinned (unknown or changed: `HostKeyRejected`, never a prompt); list every agency
folder twice a moment apart and leave alone files still being written (size or mtime changed,
`.part`/`.tmp` names); download each file to a local staging folder under a temporary name (resuming
a download an earlier run lost), rename it; move it to `/archive/<yyyy>/<mm>/` once imported, or to
`/rejected/` with `<name>.errors.txt` beside it, in Chinese, for the agency.

Registry file: `base_url: sftp://<user>@<host>:<port>`; credentials `private_key` (a reference to
the key file's path or the key text) and optionally `known_hosts` (a reference to the known_hosts
text or its path); or option `known_hosts` (a path). Options: `settle_seconds` (1.0),
`staging_dir`, `timeout_seconds` (30).
"""

from __future__ import annotations

import io
import json
import logging
import os
import posixpath
import re
import socket
import stat
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import paramiko

from connectors.http.errors import SourceError
from connectors.registry import SourceConfig

log = logging.getLogger(__name__)

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


@dataclass
class DropOutcome:
    """What happened to one file of the inbox."""

    remote: str
    agency: str
    status: str  # imported | already_loaded | rejected | interrupted | failed | in_progress | growing | vanished
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


# --------------------------------------------------------------------------- connection


def _known_hosts_text(source: SourceConfig) -> str:
    if "known_hosts" in source.credentials:
        value = source.secret("known_hosts")
    elif source.option("known_hosts"):
        value = str(source.option("known_hosts"))
    else:
        raise HostKeyRejected(f"source {source.name!r} pins no host key: set credential or option known_hosts")
    if "\n" not in value.strip() and Path(value).expanduser().is_file():
        return Path(value).expanduser().read_text(encoding="utf-8")
    return value


def _private_key(source: SourceConfig) -> paramiko.PKey:
    value = source.secret("private_key")
    if "PRIVATE KEY" in value:
        for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
            try:
                return kind.from_private_key(io.StringIO(value))
            except paramiko.SSHException:
                continue
        raise paramiko.SSHException(f"source {source.name!r}: private_key is not a usable key")
    return paramiko.PKey.from_path(Path(value).expanduser())


def connect(source: SourceConfig) -> tuple[paramiko.SSHClient, paramiko.SFTPClient]:
    """An SFTP session with the host key checked against the pinned entry only."""
    url = urlsplit(source.base_url)
    host, port, user = url.hostname or "127.0.0.1", url.port or 22, url.username or "tourlink"
    client = paramiko.SSHClient()
    keys = client.get_host_keys()
    for line in _known_hosts_text(source).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        entry = paramiko.hostkeys.HostKeyEntry.from_line(line)
        if entry is not None and entry.key is not None:
            for name in entry.hostnames:
                keys.add(name, entry.key.get_name(), entry.key)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    where = f"[{host}]:{port}" if port != 22 else host
    timeout = float(source.option("timeout_seconds", 30))
    try:
        client.connect(
            host, port=port, username=user, pkey=_private_key(source), allow_agent=False, look_for_keys=False,
            timeout=timeout, banner_timeout=timeout, auth_timeout=timeout,
        )
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise HostKeyRejected(
            f"SFTP server {where} presented host key {exc.key.get_name()} {exc.key.fingerprint}, which is NOT the "
            f"pinned key {exc.expected_key.fingerprint}: refusing to connect (possible interception; if the server "
            "key was really rotated, update the pinned known_hosts entry)"
        ) from None
    except paramiko.AuthenticationException:
        client.close()
        raise SftpUnavailable(f"SFTP server {where} refused the key of user {user!r}") from None
    except paramiko.SSHException as exc:
        client.close()
        if "not found in known_hosts" in str(exc):
            raise HostKeyRejected(
                f"SFTP server {where} is not in the pinned known_hosts entries: refusing to connect"
            ) from None
        raise SftpUnavailable(f"SFTP server {where}: {type(exc).__name__}: {exc}") from None
    except (OSError, EOFError) as exc:
        client.close()
        raise SftpUnavailable(f"SFTP server {where} unreachable ({type(exc).__name__})") from None
    return client, client.open_sftp()


# --------------------------------------------------------------------------- the inbox


def in_progress(name: str) -> bool:
    """Names of uploads still under way (or editor lock files): never touched."""
    lower = name.lower()
    return lower.endswith(IN_PROGRESS_SUFFIXES) or name.startswith((".", "~$"))


def _listing(sftp: paramiko.SFTPClient) -> dict[str, tuple[str, int, int]]:
    """remote path -> (agency folder, size, mtime) of every regular file in every agency folder."""
    files = {}
    for folder in sftp.listdir_attr(INBOX):
        if not stat.S_ISDIR(folder.st_mode or 0):
            continue
        base = posixpath.join(INBOX, folder.filename)
        for entry in sftp.listdir_attr(base):
            if stat.S_ISREG(entry.st_mode or 0):
                files[posixpath.join(base, entry.filename)] = (folder.filename, entry.st_size or 0, entry.st_mtime or 0)
    return files


def stable_files(sftp: paramiko.SFTPClient, settle_seconds: float, run: DropRun) -> list[tuple[str, str, int, int]]:
    """Files whose size and mtime did not change between two looks `settle_seconds` apart."""
    first = _listing(sftp)
    for remote, (agency, _, _) in first.items():
        if in_progress(posixpath.basename(remote)):
            run.outcomes.append(DropOutcome(remote, agency, "in_progress"))
    candidates = {r: v for r, v in first.items() if not in_progress(posixpath.basename(r))}
    if not candidates:
        return []
    time.sleep(settle_seconds)
    second = _listing(sftp)
    stable = []
    for remote, seen in sorted(candidates.items()):
        if second.get(remote) == seen:
            stable.append((remote, *seen))
        else:
            run.outcomes.append(DropOutcome(remote, seen[0], "growing"))
    return stable


def download(sftp: paramiko.SFTPClient, remote: str, size: int, mtime: int, local: Path) -> Path:
    """Fetch `remote` to `local` via `<local>.part`, resuming a partial copy of the same version."""
    local.parent.mkdir(parents=True, exist_ok=True)
    part, meta = local.with_name(local.name + ".part"), local.with_name(local.name + ".part.json")
    version = {"remote": remote, "size": size, "mtime": mtime}
    if local.exists() and local.stat().st_size == size and meta.exists() and json.loads(meta.read_text()) == version:
        return local  # downloaded whole before, not imported yet (e.g. the import crashed)
    offset = 0
    if part.exists() and meta.exists() and json.loads(meta.read_text()) == version and part.stat().st_size <= size:
        offset = part.stat().st_size
    else:
        part.unlink(missing_ok=True)
        meta.write_text(json.dumps(version))
    with sftp.open(remote, "rb") as src, open(part, "ab") as dst:
        src.seek(offset)
        if size - offset > 0:
            src.prefetch(size - offset)
        while offset < size:
            chunk = src.read(min(_CHUNK, size - offset))
            if not chunk:
                break
            dst.write(chunk)
            offset += len(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    if part.stat().st_size != size:
        raise EOFError(f"{remote}: got {part.stat().st_size} of {size} bytes")
    os.replace(part, local)
    return local


def _exists(sftp: paramiko.SFTPClient, path: str) -> bool:
    try:
        sftp.stat(path)
    except FileNotFoundError:
        return False
    return True


def _makedirs(sftp: paramiko.SFTPClient, path: str) -> None:
    current = "/"
    for part in path.strip("/").split("/"):
        current = posixpath.join(current, part)
        if not _exists(sftp, current):
            sftp.mkdir(current)


def move(sftp: paramiko.SFTPClient, remote: str, folder: str, sha256: str) -> str:
    """Move `remote` into `folder`; a name already taken there gets the checksum's start appended."""
    _makedirs(sftp, folder)
    name = posixpath.basename(remote)
    target = posixpath.join(folder, name)
    if _exists(sftp, target):
        stem, ext = posixpath.splitext(name)
        target = posixpath.join(folder, f"{stem}-{sha256[:8]}{ext}")
    sftp.rename(remote, target)
    return target


# --------------------------------------------------------------------------- errors file


def errors_text(remote: str, agency: str, moved_to: str, exc: Exception, at: datetime) -> str:
    """The `<name>.errors.txt` an agency reads: what is wrong, where, and how to fix it. `exc` says
    why (`reason_zh`); a file filing for other agencies also lists the offending rows (`rows`)."""
    lines = [
        f"文件：{posixpath.basename(remote)}",
        f"处理时间：{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}（北京时间）",
        "处理结果：文件未导入，已移到 " + moved_to,
        "",
        "问题：" + getattr(exc, "reason_zh", str(exc)),
    ]
    if getattr(exc, "rows", None):  # tourlink.flow.ForeignAgencyRows
        lines += ["", "涉及的行（行号为表格中的行号）："]
        lines += [f"  第{row}行：统一社会信用代码 {uscc} 不是本社（{agency}）" for row, uscc in exc.rows[:200]]
        if len(exc.rows) > 200:
            lines.append(f"  ……共 {len(exc.rows)} 行")
        lines += [
            "",
            "处理办法：请检查“组团社统一社会信用代码”（团队名单）或“旅行社统一社会信用代码”（电子合同）列，"
            "只保留本社的团队和合同；其他旅行社的数据请由该旅行社自行上传到它自己的文件夹。",
        ]
    else:
        lines += [
            "",
            "处理办法：请使用平台提供的导入模板（xlsx，或 UTF-8 / GBK 编码的 CSV），第一个工作表中保留模板的表头行，"
            "不要加密或压缩文件；若用 Excel 另存为 CSV，请选择“CSV（逗号分隔）”。",
        ]
    lines += ["", f"修改后请重新上传到 {INBOX}/{agency}/ 。如有疑问请联系平台技术支持。", ""]
    return "\r\n".join(lines)  # agencies open it in Windows Notepad


def reject(sftp: paramiko.SFTPClient, remote: str, agency: str, sha256: str, exc: Exception) -> str:
    moved_to = move(sftp, remote, REJECTED, sha256)
    text = errors_text(remote, agency, moved_to, exc, datetime.now(SHANGHAI))
    with sftp.open(moved_to + ".errors.txt", "wb") as f:
        f.write(text.encode("utf-8-sig"))  # BOM: older Windows tools then show the Chinese correctly
    return moved_to


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
        recorded in `run` (still uploading, growing, or in a folder that is not a USCC)."""
        sftp = self._session()
        for folder in (INBOX, ARCHIVE, REJECTED):
            _makedirs(sftp, folder)
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

    def archive(self, remote: str, sha256: str) -> str:
        month = datetime.now(SHANGHAI)
        return move(self._session(), remote, f"{ARCHIVE}/{month:%Y}/{month:%m}", sha256)

    def reject(self, remote: str, agency: str, sha256: str, exc: Exception) -> str:
        return reject(self._session(), remote, agency, sha256, exc)

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
