"""Who runs a command and what they may see: the operator, from configuration, never from a flag.

The CLI's operator is the OS account running it (`pwd`, not `$USER`, which anyone can set), looked up
in the stewards file the web view uses (`$TOURLINK_HOME/stewards.yaml`, or `TOURLINK_STEWARDS`):

    stewards:
      shenyang:
        region: "2101"
        accounts: [zhangsan]     # OS accounts that act as this steward on the command line
      ops:
        region: CN
        role: admin              # platform administrator: every region, publish, retention, audit verify
        accounts: [tourlink]

Two roles (统一平台，分级管理): a `steward` sees and exports only their region (a narrower region on
request); an `admin` sees everything. Once a stewards file exists, an account it does not list is
refused. Without one (a single-operator install, the sandbox, `make demo`) the account running the
command is that install's administrator: there is nobody else to keep apart.
"""

from __future__ import annotations

import os
import pwd
import socket
from dataclasses import dataclass
from pathlib import Path

import yaml

from tourlink import settings
from tourlink.report.failures import region_prefix

ROLES = ("steward", "admin")
ROLE_ZH = {"steward": "地区管理员", "admin": "平台管理员", "system": "系统"}


class NotAuthorised(Exception):
    """The operator may not do this; `reason_zh` says why, for the terminal and the audit log."""

    def __init__(self, message: str, reason_zh: str):
        super().__init__(message)
        self.reason_zh = reason_zh


@dataclass(frozen=True)
class Operator:
    username: str
    role: str  # steward / admin
    region: str | None  # division prefix; None = national
    origin: str  # account@host
    channel: str = "cli"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def region_for(self, requested: str | None) -> str | None:
        """The region a command reads: the operator's own unless a narrower one is asked for.

        A steward asking for a region outside their own is refused (`NotAuthorised`), never silently
        widened or narrowed; an administrator gets what they ask for (None = national).
        """
        wanted = region_prefix(requested) if requested else None
        if self.region is None:
            return wanted
        if wanted is None:
            return self.region
        if not wanted.startswith(self.region):
            raise NotAuthorised(
                f"{self.username} (region {self.region}) may not read region {wanted}",
                f"您只能查看本地区（{self.region}）的数据，不能查看地区 {wanted}",
            )
        return wanted

    def require_admin(self, what: str) -> None:
        if not self.is_admin:
            raise NotAuthorised(f"{self.username} is not an administrator: {what}", f"仅平台管理员可以{what}")


def stewards_path() -> Path:
    """`TOURLINK_STEWARDS`, default `$TOURLINK_HOME/stewards.yaml` (the web view's default too)."""
    return settings.stewards_path()


def os_account() -> str:
    """The account of the running process, from the password database (not the environment)."""
    return pwd.getpwuid(os.geteuid()).pw_name


def cli_operator(path: Path | None = None) -> Operator:
    """The operator of this CLI process (see the module docstring)."""
    account = os_account()
    origin = f"{account}@{socket.gethostname()}"
    path = path or stewards_path()
    if not path.is_file():
        return Operator(account, "admin", None, origin)
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for username, item in (spec.get("stewards") or {}).items():
        accounts = [str(a) for a in (item or {}).get("accounts") or []]
        if account not in accounts:
            continue
        role = str(item.get("role") or "steward")
        if role not in ROLES:
            raise ValueError(f"{path}: steward {username}: role must be one of {ROLES}, got {role!r}")
        region_text = str(item.get("region", "")).strip()
        region = None if region_text.upper() == "CN" else region_prefix(region_text)
        if role == "admin" and region is not None:
            raise ValueError(f"{path}: steward {username}: an admin is national (region CN), got {region_text!r}")
        if role == "steward" and not region_text:
            raise ValueError(f"{path}: steward {username}: region is required (a division code, or CN)")
        return Operator(str(username), role, region, origin)
    raise NotAuthorised(
        f"OS account {account!r} is not listed under any steward's accounts in {path}",
        f"系统账号 {account} 未在管理员名单（{path.name}）中登记，无权使用本命令",
    )


def agency_division(conn, uscc: str) -> str | None:  # noqa: ANN001 - a SQLAlchemy connection
    """The division code an agency is registered in (None: unknown), to scope files that name only it."""
    import sqlalchemy as sa

    from warehouse import tables as t

    ta = t.entity_tables["travel_agency"]
    return conn.execute(sa.select(ta.c.division_code).where(ta.c.uscc == uscc)).scalar()
