"""The platform's SFTP drop (SOURCES.md §5) as a real SSH server on loopback: asyncssh's, not ours.

It runs in a background thread with its own event loop, listens on a free port, authenticates
clients by public key only, serves a real directory as the SFTP root (`/inbox/<USCC>/`,
`/archive/`, `/rejected/`), and can drop the connection in the middle of a download
(`drop_during_read`) so resumption can be exercised. It honours the owner permission bits of the
tree as an unprivileged account's server would, even when the tests run as root: `chmod 000` on a
file, or `chmod 555` on a folder, gives the client SSH_FX_PERMISSION_DENIED for reading, listing,
creating, renaming or removing there. Host and client keys are generated per
instance unless given; `known_hosts_entry` is the line a client pins.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import asyncssh

ROOT_FOLDERS = ("inbox", "archive", "rejected")


def _demo_agency(seq: int) -> str:
    from devkit.sandbox.gov_portal_server import sandbox_uscc

    return sandbox_uscc(seq)


def generate_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


def write_client_key(key: asyncssh.SSHKey, path: Path) -> Path:
    """The private key in OpenSSH format, readable only by its owner (what paramiko loads)."""
    key.write_private_key(str(path), format_name="openssh")
    path.chmod(0o600)
    return path


class SftpSandbox:
    """`with SftpSandbox(root, client_keys=[pub]) as server:` then connect to `server.port`."""

    def __init__(
        self,
        root: Path | None = None,
        *,
        client_keys: Sequence[asyncssh.SSHKey] | None = None,
        host_key: asyncssh.SSHKey | None = None,
        username: str = "tourlink",
        port: int = 0,
        region: str | None = None,
    ):
        """Without `root`, serves a fresh temporary tree seeded with a demo agency's uploads; without
        `client_keys`, generates a client key and writes it beside the tree (see `credentials`)."""
        self.credentials: dict[str, str] = {}  # for `sandbox.start_for`: private_key path, known_hosts line
        self._owned_tree: Path | None = None  # a temporary tree this sandbox made: removed on stop
        if root is None:
            self._owned_tree = Path(tempfile.mkdtemp(prefix="tourlink-sftp-"))
            root = self._owned_tree / "root"
            seed_inbox(root, _demo_agency(101), other_agency=_demo_agency(102))
        if client_keys is None:
            client = generate_key()
            self.credentials["private_key"] = str(write_client_key(client, Path(root).parent / "sandbox_client_key"))
            client_keys = [client]
        self.root = Path(root)
        self.username = username
        self.host_key = host_key or generate_key()
        self._client_keys = [k.convert_to_public() if hasattr(k, "convert_to_public") else k for k in client_keys]
        self._port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sftp-sandbox", daemon=True)
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._faults: list[tuple[str, int]] = []  # (path suffix, bytes served before dropping)
        self._lock = threading.Lock()
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self.reads: list[tuple[str, int]] = []  # (path, offset) of every read served
        for folder in ROOT_FOLDERS:
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    @property
    def port(self) -> int:
        assert self._acceptor is not None, "server not started"
        return self._acceptor.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        """The base URL a registry file points at (every sandbox has one)."""
        return f"sftp://{self.username}@127.0.0.1:{self.port}"

    @property
    def known_hosts_entry(self) -> str:
        """`[127.0.0.1]:<port> ssh-ed25519 AAAA…`: the pinned host key line."""
        public = self.host_key.export_public_key("openssh").decode().split()[:2]
        return f"[127.0.0.1]:{self.port} {' '.join(public)}"

    def drop_during_read(self, path_suffix: str, after_bytes: int) -> None:
        """The next download of a file ending in `path_suffix` loses its connection after `after_bytes`."""
        with self._lock:
            self._faults.append((path_suffix, after_bytes))

    def _take_fault(self, path: str, offset: int, size: int) -> bool:
        with self._lock:
            self.reads.append((path, offset))
            for i, (suffix, after) in enumerate(self._faults):
                if path.endswith(suffix) and offset + size > after:
                    del self._faults[i]
                    return True
        return False

    def start(self) -> SftpSandbox:
        self._thread.start()
        future: Future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        self._acceptor = future.result(timeout=30)
        self.credentials["known_hosts"] = self.known_hosts_entry
        return self

    async def _listen(self) -> asyncssh.SSHAcceptor:
        sandbox = self

        class Server(asyncssh.SSHServer):
            def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
                sandbox._connections.add(conn)

            def connection_lost(self, exc: Exception | None) -> None:
                sandbox._connections.difference_update(c for c in list(sandbox._connections) if c.is_closed())

            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return False

            def public_key_auth_supported(self) -> bool:
                return True

            def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
                return username == sandbox.username and any(
                    key.public_data == k.public_data for k in sandbox._client_keys
                )

        class Sftp(asyncssh.SFTPServer):
            def __init__(self, chan: Any):
                super().__init__(chan, chroot=str(sandbox.root).encode())

            def _open_tracked(self, path: bytes, pflags: int, attrs: Any) -> Any:
                handle = super().open(path, pflags, attrs)
                self._paths = getattr(self, "_paths", {})
                self._paths[id(handle)] = path.decode()
                return handle

            def _require(self, local: bytes, bits: int) -> None:
                """Refuse unless every folder above `local` is searchable and `local` (if it exists) has `bits`."""
                root = os.path.realpath(str(sandbox.root))
                target = os.path.realpath(os.fsdecode(local))
                current = target
                while current.startswith(root) and current != root:
                    current = os.path.dirname(current)
                    if not os.stat(current).st_mode & stat.S_IXUSR:
                        raise asyncssh.SFTPPermissionDenied("Permission denied")
                if os.path.lexists(target) and (os.stat(target).st_mode & bits) != bits:
                    raise asyncssh.SFTPPermissionDenied("Permission denied")

            def _require_parent(self, path: bytes) -> None:
                self._require(os.path.dirname(self.map_path(path)), stat.S_IWUSR | stat.S_IXUSR)

            def open(self, path: bytes, pflags: int, attrs: Any) -> Any:
                local = self.map_path(path)
                if os.path.lexists(local):
                    bits = (stat.S_IRUSR if pflags & asyncssh.FXF_READ else 0) | (stat.S_IWUSR if pflags & asyncssh.FXF_WRITE else 0)
                    self._require(local, bits)
                else:
                    self._require_parent(path)
                return self._open_tracked(path, pflags, attrs)

            def scandir(self, path: bytes) -> Any:
                self._require(self.map_path(path), stat.S_IRUSR | stat.S_IXUSR)
                return super().scandir(path)

            def mkdir(self, path: bytes, attrs: Any) -> Any:
                self._require_parent(path)
                return super().mkdir(path, attrs)

            def rename(self, oldpath: bytes, newpath: bytes) -> Any:
                self._require_parent(oldpath)
                self._require_parent(newpath)
                return super().rename(oldpath, newpath)

            def posix_rename(self, oldpath: bytes, newpath: bytes) -> Any:
                self._require_parent(oldpath)
                self._require_parent(newpath)
                return super().posix_rename(oldpath, newpath)

            def remove(self, path: bytes) -> Any:
                self._require_parent(path)
                return super().remove(path)

            def read(self, file_obj: Any, offset: int, size: int) -> bytes:
                path = getattr(self, "_paths", {}).get(id(file_obj), "")
                if sandbox._take_fault(path, offset, size):
                    self.connection.abort()
                    raise asyncssh.SFTPConnectionLost("sandbox: connection dropped mid-download")
                return super().read(file_obj, offset, size)

        return await asyncssh.listen(
            "127.0.0.1",
            self._port,
            server_factory=Server,
            server_host_keys=[self.host_key],
            sftp_factory=Sftp,
            allow_scp=False,
        )

    def stop(self) -> None:
        async def close() -> None:
            if self._acceptor is not None:
                self._acceptor.close()
                await self._acceptor.wait_closed()
            for conn in list(self._connections):
                conn.close()
                await conn.wait_closed()
            await asyncio.sleep(0)

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
        self._loop.close()
        if self._owned_tree is not None:
            shutil.rmtree(self._owned_tree, ignore_errors=True)

    def __enter__(self) -> SftpSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- seeded drop folders

ROSTER_HEADERS = [
    "团号", "团队类型", "组团社统一社会信用代码", "地接社统一社会信用代码", "线路名称", "出发日期", "返回日期", "目的地",
    "出境口岸", "入境口岸", "客源地", "游客人数", "团队状态", "报送时间",
    "序号", "姓名", "姓名拼音", "性别", "出生日期", "证件类型", "证件号码", "国籍", "手机号码", "常住省份", "领队证号",
]


def roster_rows(organizer: str, group_code: str, *, start: str = "2026-10-12", tourists: int = 3, seed: int = 1) -> list[list[Any]]:
    """One domestic group's 团队名单 rows (one per tourist, group columns repeated), valid throughout."""
    import random
    from datetime import date, timedelta

    from devkit.demo.people import make_ric

    rng = random.Random(seed)
    first = date.fromisoformat(start)
    end = first + timedelta(days=2)
    submitted = f"{first - timedelta(days=3)} 10:00:00"
    rows = []
    for seq in range(1, tourists + 1):
        gender = "M" if seq % 2 else "F"
        birth = date(1970 + rng.randrange(0, 30), rng.randrange(1, 13), rng.randrange(1, 28))
        rows.append([
            group_code, "国内", organizer, "", "辽东三日游", first.isoformat(), end.isoformat(), "辽宁省", "", "", "21",
            tourists, "已提交", submitted,
            seq, f"王{'伟芳娜秀英敏'[seq % 6]}{'明'*(seq % 2)}", "", "男" if gender == "M" else "女", birth.isoformat(),
            "身份证", make_ric(rng, "210102", birth, gender), "中国", f"139{rng.randrange(10000000, 99999999)}", "21", "",
        ])
    return rows


