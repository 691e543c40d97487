"""Who may log in to the stewards' web view, and which region each one manages.

A small YAML file (default `$TOURLINK_HOME/stewards.yaml`), for a standalone deployment:

    secret: <random text>          # signs the login form's CSRF token; optional (then random per start)
    login:                         # optional; see tourlink.web.sessions.LoginPolicy
      user_limit: 5                # failed logins of one user per window before it is locked
      address_limit: 20            # failed logins from one address per window
      window_seconds: 900
      cookie_secure: auto          # auto: Secure when served over TLS; always; never
      trusted_proxies: [10.0.0.5]  # only these may set X-Forwarded-For / X-Forwarded-Proto
    stewards:
      shenyang:
        name: 沈阳市文化旅游局 数据管理员
        region: "2101"             # 2/4/6-digit division code, or CN for the national level
        password: scrypt$16384$8$1$<salt>$<hash>   # optional behind the SSO proxy (tourlink.web.sso)

Passwords are stored only as `hashlib.scrypt` hashes (`python -m tourlink.web.stewards hash`).
In production the platform's SSO (统一身份认证) sits in front and supplies the user and region; this
file is the stand-in for development, demos and small deployments.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tourlink import settings
from tourlink.report.failures import region_prefix

SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2**14, 8, 1, 32
NATIONAL = "CN"


@dataclass(frozen=True)
class Steward:
    username: str
    name: str
    region: str | None  # division prefix; None = national
    password_hash: str  # empty: logs in only through the SSO hand-off (tourlink.web.sso)
    role: str = "steward"  # steward / admin, as the audit log records it

    @property
    def region_zh(self) -> str:
        return f"地区 {self.region}" if self.region else "全国"


@dataclass(frozen=True)
class Stewards:
    by_username: dict[str, Steward]
    secret: str
    login: dict = field(default_factory=dict)  # the `login:` section: throttle, cookie_secure, trusted_proxies

    def authenticate(self, username: str, password: str) -> Steward | None:
        steward = self.by_username.get(username)
        if steward is None:
            verify_password(password, _DUMMY_HASH)  # same work either way: no user enumeration by timing
            return None
        return steward if verify_password(password, steward.password_hash) else None


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_LEN)
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt)}${b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected),
            maxmem=128 * int(n) * int(r) * 2,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_HASH = hash_password("not a password", salt=b"tourlink-dummy-s")


def default_users_path() -> Path:
    return settings.home() / "stewards.yaml"


def parse_stewards(spec: dict) -> Stewards:
    by_username = {}
    for username, item in (spec.get("stewards") or {}).items():
        region = str(item.get("region", "")).strip()
        if not region:
            raise ValueError(f"steward {username}: region is required (a division code, or CN)")
        by_username[str(username)] = Steward(
            username=str(username),
            name=str(item.get("name") or username),
            region=None if region.upper() == NATIONAL else region_prefix(region),
            password_hash=str(item.get("password") or ""),
            role=str(item.get("role") or "steward"),
        )
    return Stewards(by_username, str(spec.get("secret") or secrets.token_urlsafe(32)), dict(spec.get("login") or {}))


def load_stewards(path: Path) -> Stewards:
    return parse_stewards(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tourlink.web.stewards", description="stewards.yaml tools")
    parser.add_argument("command", choices=["hash"], help="print the scrypt hash of a password read from the terminal")
    parser.parse_args(argv)
    print(hash_password(getpass.getpass("password: ")))


if __name__ == "__main__":
    main()
