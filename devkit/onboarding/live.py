"""`connector check --live`: the source's own reader against the real vendor, one window, nothing loaded.

Before anything is sent: a placeholder `base_url` (the address `connector new` wrote for a file
sample) and credentials whose environment variables are not set are reported, not guessed around.
Then the dialect's reader (`connectors.dialects.reader`, the very code a sync runs) reads every stream
once: its pagination guards fail the read when pages do not end or rows do not add up to the
vendor's total, and an error envelope (`40001` bad signature, …) fails it with the vendor's code. A
second read from the state the first one returned must come back with fewer records (the vendor
honours the incremental window), and that state must round-trip (ISO times, none in the future).
The frames of the first read are what `connector check` maps and validates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from connectors.registry import SecretError, SourceConfig

PLACEHOLDER_HOSTS = ("vendor.example.cn", "example.com", "example.cn", "example.org", "host")


@dataclass
class LiveRead:
    """What the live half found: problems (each blocks READY), and the first read's frames."""

    problems: list[str] = field(default_factory=list)
    frames: list[Any] = field(default_factory=list)
    streams: dict[str, int] = field(default_factory=dict)
    incremental: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    ran: bool = False  # the vendor was contacted


def preflight(source: SourceConfig) -> list[str]:
    """What stops a live read before a request is sent: the address and the credentials."""
    problems = []
    host = urlsplit(source.base_url or "").hostname or ""
    if not host or host in PLACEHOLDER_HOSTS or host.endswith(".example.cn"):
        problems.append(f"base_url {source.base_url or '(empty)'} is a placeholder: set the vendor's address in the registry file")
    for role in source.credentials:
        try:
            source.secret(role)
        except SecretError as exc:
            problems.append(f"credential {role}: {exc}")
    return problems


def _read(source: SourceConfig, state: dict[str, str]) -> Any:
    """The reader's Extract; nothing is landed, so large bodies spilled to disk are deleted at once."""
    from connectors import dialects
    from connectors.bodies import discard
    from connectors.reading import Window

    got = dialects.reader(source.dialect)(source, state, Window())
    discard(got.raw)
    return got


def _state_problems(state: dict[str, str]) -> list[str]:
    from connectors.reading import watermarks_of

    problems = []
    soon = datetime.now(UTC) + timedelta(minutes=5)
    for stream, mark in watermarks_of(state).items():
        try:
            moment = datetime.fromisoformat(mark)
        except ValueError:
            problems.append(f"state of {stream}: watermark {mark!r} is not an ISO time")
            continue
        if (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) > soon:
            problems.append(f"state of {stream}: watermark {mark} lies in the future (a wrong time zone?)")
    return problems


def live_read(source: SourceConfig) -> LiveRead:
    """Read every stream of `source` from the vendor twice (full, then from the returned state)."""
    from connectors import dialects

    result = LiveRead()
    result.problems = preflight(source)
    if result.problems:
        return result
    if dialects.spec(source.dialect).incremental != "updated-since":
        result.problems.append(f"dialect {source.dialect}: `connector check --live` reads API sources only; use `tourlink sources check`")
        return result
    result.ran = True
    try:
        first = _read(source, {})
    except Exception as exc:  # noqa: BLE001 - any failure of the vendor is a line of the report, not a traceback
        result.problems.append(f"the vendor at {source.base_url} could not be read: {_reason(exc)}")
        return result
    result.frames, result.streams, result.requests = list(first.frames), dict(first.streams), first.requests
    if not sum(first.streams.values()):
        result.problems.append(f"the vendor answered no records on any stream ({first.streams})")
        return result
    result.problems += _state_problems(first.state)
    try:
        second = _read(source, dict(first.state))
    except Exception as exc:  # noqa: BLE001
        result.problems.append(f"the incremental re-read failed: {_reason(exc)}")
        return result
    result.incremental, result.requests = dict(second.streams), result.requests + second.requests
    for stream, n in first.streams.items():
        if n and second.streams.get(stream, 0) >= n:
            result.problems.append(f"stream {stream}: a re-read from the watermark returned all {n} records again "
                                   "(the incremental window is not honoured)")
    return result


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if type(exc).__name__ in text else f"{type(exc).__name__}: {text}"
