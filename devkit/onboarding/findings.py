"""What the rows quarantine would get mean for onboarding: the mapping's problems, or the vendor's data.

A reviewed mapping is ready even when the vendor's real data holds records a steward will have to
fix (an organizer code failing its check digit, an ID number with a wrong check character): those
are isolated rows. A mapping problem is systematic: one rule on one field failing for a large share
of an entity's rows (a wrong column, a wrong date format), or a code value the mapping does not know
failing on more than one row (an unmapped code). Children held back with a rejected parent (`ORPHAN`)
are counted beside their parent's reason, never as records of their own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

SYSTEMATIC_SHARE = 0.2  # a rule failing on this share of an entity's rows is the mapping's doing
PARSE_RULES = ("TYPE", "CODE_LIST", "EXCEL_NUMERIC_ID")  # the mapping stage's own rules


@dataclass
class Finding:
    """One rule on one field of one entity: how many rows, an example message, and whose problem."""

    entity: str
    rule: str
    field: str | None
    rows: list[int | None] = field(default_factory=list)
    where: set[tuple] = field(default_factory=set)  # (file, row) of each failing row
    message: str = ""
    mapping: bool = False  # True: the mapping must change; False: the vendor's records

    @property
    def label(self) -> str:
        return f"{self.entity}.{self.field or '-'} {self.rule}"


@dataclass
class Findings:
    mapping: list[Finding] = field(default_factory=list)
    data: list[Finding] = field(default_factory=list)
    bad_rows: dict[str, int] = field(default_factory=dict)  # entity -> rows failing a rule of the vendor's data
    held_back: dict[str, int] = field(default_factory=dict)  # entity -> rows only orphaned by a rejected parent


def classify(rows: dict[str, int], issues: list[dict[str, Any]]) -> Findings:
    """Group the issues (entity, file, row, rule, field, message, value_key) into findings."""
    out = Findings()
    failing: dict[str, set[tuple]] = {}
    orphaned: dict[str, set[tuple]] = {}
    groups: dict[tuple[str, str, str | None], Finding] = {}
    values: dict[tuple[str, str, str | None], Counter] = {}
    for q in issues:
        where = (q["file"], q["row"], q.get("at"))  # a child row shares its parent's file and row
        if q["rule"] == "ORPHAN":
            orphaned.setdefault(q["entity"], set()).add(where)
            continue
        failing.setdefault(q["entity"], set()).add(where)
        key = (q["entity"], q["rule"], q["field"])
        finding = groups.setdefault(key, Finding(q["entity"], q["rule"], q["field"], message=q["message"]))
        finding.rows.append(q["row"])
        finding.where.add(where)
        values.setdefault(key, Counter())[q.get("value_key")] += 1
    for key, finding in groups.items():
        entity_rows = max(rows.get(finding.entity, 0), 1)
        share = len(finding.rows) / entity_rows
        repeated_code = finding.rule in PARSE_RULES and any(n > 1 for v, n in values[key].items() if v is not None)
        finding.mapping = (len(finding.rows) > 1 and share >= SYSTEMATIC_SHARE) or repeated_code
        (out.mapping if finding.mapping else out.data).append(finding)
    for f in out.data:
        out.bad_rows[f.entity] = len(set().union(*(g.where for g in out.data if g.entity == f.entity)))
    for entity, where in orphaned.items():
        if only := where - failing.get(entity, set()):
            out.held_back[entity] = len(only)
    return out


def describe(findings: Findings) -> list[str]:
    """The report's lines: mapping problems first (they block), then the vendor's records (they do not)."""
    lines = []
    if findings.mapping:
        lines.append(f"mapping problems (fix the mapping): {len(findings.mapping)}")
        lines += [f"  - {_line(f)}" for f in findings.mapping]
    else:
        lines.append("mapping problems: none")
    counts = ", ".join(f"{e} {n}" for e, n in findings.bad_rows.items())
    lines.append("the vendor's records a steward will have to fix (quarantined, not the mapping's doing): " + (counts or "none"))
    lines += [f"  - {_line(f)}" for f in findings.data]
    if findings.held_back:
        held = ", ".join(f"{e} {n}" for e, n in findings.held_back.items())
        lines.append(f"held back with a rejected parent (ORPHAN, counted with the parent's reason): {held}")
    return lines


def _line(f: Finding) -> str:
    shown = sorted({r for r in f.rows if r is not None})
    rows = ", ".join(str(r) for r in shown[:8]) + (", …" if len(shown) > 8 else "")
    return f"{f.label} × {len(f.rows)} (rows {rows}), e.g. {f.message}"
