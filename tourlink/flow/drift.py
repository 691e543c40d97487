"""Schema drift, wired: before a sync's batch is staged, its fields are compared and recorded.

`observe` runs on every read of a source that returned rows (`flow.sources.sync`, Airflow's
`flow.steps.extract`): the fields per stream (`tourlink.drift.received_fields`) against the mapping
(`mapped_fields`) and the stream's last sightings (`warehouse.drift.last_sightings`). Findings are
alerted (`tourlink.alerts`) BEFORE mapping and validation could quarantine rows over them, then the
sighting and its findings are recorded in one transaction: a re-run after a crash compares with a
history that already holds this sighting, so the same change is not alerted twice.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from connectors.reading import Extract
from tourlink.alerts import Alert, send
from tourlink.drift import HISTORY, Finding, compare, mapped_fields, received_fields

log = logging.getLogger(__name__)


def observe(extract: Extract, warehouse: Any) -> list[Finding]:
    """Compare, alert, record (see the module docstring); the findings of this read."""
    from mappings.engine import load_mapping
    from warehouse.drift import last_sightings, record_sighting

    received = received_fields(extract.frames, extract.mapping)
    if not received:
        return []
    mapped = mapped_fields(load_mapping(extract.mapping))
    found: list[Finding] = []
    for stream, (fields, opaque) in received.items():
        history = last_sightings(warehouse.engine, extract.source, stream, HISTORY)
        found += compare(stream, fields, opaque, mapped, history)
    alerted = send(drift_alert(extract.source, found)) if found else []
    record_sighting(
        warehouse.engine, sighting=str(uuid.uuid4()), source=extract.source,
        at=datetime.now(UTC).replace(tzinfo=None), fields={s: f for s, (f, _) in received.items()},
        findings=[{**f.as_dict(), "fills": "|".join(f.fills) or None, "alerted": "|".join(alerted) or None}
                  for f in found],
    )
    for f in found:
        log.warning("schema drift %s: %s", extract.source, f.text_zh())
    return found


def drift_alert(source: str, found: list[Finding]) -> Alert:
    serious = [f for f in found if f.kind != "added"]
    subject = f"[tourlink] {source} 字段变化：{len(serious)} 个字段消失或改名" if serious else f"[tourlink] {source} 新增字段"
    lines = [f.text_zh() for f in found]
    return Alert(
        subject=subject,
        text=f"数据源 {source} 本次同步收到的字段与映射及近几批不同：\n" + "\n".join(lines)
        + ("\n请核对对方接口，必要时更新映射（tourlink drift 查看全部）。" if serious else ""),
        detail={"kind": "schema_drift", "source": source, "findings": [f.as_dict() for f in found]},
    )
