"""What a scheduler needs to know of each source, without importing a connector (DAG files parse this).

`nightly_plans()` reads the registry files and says, per source, which entities its runs can load
(one Airflow Asset each) and which steps its run has: `extract → validate → merge`, or for a drop
folder one `sync` step (each file its own batch, archived or rejected after it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.dialects import DIALECTS, reads_files
from connectors.registry import SourceConfig, load_sources
from tourlink import settings
from tourlink.schema import read_yaml

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
# Dialects whose run is one `sync` step (file by file) instead of extract → validate → merge.
FILE_BY_FILE_DIALECTS = frozenset(name for name in DIALECTS if reads_files(name))


@dataclass(frozen=True)
class NightlyPlan:
    source: SourceConfig
    entities: list[str]
    file_by_file: bool


def entities_of(mapping: str | None) -> list[str]:
    """Entities a mapping can produce: read from its YAML without importing the engine, so the DAG
    files stay cheap to parse."""
    if not mapping:
        return []
    extra = settings.mappings_dir()  # TOURLINK_MAPPINGS, a deployment's own folder, first
    for folder in ([extra] if extra else []) + [MAPPINGS / "sources", MAPPINGS / "templates"]:
        path = folder / f"{mapping}.yaml"
        if path.exists():
            return list((read_yaml(path) or {}).get("entities", {}))
    return []


def source_entities(source: Any) -> list[str]:
    """Entities a source's DAG publishes an Asset for: its mapping's, or for a file drop without a
    mapping, every built-in file template's (a drop takes any template upload)."""
    if source.mapping:
        return entities_of(source.mapping)
    if source.dialect not in FILE_BY_FILE_DIALECTS:
        return []
    entities: list[str] = []
    for path in sorted((MAPPINGS / "templates").glob("*.yaml")):
        entities += [e for e in entities_of(path.stem) if e not in entities]
    return entities


def nightly_plans(registry: Path | str | None = None) -> list[NightlyPlan]:
    """One plan per registered source (reads files only)."""
    return [
        NightlyPlan(source, source_entities(source), source.dialect in FILE_BY_FILE_DIALECTS)
        for source in load_sources(registry).values()
    ]
