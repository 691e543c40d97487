"""The comparison: this read's fields against the mapping and the stream's last sightings.

- `vanished`: a field the mapping reads, present in every one of the stream's last `HISTORY`
  sightings, absent now (its canonical fields would come out null, or quarantine every row);
- `renamed`: a vanished field with an added field beside it (same parent, same kind, a similar
  name): most likely the vendor renamed it;
- `added`: a field no recent sighting had and the mapping does not read; reported once, since the
  next sighting's history holds it.

The first sighting of a stream is its baseline: nothing to compare with, no finding. A field that is
sometimes absent (sent only when set) never counts as steady, so it never "vanishes". What this
cannot tell apart: a vendor that omits null keys, and a small read in which every record left an
optional field empty after it was set in each of the last sightings; that reads as `vanished` (the
alert says which canonical fields it fills, so a steward can judge).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tourlink.headers import normalise_header

HISTORY = 3  # sightings a field must have been in, every one, before its absence is a finding
SIMILAR = 0.5  # name similarity (difflib ratio of the last segments) that pairs a rename among several


@dataclass(frozen=True)
class Finding:
    stream: str
    kind: str  # vanished / renamed / added
    field: str
    renamed_to: str | None = None
    fills: tuple[str, ...] = field(default=())  # canonical fields the vanished field filled

    def text_zh(self) -> str:
        fills = f"（映射到 {', '.join(self.fills)}）" if self.fills else ""
        if self.kind == "renamed":
            return f"{self.stream}: 字段 {self.field} 不再出现，疑似改名为 {self.renamed_to}{fills}"
        if self.kind == "vanished":
            return f"{self.stream}: 字段 {self.field} 不再出现{fills}，相关字段将为空或整行隔离"
        return f"{self.stream}: 新增字段 {self.field}（映射未读取）"

    def as_dict(self) -> dict[str, Any]:
        """The finding as plain data, the one shape of an alert's detail and of a recorded finding
        (`warehouse.drift.record_sighting` stores `fills` joined by `|`)."""
        return {"stream": self.stream, "kind": self.kind, "field": self.field, "renamed_to": self.renamed_to,
                "fills": list(self.fills)}  # fmt: skip


def _key(path: str) -> str:
    return normalise_header(path)


def _parent(path: str) -> str:
    return path.rpartition(".")[0]


def _leaf(path: str) -> str:
    return path.rpartition(".")[2]


def _under(path: str, prefixes: set[str]) -> bool:
    return any(path.startswith(p + ".") for p in prefixes)


def compare(
    stream: str,
    received: Mapping[str, str],
    opaque: set[str],
    mapped: Mapping[str, Sequence[str]],
    history: Sequence[Mapping[str, str]],
) -> list[Finding]:
    """Findings of one stream's read (`received`: field → kind) against `mapped` (the mapping's
    source fields → canonical fields) and `history` (the last sightings' fields, newest first)."""
    if not history:
        return []
    recent = history[:HISTORY]
    steady = {_key(f) for f in recent[0]}.intersection(*({_key(f) for f in h} for h in recent[1:]))
    seen = {_key(f): kind for h in history for f, kind in h.items()}
    got = {_key(f) for f in received}
    reads = {_key(p) for p in mapped}
    vanished = [p for p in mapped if _key(p) in steady and _key(p) not in got and not _under(p, opaque)]
    added = [f for f in received if _key(f) not in seen and _key(f) not in reads]
    added = [f for f in added if _parent(f) not in added]  # a new list column is one finding, not one per field
    findings: list[Finding] = []
    for old in vanished:
        kind = seen.get(_key(old))
        candidates = [
            a for a in added
            if _parent(a) == _parent(old) and (kind in (None, "null") or received[a] in (kind, "null"))
        ]
        scored = sorted(candidates, key=lambda a: -difflib.SequenceMatcher(None, _leaf(old), _leaf(a)).ratio())
        best = scored[0] if scored else None
        ratio = difflib.SequenceMatcher(None, _leaf(old), _leaf(best)).ratio() if best else 0.0
        if best is not None and (len(candidates) == 1 or ratio >= SIMILAR):
            added.remove(best)
            findings.append(Finding(stream, "renamed", old, best, tuple(mapped[old])))
        else:
            findings.append(Finding(stream, "vanished", old, None, tuple(mapped[old])))
    findings += [Finding(stream, "added", a) for a in added]
    return findings
