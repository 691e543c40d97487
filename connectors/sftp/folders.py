"""The drop's folders: settled files in the inbox, downloads that resume, archive and rejected folders,
and the agency's `<name>.errors.txt`."""

from __future__ import annotations

import json
import os
import posixpath
import stat
import time
from datetime import datetime
from pathlib import Path

import paramiko

from connectors.registry import SourceConfig
from connectors.sftp.outcomes import (
    _CHUNK,
    ARCHIVE,
    IN_PROGRESS_SUFFIXES,
    INBOX,
    REJECTED,
    SHANGHAI,
    DropOutcome,
    DropRun,
    SftpConfigError,
)

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
