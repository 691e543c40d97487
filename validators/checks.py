"""A check, and how checks become issues: each rule builds `Check`s (polars expressions over whole
columns), and `append_issues` appends the failures of many checks to `_issues` in one pass. The
field expressions every rule builder composes (`as_text`, `is_missing`, `on_day`, …) live here too.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from tourlink.frames import ISSUES
from tourlink.schema import LIST_SEPARATOR, Condition, Entity, Field
from validators.catalogue import rule_info

LOCAL_TZ = "Asia/Shanghai"


@dataclass(frozen=True)
class Check:
    """One rule on one field: `failed` is true on the rows that get the issue."""

    rule: str
    field: str | None
    failed: pl.Expr
    value: pl.Expr
    message: str

    def issue(self) -> pl.Expr:
        return pl.struct(
            rule=pl.lit(self.rule, pl.String),
            severity=pl.lit(rule_info(self.rule).severity, pl.String),
            field=pl.lit(self.field, pl.String),
            value=self.value.cast(pl.String),
            message=pl.lit(self.message, pl.String),
        )


ROW_INDEX = "__row_index"


def append_issues(df: pl.DataFrame, checks: list[Check]) -> pl.DataFrame:
    """Append the issues of `checks` to `_issues`, after the row's earlier issues, in check order.

    Every check's `failed` is evaluated in one parallel pass; a frame where no row fails (the
    common case) comes back untouched. Only failing rows build issue structs, so `value` must be
    row-wise (it is evaluated on the failing rows alone); `failed` may look at the whole frame.
    """
    if not checks:
        return df
    flags = failed_flags(df, checks)
    hit = flags.select(pl.any_horizontal(pl.all())).to_series()
    if not hit.any():
        return df
    rows = pl.concat([df, flags], how="horizontal").with_row_index(ROW_INDEX).filter(hit)
    issues = merged_issues(rows, checks)
    return df.with_columns(pl.when(hit).then(spread(issues, hit)).otherwise(pl.col(ISSUES)).alias(ISSUES))


def failed_name(i: int) -> str:
    return f"__failed_{i}"


def failed_flags(df: pl.DataFrame, checks: list[Check]) -> pl.DataFrame:
    """One boolean column per check (null counts as passed), all computed in one parallel select."""
    names = [failed_name(i) for i in range(len(checks))]
    exprs = (c.failed.fill_null(False).alias(n) for c, n in zip(checks, names, strict=True))
    return df.lazy().with_columns(exprs).select(names).collect()


def merged_issues(rows: pl.DataFrame, checks: list[Check]) -> pl.Series:
    """For the failing `rows` (in frame order): their earlier issues, then each failing check's issue.

    Long form, then regroup: concatenating lists of structs row by row is very slow in polars.
    """
    lf = rows.lazy()
    earlier = (
        lf.select(ROW_INDEX, pl.col(ISSUES).alias("__issue"))
        .explode("__issue")
        .filter(pl.col("__issue").is_not_null())
    )
    found = [
        lf.filter(pl.col(failed_name(i))).select(ROW_INDEX, c.issue().alias("__issue")) for i, c in enumerate(checks)
    ]
    per_row = pl.concat([earlier, *found]).group_by(ROW_INDEX, maintain_order=True).agg(pl.col("__issue"))
    aligned = lf.select(ROW_INDEX).join(per_row, on=ROW_INDEX, how="left", maintain_order="left")
    return aligned.select(pl.col("__issue").alias(ISSUES)).collect().to_series()


def spread(issues: pl.Series, hit: pl.Series) -> pl.Series:
    """`issues` (one per hit row, in order) placed on the frame's hit rows; null elsewhere."""
    position = pl.select(pl.when(hit).then(hit.cast(pl.Int64).cum_sum() - 1)).to_series()
    return issues.gather(position)


def as_text(f: Field, expr: pl.Expr | None = None) -> pl.Expr:
    """A field's value as text, the way an issue records it."""
    expr = pl.col(f.name) if expr is None else expr
    if f.type in ("list", "set"):
        return expr.list.join(LIST_SEPARATOR)
    return expr.cast(pl.String)


def is_missing(f: Field) -> pl.Expr:
    col = pl.col(f.name)
    if f.type in ("list", "set"):
        return col.is_null() | (col.list.len() == 0)
    if f.type in ("str", "json"):
        return col.is_null() | (col.str.strip_chars() == "")
    return col.is_null()


def condition_holds(ent: Entity, cond: Condition) -> pl.Expr:
    other = ent.field(cond.field)
    col = pl.col(cond.field)
    if other.type not in ("str", "list", "set"):
        col = col.cast(pl.String)  # condition values are text in the YAML (`in: [2026]` → "2026")
    if cond.op == "contains":
        if other.type in ("list", "set"):
            return pl.any_horizontal(col.list.contains(v) for v in cond.values)
        return col.is_in(cond.values)
    if cond.op == "in":
        return col.is_in(cond.values)
    return col.is_not_null() & ~col.is_in(cond.values)


def on_day(f: Field) -> pl.Expr:
    """Dates as they are; timestamps as the calendar day in Asia/Shanghai (SPEC section 1)."""
    if f.type == "timestamp":
        return pl.col(f.name).dt.convert_time_zone(LOCAL_TZ).dt.date()
    return pl.col(f.name)
