"""A real OpenSSH `sshd` on a loopback port for the SFTP drop tests, beside the asyncssh sandbox.

Started per test from the `openssh-server` package (`make install` installs it): its own host key,
config, authorized_keys and pid file in a temporary folder, the `internal-sftp` subsystem chrooted to
the drop's tree (the drop's folders are the absolute `/inbox`, `/archive`, `/rejected`), login as the
current user with the client key only. The server runs without CAP_DAC_OVERRIDE and
CAP_DAC_READ_SEARCH, so the tree's permission bits bind it as they bind an unprivileged account: a
file mode 000 cannot be read, a folder mode 555 cannot be written, although the tests run as root.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import asyncssh

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
_FOLDERS = ("inbox", "archive", "rejected")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OpenSshServer:
    """`with OpenSshServer(client_keys=[key], host_key=key) as server:` then SFTP to `server.port` as
    `server.username`; `server.root` is the tree the client sees as `/`."""

    def __init__(self, *, client_keys: list[asyncssh.SSHKey], host_key: asyncssh.SSHKey):
        if os.geteuid() != 0:
            raise RuntimeError("the OpenSSH SFTP tests chroot the drop's tree (ChrootDirectory): run them as root")
        if not Path(SSHD).exists():
            raise RuntimeError(f"{SSHD} not found: `make install` installs openssh-server")
        self.host_key = host_key
        self.username = getpass.getuser()
        # ChrootDirectory wants every component of the path root-owned and not group/other writable,
        # so the tree lives under /run, not under the world-writable /tmp of pytest's tmp_path.
        self._dir = Path(tempfile.mkdtemp(prefix="tourlink-sshd-", dir="/run"))
        self._dir.chmod(0o755)
        self.root = self._dir / "root"
        self.root.mkdir(mode=0o755)
        for folder in _FOLDERS:
            (self.root / folder).mkdir()
        etc = self._dir / "etc"
        etc.mkdir(mode=0o700)
        host_key.write_private_key(str(etc / "host_ed25519"), format_name="openssh")
        (etc / "host_ed25519").chmod(0o600)
        (etc / "authorized_keys").write_text(
            "".join(k.export_public_key("openssh").decode() for k in client_keys), encoding="utf-8"
        )
        self._etc = etc
        self._process: subprocess.Popen | None = None
        self.port = 0

    def _config(self) -> Path:
        config = self._etc / "sshd_config"
        config.write_text(
            "\n".join([
                f"Port {self.port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {self._etc / 'host_ed25519'}",
                f"PidFile {self._etc / 'sshd.pid'}",
                f"AuthorizedKeysFile {self._etc / 'authorized_keys'}",
                f"AllowUsers {self.username}",
                "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "Subsystem sftp internal-sftp",
                "ForceCommand internal-sftp",
                f"ChrootDirectory {self.root}",
                "AllowTcpForwarding no",
                "X11Forwarding no",
                "LogLevel ERROR",
                "",
            ]),
            encoding="utf-8",
        )
        return config

    def start(self) -> OpenSshServer:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation folder
        for _ in range(5):  # a free port taken by someone else before sshd binds it: try another
            self.port = _free_port()
            no_dac = "-dac_override,-dac_read_search"
            command = ["setpriv", f"--inh-caps={no_dac}", f"--bounding-set={no_dac}",
                       SSHD, "-D", "-e", "-f", str(self._config())]  # fmt: skip
            self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.PIPE)  # fmt: skip
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self._process.poll() is None:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                        if s.recv(4).startswith(b"SSH-"):
                            return self
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise RuntimeError(f"sshd did not start: {self._stderr()}")

    def _stderr(self) -> str:
        if self._process is None or self._process.stderr is None or self._process.poll() is None:
            return ""
        return self._process.stderr.read().decode(errors="replace")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process is not None and self._process.stderr is not None:
            self._process.stderr.close()
        self._process = None

    @property
    def known_hosts_entry(self) -> str:
        """`[127.0.0.1]:<port> ssh-ed25519 AAAA…`: the pinned host key line."""
        public = self.host_key.export_public_key("openssh").decode().split()[:2]
        return f"[127.0.0.1]:{self.port} {' '.join(public)}"

    @property
    def url(self) -> str:
        return f"sftp://{self.username}@127.0.0.1:{self.port}"

    def __enter__(self) -> OpenSshServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
        for path in self.root.rglob("*"):  # modes a test left at 000/555 would stop the clean-up
            path.chmod(0o755)
        shutil.rmtree(self._dir, ignore_errors=True)
