"""Who the CLI runs as in a test: the stewards file maps this process's OS account to one steward."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from tourlink.identity import os_account
from tourlink.web.stewards import hash_password


@cache
def _hash() -> str:
    return hash_password("unused-by-the-cli")


def act_as(home: Path, username: str, region: str, role: str = "steward") -> Path:
    """Write `$TOURLINK_HOME/stewards.yaml` so the next CLI command runs as `username` of `region`."""
    path = home / "stewards.yaml"
    spec = {"stewards": {username: {"name": username, "region": region, "role": role, "accounts": [os_account()],
                                    "password": _hash()}}}
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path
