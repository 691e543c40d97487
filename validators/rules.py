"""Row rules: each schema declaration (`required`, `required_when`, `codes`, `rules`) becomes checks
(`validators.checks`) over whole columns, and every failure becomes an issue struct appended to
`_issues`. The rules themselves are in `code_rules`, `identifier_rules` and `value_rules`.

Adding a field with known rules to a schema needs no edit here; a new rule id needs a builder in
`ROW_RULES` and an entry in `catalogue.yaml`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import lru_cache

import polars as pl

from tourlink.frames import DTYPES, ISSUES, ISSUES_DTYPE
from tourlink.schema import Entity, Field
from tourlink.schema import entity as schema_entity
from validators import identifiers as ids
from validators.catalogue import message
from validators.checks import ROW_INDEX, Check, append_issues, condition_holds, is_missing
from validators.code_rules import code_checks
from validators.identifier_rules import (
    RIC_RULES,
    division_checks,
    document_checks,
    mobile_checks,
    original,
    pattern_check,
    ric_checks,
    ric_checksum,
    ric_parts,
    ric_scope,
    uscc_checks,
)
from validators.value_rules import comparison, date_order_checks, not_future_checks, scope_checks

PARSE_RULES = ("TYPE", "CODE_LIST", "EXCEL_NUMERIC_ID")  # mapping's: the field is already reported
# Handled with another rule or in batch.py, so nothing to do per field here.
ELSEWHERE = {"RIC_GENDER_MISMATCH", "RIC_BIRTH_MISMATCH", "PINYIN_MISSING"}


RuleBuilder = Callable[[Entity, Field, date], list[Check]]
ROW_RULES: dict[str, RuleBuilder] = {
    "RIC": lambda ent, f, today: ric_checks(ent, f, today),
    "DOCUMENT": document_checks,
    "USCC_CHECKSUM": uscc_checks,
    "LICENCE_FORMAT": pattern_check("LICENCE_FORMAT", ids.LICENCE_PATTERN),
    "GUIDE_CARD_FORMAT": pattern_check("GUIDE_CARD_FORMAT", ids.GUIDE_CARD_PATTERN),
    "MOBILE_FORMAT": mobile_checks,
    "DIVISION_CODE": division_checks,
    "DATE_ORDER": date_order_checks,
    "SCOPE_INCONSISTENT": scope_checks,
    "POSITIVE": comparison("POSITIVE", lambda v: v <= 0),
    "NON_NEGATIVE": comparison("NON_NEGATIVE", lambda v: v < 0),
    "NOT_FUTURE": not_future_checks,
    "PERIOD_FORMAT": pattern_check("PERIOD_FORMAT", ids.PERIOD_PATTERN),
    "CITY_CODE": pattern_check("CITY_CODE", ids.CITY_CODE_PATTERN),
}


def declared_rules() -> set[str]:
    """Every rule id a field can declare (schema `rules:`)."""
    return set(ROW_RULES) | ELSEWHERE


# --- the engine ----------------------------------------------------------------------------------


def conform(ent: Entity, df: pl.DataFrame) -> pl.DataFrame:
    """Add canonical fields the frame lacks (null, typed) and an empty `_issues`, so rules can run."""
    missing = [pl.lit(None, DTYPES[f.type]).alias(f.name) for f in ent.fields if f.name not in df.columns]
    if ISSUES not in df.columns:
        missing.append(pl.lit([], ISSUES_DTYPE).alias(ISSUES))
    df = df.with_columns(missing) if missing else df
    return df.with_columns(pl.col(ISSUES).cast(ISSUES_DTYPE).fill_null(pl.lit([], ISSUES_DTYPE)))


@lru_cache(maxsize=64)
def _declared_checks(ent: Entity, today: date) -> tuple[Check, ...]:
    """Built once per entity and day: ~37 ms of expression building for the five entities of an
    API frame, paid by every frame (a sync's few, an import's 50-row template) before this cache."""
    return tuple(_build_checks(ent, today))


def checks_for(ent: Entity, today: date) -> list[Check]:
    """Every row check the schema declares for `ent` (polars expressions are immutable: shared)."""
    return list(_declared_checks(ent, today))


def _build_checks(ent: Entity, today: date) -> list[Check]:
    checks: list[Check] = []
    for f in ent.fields:
        if f.required == "R":
            checks.append(Check("REQUIRED", f.name, is_missing(f), pl.lit(None, pl.String), message("REQUIRED", header=f.header)))
        elif f.required == "C" and f.required_when is not None:
            failed = condition_holds(ent, f.required_when) & is_missing(f)
            checks.append(Check("REQUIRED", f.name, failed, pl.lit(None, pl.String), message("REQUIRED", header=f.header)))
        if f.codes:
            checks.extend(code_checks(ent, f))
        for rule in f.rules:
            if rule in ELSEWHERE:
                continue
            try:
                build = ROW_RULES[rule]
            except KeyError:
                raise ValueError(f"{ent.name}.{f.name}: rule {rule} has no validator") from None
            checks.extend(build(ent, f, today))
    return checks


def flagged_column(f: str) -> str:
    return f"__flagged_{f}"


def mapping_flags(df: pl.DataFrame) -> dict[str, pl.Series]:
    """Per field, the rows mapping already reported (TYPE / CODE_LIST / EXCEL_NUMERIC_ID)."""
    if not any_issue(df):
        return {}
    found = (
        df.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias(ROW_INDEX), ISSUES)
        .explode(ISSUES)
        .filter(pl.col(ISSUES).struct.field("rule").is_in(PARSE_RULES))
        .select(ROW_INDEX, pl.col(ISSUES).struct.field("field").alias("field"))
    )
    rows = pl.int_range(df.height, dtype=pl.UInt32, eager=True)
    return {
        str(field): rows.is_in(group[ROW_INDEX]).alias(flagged_column(str(field)))
        for (field,), group in found.group_by("field")
        if field is not None
    }


def validate(entity: str, df: pl.DataFrame, *, today: date) -> pl.DataFrame:
    """Run every row rule of `entity` on `df`; failures are appended to `_issues`.

    15-digit legacy ID numbers are replaced by their 18-digit form (with WARN RIC_LEGACY_15).
    """
    ent = schema_entity(entity)
    df = conform(ent, df)
    if df.is_empty():  # nothing to check: the rules' plans cost ~10 ms an entity (a sync's other stream)
        return df
    ric_fields = [f for f in ent.fields if any(r in f.rules for r in RIC_RULES)]
    flags = mapping_flags(df)
    df = df.with_columns(
        *(pl.col(f.name).alias(original(f.name)) for f in ric_fields),
        *(pl.when(ric_scope(f)).then(ids.ric_upgrade(pl.col(f.name))).otherwise(pl.col(f.name)).alias(f.name) for f in ric_fields),
        *flags.values(),
    )
    df = df.with_columns(part for f in ric_fields for part in ric_parts(f))
    df = df.with_columns(ric_checksum(f) for f in ric_fields)
    checks = checks_for(ent, today)
    for i, c in enumerate(checks):
        if c.field in flags and c.rule in ("REQUIRED", "CODE_LIST"):
            checks[i] = Check(c.rule, c.field, c.failed & ~pl.col(flagged_column(c.field)), c.value, c.message)
    df = append_issues(df, checks)
    helpers = [original(f.name) for f in ric_fields] + [
        p.meta.output_name() for f in ric_fields for p in (*ric_parts(f), ric_checksum(f))
    ]
    return df.drop([*helpers, *(flagged_column(f) for f in flags)])


def split(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(good, bad): bad rows carry at least one ERROR issue and go to quarantine.

    A frame without any issue (the usual chunk) is all good: `has_error`'s list.eval would
    materialise the broadcast empty `_issues` a clean frame carries (~20 ms per 200k rows)."""
    if not any_issue(df):
        return df, df.clear()
    bad = has_error()
    return df.filter(~bad), df.filter(bad)


def any_issue(df: pl.DataFrame) -> bool:
    """Some row has an issue. As an expression: `df[ISSUES]` would materialise a clean frame's
    broadcast empty `_issues` (~12 ms per 200k rows)."""
    return bool(df.select(pl.col(ISSUES).list.len().max()).item())


def has_error() -> pl.Expr:
    return pl.col(ISSUES).list.eval(pl.element().struct.field("severity") == "ERROR").list.any().fill_null(False)

