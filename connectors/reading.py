"""What a reader is given and what it hands back: the whole contract between a connector and the flow.

A connector reads and nothing else (cf. dlt's `extract`, Singer's taps): given its source's config,
the state it left last time and a window, it returns an `Extract` — the frames it read, the raw
bodies to keep, and the state to commit with the rows. It never opens the warehouse, never maps or
validates, never loads: `tourlink.flow` does, and commits the new state in the same transaction as
the rows it covers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from connectors.bodies import RawBody
from tourlink.frames import SourceFrame

__all__ = ["Extract", "RawBody", "Window", "connector_state", "is_state", "watermarks_of"]


@dataclass(frozen=True)
class Window:
    """Which part of a source to read: Airflow's data interval, or `--since`/`--full-refresh` from the CLI.

    `since` backfills from that time (the stored watermark is not moved back); `until` freezes the end
    (default: now); `full_refresh` ignores the stored watermarks."""

    since: datetime | None = None
    until: datetime | None = None
    full_refresh: bool = False


@dataclass
class Extract:
    """What one read of a source produced. `state` holds the streams' watermarks and the connector's
    own state rows (`stream#…`, e.g. the tombstone store of `oauth-cursor`), all committed with the rows."""

    source: str
    mapping: str
    frames: list[SourceFrame] = field(default_factory=list)
    raw: list[RawBody] = field(default_factory=list)  # bytes, or a spilled temp file the flow deletes when done
    state: dict[str, str] = field(default_factory=dict)
    streams: dict[str, int] = field(default_factory=dict)  # records read per stream
    pages: int = 0
    requests: int = 0
    # Answers asking the read to slow down (429, 503/504, an envelope's throttle or busy code), and the
    # requests in flight it ended with of those configured, when it had to go below them.
    pushback: int = 0
    in_flight: tuple[int, int] | None = None

    def take(self, part: Extract) -> None:
        """Count `part` (one stream of the same read, or its last part) into this whole: its raw
        bodies, state, streams and traffic. Its frames are the caller's: gathered or handed on."""
        self.raw += part.raw
        self.state.update(part.state)
        self.streams.update(part.streams)
        self.pages += part.pages
        self.requests += part.requests
        self.pushback += part.pushback
        self.in_flight = part.in_flight or self.in_flight

    @property
    def watermarks(self) -> dict[str, str]:
        """The streams' watermarks (what a person is shown), without the connector's state rows."""
        return {k: v for k, v in self.state.items() if not is_state(k)}

    @property
    def rows(self) -> int:
        return sum(f.data.height for f in self.frames)


def is_state(name: str) -> bool:
    """A `watermark` row that is connector state (`stream#…`), not a stream's watermark."""
    return "#" in name


def watermarks_of(state: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in state.items() if not is_state(k)}


def connector_state(state: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in state.items() if is_state(k)}
