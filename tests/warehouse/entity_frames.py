"""Validated entity frames as the validator hands them to the warehouse, built from a few values."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from tourlink import schema
from tourlink.frames import DTYPES, ISSUES_DTYPE

ORGANIZER = "91110000MA01ABCD2Q"  # a valid USCC


def entity_frame(entity: str, rows: list[dict[str, Any]], *, file: str = "upload.csv") -> pl.DataFrame:
    """Every canonical field (absent ones null) typed as docs/architecture.md says, plus `_file`,
    `_row`, `_raw` and `_issues` (an `issues` key of a row gives its issues)."""
    spec = schema.entity(entity)
    columns: dict[str, pl.Series] = {}
    for f in spec.fields:
        columns[f.name] = pl.Series(f.name, [r.get(f.name) for r in rows], dtype=DTYPES[f.type])
    frame = pl.DataFrame(columns)
    raw = [json.dumps({k: str(v) for k, v in r.items() if k != "issues"}, ensure_ascii=False) for r in rows]
    return frame.with_columns(
        pl.Series("_file", [file] * len(rows), dtype=pl.String),
        pl.Series("_row", [r.get("_row", i + 2) for i, r in enumerate(rows)], dtype=pl.Int64),
        pl.Series("_raw", raw, dtype=pl.String),
        pl.Series("_issues", [r.get("issues", []) for r in rows], dtype=ISSUES_DTYPE),
    )


def at(day: int, hour: int = 8) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=UTC)


def group(code: str, *, updated: datetime | None = None, route: str = "北京五日游", **extra: Any) -> dict[str, Any]:
    return {
        "group_code": code,
        "organizer_uscc": ORGANIZER,
        "group_type": "DOMESTIC",
        "route_name": route,
        "start_date": date(2026, 10, 1),
        "end_date": date(2026, 10, 5),
        "destinations": ["110000"],
        "tourist_count": 30,
        "status": "SUBMITTED",
        "submitted_at": at(1),
        "updated_at": updated or at(1),
        **extra,
    }


def member(code: str, seq: int, *, name: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "organizer_uscc": ORGANIZER,
        "group_code": code,
        "seq_no": seq,
        "name": name or f"游客{seq}",
        "gender": "M" if seq % 2 else "F",
        "birth_date": date(1980, 1, 1 + seq % 28),
        "doc_type": "CN_RIC",
        "doc_no": f"11010519800101{seq:04d}",
        "nationality": "CHN",
        "mobile": f"1380000{seq:04d}",
        "residence_province": "11",
        **extra,
    }


def issue(rule: str, field: str, value: str, *, severity: str = "ERROR", message: str = "校验未通过") -> dict[str, str]:
    return {"rule": rule, "severity": severity, "field": field, "value": value, "message": message}


def roster_frames(groups: int, per_group: int = 30, *, route: str = "北京五日游", updated: datetime | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`groups` tour groups with `per_group` members each, built column-wise (large loads in tests)."""
    n = groups * per_group
    codes = pl.int_range(0, groups, eager=True).cast(pl.String).str.pad_start(7, "0")
    group_rows = entity_frame("tour_group", [group("X", route=route, updated=updated)]).select(pl.all().repeat_by(groups).explode())
    group_rows = group_rows.with_columns(group_code=pl.lit("G") + codes, _row=pl.int_range(2, groups + 2))
    i = pl.int_range(0, n, eager=True)
    template = entity_frame("group_member", [member("X", 1)]).drop("group_code", "seq_no", "name", "doc_no")
    members = pl.DataFrame(
        {
            "group_code": ("G" + (i // per_group).cast(pl.String).str.pad_start(7, "0")),
            "seq_no": (i % per_group + 1).cast(pl.Int64),
            "name": "游客" + i.cast(pl.String),
            "doc_no": "110105198001" + i.cast(pl.String).str.pad_start(6, "0"),
        }
    )
    members = members.join(template, how="cross").with_columns(_row=pl.int_range(2, n + 2))
    return group_rows, members.select(schema.entity("group_member").field_names + ["_file", "_row", "_raw", "_issues"])
