"""The OpenLineage datasets of tourlink's DAGs: a sync task reads its source and writes warehouse tables.

Airflow's OpenLineage provider (`apache-airflow-providers-openlineage`) emits a START and a
COMPLETE (or FAIL) event for every task, with the task's `inlets` as inputs and `outlets` as
outputs. tourlink's tasks are plain `@task` functions (no extractor knows them), so the DAGs
declare their datasets here, at parse time, from the registry file and the warehouse URL: the
same names whichever executor runs the task. Names follow the OpenLineage naming spec
(`postgres://host:port` + `database.schema.table`); no password or user ever goes into a name.

Lineage is off until a transport is configured (`AIRFLOW__OPENLINEAGE__TRANSPORT`, see
docs/operations.md, "Lineage"): the provider disables itself without one.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from openlineage.client.event_v2 import Dataset

from tourlink import settings


def _authority(url: str) -> tuple[str, str]:
    """(scheme, host[:port]) of `url`, without user or password."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return parts.scheme, f"{host}:{parts.port}" if parts.port else host


def source_dataset(name: str, base_url: str, dialect: str) -> Dataset:
    """The source a sync reads: namespace the source's address (`http://127.0.0.1:18081`,
    `sftp://127.0.0.1:18022`), name the registry name; a source without an address (a local
    folder) is named in the `tourlink-source` namespace."""
    scheme, authority = _authority(base_url) if base_url else ("", "")
    namespace = f"{scheme}://{authority}" if scheme and authority else f"tourlink-source://{dialect}"
    return Dataset(namespace=namespace, name=name)


def _search_path(query: str) -> str | None:
    """The first schema of a libpq `options=-csearch_path=...` in the URL's query, if any."""
    for option in parse_qs(query).get("options", []):
        for word in option.split():
            if word.startswith("-csearch_path="):
                return word.removeprefix("-csearch_path=").split(",")[0].strip() or None
    return None


def warehouse_datasets(entities: list[str] | tuple[str, ...], warehouse_url: str | None = None) -> list[Dataset]:
    """One dataset per warehouse table `entities` name, in the warehouse of `TOURLINK_WAREHOUSE_URL`."""
    url = warehouse_url or settings.warehouse_url()
    parts = urlsplit(url)
    backend = parts.scheme.split("+")[0]
    if backend in ("postgresql", "postgres"):
        scheme, authority = _authority(url)
        namespace = f"postgres://{authority or 'localhost'}"
        prefix = f"{parts.path.lstrip('/')}.{_search_path(parts.query) or 'public'}"
    elif backend == "sqlite":  # the embedded default: the database file
        namespace, prefix = f"sqlite://{parts.path.removeprefix('/')}", "main"
    else:
        scheme, authority = _authority(url)
        namespace, prefix = f"{backend}://{authority}", parts.path.lstrip("/")
    return [Dataset(namespace=namespace, name=f"{prefix}.{entity}") for entity in entities]