def seed_inbox(root: Path, agency: str, *, other_agency: str | None = None) -> dict[str, Path]:
    """An agency folder as uploads leave it: a GBK CSV and an xlsx roster (import templates), an
    upload still in progress (`.part`), a file that is not a spreadsheet at all, and, when
    `other_agency` is given, a roster filing that agency's group (which this agency may not file)."""
    from devkit.demo.spreadsheets import write_template_csv, write_template_xlsx

    folder = root / "inbox" / agency
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "csv": folder / "团队名单_国庆.csv",
        "xlsx": folder / "团队名单_十月.xlsx",
        "part": folder / "团队名单_十一月.xlsx.part",
        "unreadable": folder / "报表.xlsx",
    }
    write_template_csv(files["csv"], ROSTER_HEADERS, roster_rows(agency, "GN2610001", seed=1), encoding="gbk")
    write_template_xlsx(files["xlsx"], ROSTER_HEADERS, roster_rows(agency, "GN2610002", start="2026-10-20", seed=2),
                        title="团队名单（2026年10月）", merge_columns=("团号",))
    files["part"].write_bytes(files["xlsx"].read_bytes()[:700])
    files["unreadable"].write_bytes(b"PK\x03\x04 this upload was cut off and is not a workbook" + bytes(range(256)))
    if other_agency:
        files["foreign"] = folder / "代报团队.csv"
        write_template_csv(files["foreign"], ROSTER_HEADERS, roster_rows(other_agency, "GN2610009", seed=9), encoding="gbk")
    return files


