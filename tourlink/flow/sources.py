"""One sync of a source, without Airflow: state from the warehouse → reader → one batch with the new state.

`sync` is what `tourlink sync` and the sandboxes' syncs run: it reads the source's state
(`flow.state`), calls the dialect's reader (`connectors.dialects`) with its config, that state and
the window, and loads what the reader returned as ONE batch (`flow.batch.load_batch`): frames
mapped, validated and merged, raw bodies kept in the landing folder, the new state committed with the
rows, then what the warehouse derives from them. A drop folder (`sftp-drop`) is the flow's other
shape: each settled file its own batch (`flow.drop`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors import dialects
from connectors.reading import Extract, Window
from connectors.registry import SourceConfig, get_source
from tourlink.flow.batch import after_commit, load_batch
from tourlink.flow.drift import observe as observe_drift
from tourlink.flow.inputs import record_inputs
from tourlink.flow.staging import warehouse_of
from tourlink.flow.state import stored_state


@dataclass
class SyncResult:
    """What one sync did: per-stream record counts, per-entity load counts, and the traffic it cost."""

    source: str
    batch_id: str | int | None
    streams: dict[str, int] = field(default_factory=dict)
    entities: dict[str, Any] = field(default_factory=dict)
    pages: int = 0
    requests: int = 0
    watermarks: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        def default(value: Any) -> Any:
            if hasattr(value, "__dataclass_fields__"):
                return asdict(value)
            if isinstance(value, datetime | Path):
                return str(value)
            return repr(value)

        return json.dumps(asdict(self), ensure_ascii=False, default=default, sort_keys=True)


def config_of(source: SourceConfig | str, registry: Path | str | None = None) -> SourceConfig:
    return get_source(source, registry) if isinstance(source, str) else source


def read(source: SourceConfig, state: Mapping[str, str], window: Window) -> Extract:
    """What the dialect's reader returns for `source` (nothing loaded)."""
    return dialects.reader(source.dialect)(source, dict(state), window)


def nothing_to_commit(extract: Extract) -> bool:
    """No rows, no raw body and no new state: a batch would record nothing (an idle feed)."""
    return not extract.frames and not extract.raw and not extract.state


def sync(
    source: SourceConfig | str,
    *,
    full_refresh: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    warehouse: Any = None,
) -> SyncResult:
    """Sync one source (by name or config) into the warehouse as one batch, its new state included."""
    config = config_of(source)
    if dialects.reads_files(config.dialect):
        from tourlink.flow.drop import sync_drop

        return sync_drop(config, warehouse=warehouse)
    wh = warehouse_of(warehouse)
    extract = read(config, stored_state(config.name, wh), Window(since, until, full_refresh))
    observe_drift(extract, wh)  # alerted before any row can be quarantined over a renamed field
    result = SyncResult(
        source=config.name, batch_id=None, streams=dict(extract.streams), pages=extract.pages,
        requests=extract.requests, watermarks=extract.watermarks,
    )
    if nothing_to_commit(extract):
        from mappings.engine import load_mapping

        derived = after_commit(wh, source=config.name, entities=load_mapping(extract.mapping).entities)
    else:
        batch = load_batch(
            record_inputs(extract.frames, extract.mapping), source=config.name, warehouse=wh, raw=extract.raw,
            state=extract.state,
        )
        result.batch_id = batch.batch_id
        result.entities = {name: vars(counts) for name, counts in batch.entities.items()}
        derived = batch.derived
    result.entities.update(derived)
    return result


def check(source: SourceConfig | str, registry: Path | str | None = None) -> dict[str, int]:
    """Credentials and reachability (`tourlink sources check`): the dialect's check, nothing loaded."""
    config = config_of(source, registry)
    return dialects.checker(config.dialect)(config)
