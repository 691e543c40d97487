"""Where tourlink keeps things. The only module that reads the environment for paths and URLs."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """`TOURLINK_HOME`, default `./var`: embedded warehouse, landing folder, reports."""
    return Path(os.environ.get("TOURLINK_HOME", "var")).resolve()


def warehouse_url() -> str:
    """`TOURLINK_WAREHOUSE_URL` (any SQLAlchemy URL), default SQLite at `$TOURLINK_HOME/warehouse.db`."""
    url = os.environ.get("TOURLINK_WAREHOUSE_URL")
    if url:
        return url
    path = home() / "warehouse.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def landing_dir() -> Path:
    """Every raw input is kept here, by content hash."""
    return home() / "landing"


def reports_dir() -> Path:
    return home() / "reports"


def storage_url() -> str:
    """`TOURLINK_STORAGE_URL` (an fsspec URL: a folder, `s3://bucket/prefix`, a shared mount), default
    `$TOURLINK_HOME/storage`: where a run's tasks hand over to each other (tourlink.storage)."""
    return os.environ.get("TOURLINK_STORAGE_URL") or (home() / "storage").as_posix()
