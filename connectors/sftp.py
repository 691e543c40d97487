"""`sftp-drop`: import-template spreadsheets agencies upload to `/inbox/<USCC>/` (SOURCES.md §5).

One run: connect with a key, the server's host key pinned (unknown or changed: `HostKeyRejected`,
never a prompt); list every agency folder twice a moment apart and leave alone files still being
written (size or mtime changed, `.part`/`.tmp` names); download each file to a local staging folder
under a temporary name (resuming a download an earlier run lost), rename it, hash it; import it as
one batch owned by the folder's agency, then move it to `/archive/<yyyy>/<mm>/`. A file whose
checksum a committed batch already holds is archived without importing it again (a crash between
import and archive). A file that cannot be read at all, or that files for another agency, moves to
the agency's own rejected folder (`/rejected/<USCC>/` by default, so no agency sees another's
rosters) with `<name>.errors.txt` beside it, in Chinese, for the agency. One bad file never stops
the others.

Operator mistakes are messages, never tracebacks: a key file that is missing, is a `.pub`, or needs a
passphrase; a known_hosts that is a `.pub` or holds `@cert-authority` lines; a folder that cannot be
created — each raises `SftpConfigError` naming the path and the fix (the CLI exits non-zero). A file
or folder the account may not read, write or move is the outcome `denied` (never `interrupted`); the
others are processed, then the run raises `SftpPermissionDenied` listing them.

The connector connects, lists, downloads, archives and rejects (`Drop`); what to import, in which
order, and importing it is the flow's (`tourlink.flow.drop`).

Registry file: `base_url: sftp://<user>@<host>:<port>`; credentials `private_key` (a reference to
the key file's path or the key text), optionally `key_passphrase` (a reference, e.g.
`env:SFTP_KEY_PASSPHRASE`) and `known_hosts` (a reference to the known_hosts text or its path); or
option `known_hosts` (a path). Options: `settle_seconds` (1.0), `staging_dir`, `timeout_seconds`
(30), `archive_dir` (`/archive/{yyyy}/{mm}`), `rejected_dir` (`/rejected/{agency}`; or e.g.
`/inbox/{agency}/rejected`), `create_folders` (true: missing folders are created when the account
may).
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


# --------------------------------------------------------------------------- connection


_KEY_TYPES = ("ssh-", "ecdsa-", "sk-")
_KEYSCAN_FIX = "fix: pin the server's own host key, e.g. `ssh-keyscan -p <port> <host> > known_hosts`"


def _known_hosts_text(source: SourceConfig) -> tuple[str, str]:
    """(the known_hosts text, where it came from: a path or the credential's name)."""
    if "known_hosts" in source.credentials:
        value, where = source.secret("known_hosts"), "credential known_hosts"
    elif source.option("known_hosts"):
        value, where = str(source.option("known_hosts")), "option known_hosts"
    else:
        raise HostKeyRejected(f"source {source.name!r} pins no host key: set credential or option known_hosts")
    if "\n" not in value.strip() and not value.strip().startswith(("[", "@", *_KEY_TYPES)) and " " not in value.strip():
        path = Path(value).expanduser()
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except FileNotFoundError:
            raise SftpConfigError(f"known_hosts file {path} does not exist; {_KEYSCAN_FIX}") from None
        except (PermissionError, IsADirectoryError, UnicodeDecodeError) as exc:
            raise SftpConfigError(f"known_hosts file {path} cannot be read ({type(exc).__name__}); {_KEYSCAN_FIX}") from None
    return value, where


def pinned_keys(text: str, where: str) -> list[tuple[list[str], paramiko.PKey]]:
    """(host names, key) of each usable known_hosts line; a line we cannot honour is an error naming it."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@cert-authority"):
            raise SftpConfigError(
                f"{where} line {number}: @cert-authority entries are not supported (host certificates are not "
                f"checked); {_KEYSCAN_FIX}"
            )
        if line.startswith("@revoked"):
            raise SftpConfigError(f"{where} line {number}: @revoked entries are not supported; remove the line")
        if line.startswith(_KEY_TYPES):
            raise SftpConfigError(
                f"{where} line {number} is a public key without a host name (a .pub file given as known_hosts?); "
                f"{_KEYSCAN_FIX}"
            )
        try:
            entry = paramiko.hostkeys.HostKeyEntry.from_line(line, lineno=number)
        except (paramiko.SSHException, ValueError, TypeError) as exc:
            raise SftpConfigError(f"{where} line {number} is not a known_hosts entry ({exc}); {_KEYSCAN_FIX}") from None
        if entry is None or entry.key is None:
            raise SftpConfigError(f"{where} line {number} is not a known_hosts entry of a supported key type; {_KEYSCAN_FIX}")
        found.append((entry.hostnames, entry.key))
    return found


_PASSPHRASE_FIX = "fix: set credential key_passphrase to a secret reference (e.g. env:SFTP_KEY_PASSPHRASE)"


def _private_key(source: SourceConfig) -> paramiko.PKey:
    """The client key from credential `private_key` (a path or the key text), decrypted with
    `key_passphrase` when given. Every way this goes wrong is one `SftpConfigError` line; neither the
    key nor the passphrase ever appears in it."""
    value = source.secret("private_key")
    passphrase = source.secret("key_passphrase") if "key_passphrase" in source.credentials else None
    if "PRIVATE KEY" in value:
        where, text = "credential private_key (key text)", value
    elif value.strip().startswith(_KEY_TYPES):
        raise SftpConfigError(
            "credential private_key holds a public key (the .pub line); fix: give the private key (the file without .pub)"
        )
    else:
        path = Path(value.strip()).expanduser()
        where = f"private key file {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SftpConfigError(f"{where} does not exist; fix: point credential private_key at the key file") from None
        except PermissionError:
            raise SftpConfigError(f"{where} cannot be read by this account; fix: chown it to the account and chmod 600") from None
        except (IsADirectoryError, UnicodeDecodeError) as exc:
            raise SftpConfigError(f"{where} is not a key file ({type(exc).__name__}); fix: point private_key at the key file") from None
        if text.strip().startswith(_KEY_TYPES):
            fix = f"{path.with_suffix('')}" if path.suffix == ".pub" else "the file without .pub"
            raise SftpConfigError(f"{where} is a public key (.pub); fix: give the private key ({fix}) as private_key")
    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text), password=passphrase)
        except paramiko.PasswordRequiredException:
            raise SftpConfigError(f"{where} is protected by a passphrase; {_PASSPHRASE_FIX}") from None
        except (paramiko.SSHException, ValueError, TypeError):
            continue
    if passphrase is not None:
        raise SftpConfigError(f"{where} could not be decrypted with key_passphrase (wrong passphrase?) or is not an "
                              "Ed25519/ECDSA/RSA private key; fix: check the key_passphrase secret")
    raise SftpConfigError(f"{where} is not a usable Ed25519/ECDSA/RSA private key; fix: give an OpenSSH or PEM private key")


def connect(source: SourceConfig) -> tuple[paramiko.SSHClient, paramiko.SFTPClient]:
    """An SFTP session with the host key checked against the pinned entry only."""
    url = urlsplit(source.base_url)
    host, port, user = url.hostname or "127.0.0.1", url.port or 22, url.username or "tourlink"
    pinned = pinned_keys(*_known_hosts_text(source))
    pkey = _private_key(source)
    client = paramiko.SSHClient()
    keys = client.get_host_keys()
    for hostnames, key in pinned:
        for name in hostnames:
            keys.add(name, key.get_name(), key)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    where = f"[{host}]:{port}" if port != 22 else host
    timeout = float(source.option("timeout_seconds", 30))
    try:
        client.connect(
            host, port=port, username=user, pkey=pkey, allow_agent=False, look_for_keys=False,
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
        raise SftpUnavailable(
            f"SFTP server {where} refused the key of user {user!r}; fix: add its public key to the account's "
            "authorized_keys, or check the user name in base_url"
        ) from None
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


def _listing(sftp: paramiko.SFTPClient, denied: set[str] | None = None) -> dict[str, tuple[str, int, int]]:
    """remote path -> (agency folder, size, mtime) of every regular file in every agency folder;
    agency folders the account may not list are added to `denied`."""
    files = {}
    try:
        folders = sftp.listdir_attr(INBOX)
    except PermissionError:
        raise SftpConfigError(f"SFTP folder {INBOX} cannot be listed by this account; fix: give it read access") from None
    for folder in folders:
        if not stat.S_ISDIR(folder.st_mode or 0):
            continue
        base = posixpath.join(INBOX, folder.filename)
        try:
            listed = sftp.listdir_attr(base)
        except PermissionError:
            if denied is not None:
                denied.add(base)
            continue
        for entry in listed:
            if stat.S_ISREG(entry.st_mode or 0):
                files[posixpath.join(base, entry.filename)] = (folder.filename, entry.st_size or 0, entry.st_mtime or 0)
    return files


def stable_files(sftp: paramiko.SFTPClient, settle_seconds: float, run: DropRun) -> list[tuple[str, str, int, int]]:
    """Files whose size and mtime did not change between two looks `settle_seconds` apart."""
    denied: set[str] = set()
    first = _listing(sftp, denied)
    for base in sorted(denied):
        reason = f"{base}: the account may not list this agency folder; fix: give it read access (chmod/chown on the server)"
        run.outcomes.append(DropOutcome(base + "/", posixpath.basename(base), "denied", reason=reason))
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


DEFAULT_ARCHIVE, DEFAULT_REJECTED = ARCHIVE + "/{yyyy}/{mm}", REJECTED + "/{agency}"


def folder_for(source: SourceConfig, kind: str, agency: str, at: datetime) -> str:
    """The archive or rejected folder of one agency's file: option `archive_dir` / `rejected_dir`
    with `{agency}`, `{yyyy}`, `{mm}` filled in."""
    default = DEFAULT_ARCHIVE if kind == "archive" else DEFAULT_REJECTED
    template = str(source.option(f"{kind}_dir") or default)
    try:
        folder = template.format(agency=agency, yyyy=f"{at:%Y}", mm=f"{at:%m}")
    except (KeyError, IndexError, ValueError):
        raise SftpConfigError(f"option {kind}_dir {template!r}: only {{agency}}, {{yyyy}} and {{mm}} may be filled in") from None
    if not folder.startswith("/") or ".." in folder.split("/"):
        raise SftpConfigError(f"option {kind}_dir {template!r} must be an absolute path without '..'")
    return posixpath.normpath(folder)


def _makedirs(sftp: paramiko.SFTPClient, path: str, *, create: bool = True, option: str = "") -> None:
    """`path` and its parents, made when missing and `create`; refused: `SftpConfigError` naming the folder."""
    current = "/"
    for part in path.strip("/").split("/"):
        current = posixpath.join(current, part)
        if _exists(sftp, current):
            continue
        setting = f" or set option {option} to a folder it can write" if option else ""
        if not create:
            raise SftpConfigError(
                f"SFTP folder {current} does not exist and create_folders is off; fix: create it on the server{setting}"
            )
        try:
            sftp.mkdir(current)
        except PermissionError:
            raise SftpConfigError(
                f"SFTP folder {current} does not exist and this account may not create it; fix: create it on the "
                f"server with write access for the account{setting}"
            ) from None


def move(sftp: paramiko.SFTPClient, remote: str, folder: str, sha256: str, *, create: bool = True, option: str = "") -> str:
    """Move `remote` into `folder`; a name already taken there gets the checksum's start appended."""
    _makedirs(sftp, folder, create=create, option=option)
    name = posixpath.basename(remote)
    target = posixpath.join(folder, name)
    if _exists(sftp, target):
        stem, ext = posixpath.splitext(name)
        target = posixpath.join(folder, f"{stem}-{sha256[:8]}{ext}")
    try:
        sftp.rename(remote, target)
    except PermissionError:
        raise PermissionError(
            f"cannot move {remote} to {folder}: the account may not write both folders; fix: give it write access "
            f"to {posixpath.dirname(remote)} and {folder}"
        ) from None
    return target


# --------------------------------------------------------------------------- errors file


def errors_text(remote: str, agency: str, moved_to: str, exc: Exception, at: datetime, inbox: str = INBOX) -> str:
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
    lines += ["", f"修改后请重新上传到 {inbox}/{agency}/ 。如有疑问请联系平台技术支持。", ""]
    return "\r\n".join(lines)  # agencies open it in Windows Notepad


def reject(sftp: paramiko.SFTPClient, remote: str, agency: str, sha256: str, exc: Exception,
           source: SourceConfig | None = None) -> str:
    """Move the file into the agency's own rejected folder (`folder_for`) with its errors file beside it."""
    now = datetime.now(SHANGHAI)
    folder = folder_for(source, "rejected", agency, now) if source is not None else f"{REJECTED}/{agency}"
    create = bool(source.option("create_folders", True)) if source is not None else True
    moved_to = move(sftp, remote, folder, sha256, create=create, option="rejected_dir")
    text = errors_text(remote, agency, moved_to, exc, now)
    try:
        with sftp.open(moved_to + ".errors.txt", "wb") as f:
            f.write(text.encode("utf-8-sig"))  # BOM: older Windows tools then show the Chinese correctly
    except PermissionError:
        raise PermissionError(f"cannot write {moved_to}.errors.txt; fix: give the account write access to {folder}") from None
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


def _prepare_folders(sftp: paramiko.SFTPClient, source: SourceConfig) -> None:
    """The inbox must exist; the fixed part of the archive and rejected folders (before any
    `{agency}`) is made now, so a folder the account cannot create stops the run before any import."""
    if not _exists(sftp, INBOX):
        raise SftpConfigError(f"SFTP folder {INBOX} does not exist; fix: create it with one folder per agency USCC")
    create = bool(source.option("create_folders", True))
    for kind in ("archive", "rejected"):
        template = str(source.option(f"{kind}_dir") or (DEFAULT_ARCHIVE if kind == "archive" else DEFAULT_REJECTED))
        fixed = template.split("{", 1)[0].rstrip("/")
        if fixed and not fixed.startswith(INBOX + "/"):
            _makedirs(sftp, posixpath.normpath(fixed), create=create, option=f"{kind}_dir")


def denied_reason(remote: str, exc: PermissionError) -> str:
    """One line naming what the account may not touch and how to fix it."""
    text = str(exc.args[0]) if exc.args and isinstance(exc.args[0], str) and exc.args[0].startswith("cannot") else ""
    if text:
        return text
    if exc.filename and not str(exc.filename).startswith("/inbox"):
        return f"cannot write the local staging file {exc.filename}; fix: give tourlink write access to option staging_dir"
    return f"{remote}: permission denied; fix: let the account read the file and write its folder (chmod/chown on the server)"


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
