"""Batch metrics (issue 20 item 4): each committed batch's counts leave the system as StatsD and/or a
Prometheus textfile (docs/metrics.md).

The flow calls `emit_batch` once a batch has committed (`flow.batch.load_batch`, Airflow's
`flow.steps.merge`). Where to: `TOURLINK_STATSD` (`host:port`, UDP) and `TOURLINK_PROMETHEUS_DIR`
(node_exporter's textfile collector), neither set by default. Metrics never fail a batch: it has
committed already, so a target that cannot be reached is logged and skipped.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tourlink import settings

log = logging.getLogger(__name__)
OUTCOMES = ("read", "loaded", "quarantined", "unchanged")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
MAX_DATAGRAM = 1400  # StatsD lines are packed into datagrams that fit one Ethernet frame


def _name(text: str) -> str:
    """A source or entity name as one StatsD path segment (or a file name): no dots, colons, slashes."""
    return _UNSAFE.sub("_", text) or "_"


def _duration(batch: Mapping[str, Any], seconds: float | None) -> float:
    return float(seconds) if seconds is not None else float(sum((batch.get("timings") or {}).values()))


def _send_statsd(batch: Mapping[str, Any], address: tuple[str, int], seconds: float | None) -> None:
    """`tourlink.batch.<source>.<entity>.<outcome>:N|c` per entity and outcome, the batch's duration
    (`…<source>.duration:ms|ms`) and one `…<source>.committed:1|c`, packed into datagrams by the
    `statsd` client's pipeline."""
    from statsd import StatsClient

    host, port = address
    client = StatsClient(host, port, prefix=f"tourlink.batch.{_name(str(batch['source']))}",
                         maxudpsize=MAX_DATAGRAM, ipv6=":" in host)
    with client.pipeline() as pipe:
        for entity, counts in sorted((batch.get("entities") or {}).items()):
            for outcome in OUTCOMES:
                pipe.incr(f"{_name(entity)}.{outcome}", int(counts.get(outcome, 0)))
        pipe.timing("duration", _duration(batch, seconds) * 1000)
        if batch.get("pushback") is not None:  # a sync: how often the vendor asked it to slow down
            pipe.incr("pushback", int(batch["pushback"]))
        pipe.incr("committed")


def write_textfile(batch: Mapping[str, Any], folder: Path, seconds: float | None = None) -> Path:
    """The source's last committed batch as `<folder>/tourlink_<source>.prom`, written atomically
    (prometheus_client writes a temporary file and renames it), so the collector never reads half."""
    from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

    source = str(batch["source"])
    registry = CollectorRegistry()
    rows = Gauge("tourlink_batch_rows", "Rows of the source's last committed batch, by entity and outcome.",
                 ["source", "entity", "outcome"], registry=registry)
    for entity, counts in sorted((batch.get("entities") or {}).items()):
        for outcome in OUTCOMES:
            rows.labels(source, entity, outcome).set(int(counts.get(outcome, 0)))
    Gauge("tourlink_batch_duration_seconds", "Wall time of the source's last committed batch.", ["source"],
          registry=registry).labels(source).set(round(_duration(batch, seconds), 3))
    if batch.get("pushback") is not None:
        Gauge("tourlink_batch_pushback", "Answers of the vendor asking the source's last sync to slow down (429, 503/504, busy).",
              ["source"], registry=registry).labels(source).set(int(batch["pushback"]))
    Gauge("tourlink_batch_last_commit_timestamp_seconds", "When the source's last batch committed (Unix time).",
          ["source"], registry=registry).labels(source).set(round(time.time(), 3))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"tourlink_{_name(source)}.prom"
    write_to_textfile(str(path), registry)
    return path


def emit_batch(batch: Mapping[str, Any], seconds: float | None = None) -> list[str]:
    """Send a committed batch (`BatchResult.to_json()`) to the configured targets; the ones that took it."""
    if batch.get("batch_id") is None:
        return []
    sent = []
    try:
        address, folder = settings.statsd_address(), settings.prometheus_dir()
    except ValueError as exc:
        log.warning("metrics not sent: %s", exc)
        return []
    if address:
        try:
            _send_statsd(batch, address, seconds)
            sent.append("statsd")
        except OSError as exc:
            log.warning("statsd %s:%d: %s", *address, exc.__class__.__name__)
    if folder:
        try:
            write_textfile(batch, folder, seconds)
            sent.append("prometheus")
        except OSError as exc:
            log.warning("prometheus textfile in %s: %s", folder, exc.__class__.__name__)
    return sent
