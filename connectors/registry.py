"""The source registry: one YAML file per source instance in `connectors/sources/`.

A new ERP vendor is mostly configuration: a registry file names the dialect, where it lives, which
secrets it needs (as references, never values), its streams, its mapping and its schedule. The CLI and
the Airflow DAGs both start from `load_sources()` (through `tourlink.flow`); what a dialect's code is
lives in one table, `connectors.dialects.DIALECTS`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connectors.dialects import DIALECTS

# The package's registry; TOURLINK_SOURCES (tourlink.settings.sources_dir) moves it, e.g. onto a volume every
# Airflow component mounts.
SOURCES_DIR = Path(__file__).parent / "sources"

_SECRET_REF = re.compile(r"^(env|airflow):([A-Za-z_][A-Za-z0-9_\-]*)(?:\.([a-z_]+))?$")


class RegistryError(ValueError):
    """A registry file is malformed, or a source name is unknown."""


class SecretError(RuntimeError):
    """A secret reference cannot be resolved. The message names the reference, never a value."""


@dataclass(frozen=True)
class SourceConfig:
    """One source instance as declared in `connectors/sources/<name>.yaml`.

    `credentials` maps a role (e.g. `sign_key`, `client_secret`) to a reference: `env:VAR` or
    `airflow:conn_id` (optionally `airflow:conn_id.password` / `.login` / `.extra_<key>`).
    """

    name: str
    dialect: str
    base_url: str = ""
    credentials: dict[str, str] = field(default_factory=dict)
    streams: tuple[str, ...] = ()
    mapping: str | None = None
    schedule: str | None = None
    region: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def secret(self, role: str) -> str:
        """The resolved value of credential `role` (env var or Airflow connection)."""
        if role not in self.credentials:
            raise SecretError(f"source {self.name!r} declares no credential {role!r} in its registry file")
        return resolve_secret(self.credentials[role])

    def option(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)


_KNOWN_KEYS = {
    "name", "dialect", "base_url", "credentials", "streams", "mapping", "schedule", "region", "owner",
    "tags", "options",
}


def _parse(path: Path) -> SourceConfig:
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(spec, dict):
        raise RegistryError(f"{path}: expected a mapping at the top level")
    unknown = set(spec) - _KNOWN_KEYS
    if unknown:
        raise RegistryError(f"{path}: unknown keys {sorted(unknown)}")
    name = spec.get("name") or path.stem
    dialect = spec.get("dialect")
    if dialect not in DIALECTS:
        raise RegistryError(f"{path}: dialect must be one of {sorted(DIALECTS)}, got {dialect!r}")
    credentials = spec.get("credentials") or {}
    if not isinstance(credentials, dict):
        raise RegistryError(f"{path}: credentials must map a role to a reference (env:VAR or airflow:conn_id)")
    for role, ref in credentials.items():
        if not isinstance(ref, str) or not _SECRET_REF.match(ref):
            # Never echo the value: a secret pasted into the file must not reach the logs either.
            raise RegistryError(
                f"{path}: credential {role!r} must be a reference such as env:VAR or airflow:conn_id; "
                "secrets never live in registry files"
            )
    return SourceConfig(
        name=str(name),
        dialect=dialect,
        base_url=str(spec.get("base_url") or "").rstrip("/"),
        credentials={str(k): str(v) for k, v in credentials.items()},
        streams=tuple(spec.get("streams") or ()),
        mapping=spec.get("mapping"),
        schedule=spec.get("schedule"),
        region=None if spec.get("region") is None else str(spec.get("region")),
        owner=spec.get("owner"),
        tags=tuple(spec.get("tags") or ()),
        options=dict(spec.get("options") or {}),
        path=path,
    )


def load_sources(dir: Path | str | None = None) -> dict[str, SourceConfig]:
    """Every source declared in `dir` (default `TOURLINK_SOURCES`, else `connectors/sources/`), by name.
    Reads files only."""
    from tourlink import settings

    directory = Path(dir) if dir is not None else settings.sources_dir(SOURCES_DIR)
    sources: dict[str, SourceConfig] = {}
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        source = _parse(path)
        if source.name in sources:
            raise RegistryError(f"{path}: source name {source.name!r} already declared in {sources[source.name].path}")
        sources[source.name] = source
    return sources


def get_source(name: str, dir: Path | str | None = None) -> SourceConfig:
    sources = load_sources(dir)
    if name not in sources:
        raise RegistryError(f"unknown source {name!r}; known: {', '.join(sorted(sources)) or '(none)'}")
    return sources[name]


def _under_airflow() -> bool:
    return bool(os.environ.get("AIRFLOW_CTX_DAG_ID") or os.environ.get("AIRFLOW__CORE__EXECUTOR_TASK"))


def _airflow_secret(conn_id: str, attribute: str | None) -> str:
    try:
        from airflow.sdk import BaseHook  # Airflow 3
    except ImportError:  # pragma: no cover - older Airflow
        from airflow.hooks.base import BaseHook  # type: ignore[no-redef]
    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # noqa: BLE001 - Airflow raises several types; none carries the secret
        raise SecretError(f"Airflow connection {conn_id!r} not found ({type(exc).__name__})") from None
    attribute = attribute or "password"
    if attribute.startswith("extra_"):
        value = (conn.extra_dejson or {}).get(attribute.removeprefix("extra_"))
    else:
        value = getattr(conn, attribute, None)
    if not value:
        raise SecretError(f"Airflow connection {conn_id!r} has no {attribute}")
    return str(value)


def resolve_secret(ref: str) -> str:
    """The value behind `env:VAR` or `airflow:conn_id[.attribute]`.

    Airflow connections are consulted only inside an Airflow task; elsewhere an `airflow:` reference
    is an error naming the connection, so a misconfiguration is visible rather than silently guessed.
    Errors name the variable or connection, never a value.
    """
    match = _SECRET_REF.match(ref or "")
    if not match:
        raise SecretError("a secret reference must look like env:VAR or airflow:conn_id")
    kind, name, attribute = match.groups()
    if kind == "env":
        value = os.environ.get(name)
        if not value:
            raise SecretError(f"environment variable {name} is not set (needed as a source credential)")
        return value
    if not _under_airflow():
        raise SecretError(f"credential airflow:{name} can only be resolved inside an Airflow task")
    return _airflow_secret(name, attribute)
