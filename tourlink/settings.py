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
def stewards_path() -> Path:
    """`TOURLINK_STEWARDS`, default `$TOURLINK_HOME/stewards.yaml`: who may see which region's data."""
    path = os.environ.get("TOURLINK_STEWARDS")
    return Path(path).resolve() if path else home() / "stewards.yaml"


def retention_days() -> int:
    """`TOURLINK_RETENTION_DAYS` (default 365): how long identity numbers stay readable in landing files
    (after the last group a file carried ended) and quarantine raw rows (after the entry closed)."""
    text = os.environ.get("TOURLINK_RETENTION_DAYS", "365")
    try:
        days = int(text)
    except ValueError:
        raise ValueError(f"TOURLINK_RETENTION_DAYS must be a whole number of days, got {text!r}") from None
    if days < 0:
        raise ValueError(f"TOURLINK_RETENTION_DAYS must not be negative, got {days}")
    return days


def retention_key_file() -> Path | None:
    """`TOURLINK_RETENTION_KEY_FILE`: a Fernet key; expired landing files are encrypted with it
    (unset: text files are redacted in place, other formats deleted)."""
    path = os.environ.get("TOURLINK_RETENTION_KEY_FILE")
    return Path(path) if path else None


def sources_dir(default: Path) -> Path:
    """`TOURLINK_SOURCES`: the deployment's folder of source registry files, outside the installed code;
    `default` (the package's `connectors/sources/`) when unset. The CLI, the DAGs and the nightly steps
    all read the registry through `connectors.registry.load_sources`, which asks here."""
    path = os.environ.get("TOURLINK_SOURCES")
    return Path(path).resolve() if path else default


def mappings_dir() -> Path | None:
    """`TOURLINK_MAPPINGS`: a folder of mapping YAMLs searched before the package's own
    (`mappings/templates/`, `mappings/sources/`), so a deployment adds a vendor without editing code."""
    path = os.environ.get("TOURLINK_MAPPINGS")
    return Path(path).resolve() if path else None


def statsd_address() -> tuple[str, int] | None:
    """`TOURLINK_STATSD` (`host:port`): where each committed batch's counts go as StatsD over UDP."""
    text = os.environ.get("TOURLINK_STATSD", "").strip()
    if not text:
        return None
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"TOURLINK_STATSD must be host:port, got {text!r}")
    return host.strip("[]"), int(port)


def prometheus_dir() -> Path | None:
    """`TOURLINK_PROMETHEUS_DIR`: a node_exporter textfile-collector folder; each source's last committed
    batch is written there as `tourlink_<source>.prom`."""
    path = os.environ.get("TOURLINK_PROMETHEUS_DIR")
    return Path(path) if path else None


def sso_header() -> str | None:
    """`TOURLINK_SSO_HEADER` (e.g. `X-Remote-User`): the header in which the platform's SSO proxy names
    the logged-in user; trusted only from `trusted_proxies()` (tourlink/web/sso.py). Unset: no SSO."""
    name = os.environ.get("TOURLINK_SSO_HEADER", "").strip()
    return name or None


def trusted_proxies() -> tuple[str, ...]:
    """`TOURLINK_TRUSTED_PROXIES`: addresses or CIDR networks (comma or space separated) of the reverse
    proxies whose SSO header and X-Forwarded-* the web view believes (with stewards.yaml's
    `login.trusted_proxies`). A malformed entry fails at start."""
    import ipaddress

    text = os.environ.get("TOURLINK_TRUSTED_PROXIES", "")
    found = tuple(p for p in text.replace(",", " ").split() if p)
    for p in found:
        try:
            ipaddress.ip_network(p, strict=False)
        except ValueError:
            raise ValueError(f"TOURLINK_TRUSTED_PROXIES: {p!r} is not an address or CIDR network") from None
    return found
