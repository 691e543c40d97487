"""Application: one `SourceFrame` in, one typed, normalised frame per canonical entity of a mapping out.

Everything here builds polars expressions once per mapping and runs them over whole columns (the hot
path of every import); the only Python loops are over fields, never over rows. Fields are resolved
to source columns (exact, by normalised header, or a dotted path into structs), converted
(`mappings.conversion`), defaulted, and their parse failures gathered into `_issues`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import polars as pl

from mappings import dates
from mappings.conversion import RECEIVED_AT, _default_value, _IssueKind, _normalised, _Source, _typed
from mappings.normalise import normalise_header, placeholders_to_null
from mappings.spec import FieldRule
from tourlink import schema
from tourlink.frames import (
    DTYPES,
    FILE,
    ISSUE,
    ISSUES,
    ISSUES_DTYPE,
    PAGE_FILE,
    RAW,
    ROW,
    ROW_NO,
    UPDATED_AT_GIVEN,
    SourceFrame,
)

if TYPE_CHECKING:
    from mappings.spec import EntityRule, Mapping

SAMPLE_ROWS = 20_000
DISTINCT_RATIO = 4  # compute per distinct value when values repeat at least this often on average
# ... and only in frames of at least this many rows: below it, the per-value path's few operations a
# field (~0.4 ms each, whatever the rows) cost more than computing every row (an API page, a template).
BY_VALUE_ROWS = 2_000
_HIDDEN = "__"  # prefix of the engine's working columns (ROW too)


def apply_mapping(mapping: Mapping, frame: SourceFrame, *, received_at: datetime, source: str) -> dict[str, pl.DataFrame]:
    """`Mapping.apply`: map `frame` onto each entity of `mapping` (see docs/architecture.md, Mapping → validator).

    `received_at` fills `$received_at` defaults; `source` names the connector (for messages).
    """
    received = _as_utc(received_at)
    data = _with_numeric_flags(frame)
    columns = _column_index(frame.data.columns)
    return {
        name: _apply_entity(mapping, rule, data, columns, frame.file, received, source)
        for name, rule in mapping.rules.items()
    }


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(dates.LOCAL_TZ))
    return moment.astimezone(ZoneInfo("UTC"))


def _numeric_column(column: str) -> str:
    return f"{_HIDDEN}num__{column}"


def _with_numeric_flags(frame: SourceFrame) -> pl.DataFrame:
    flags = [
        pl.Series(_numeric_column(c), s, dtype=pl.Boolean)
        for c, s in frame.numeric_cells.items()
        if c in frame.data.columns
    ]
    return frame.data.with_columns(flags) if flags else frame.data


def _column_index(columns: Sequence[str]) -> dict[str, str]:
    index: dict[str, str] = {}
    for c in columns:
        if not c.startswith(_HIDDEN):
            index.setdefault(normalise_header(c), c)
    return index



def _resolve(path: str, data_schema: pl.Schema, columns: dict[str, str]) -> _Source | None:
    """A column (exact, then by normalised header) or a dotted path into structs; None if absent."""
    if path in data_schema:
        return _Source(pl.col(path), data_schema[path], path)
    if normalise_header(path) in columns:
        name = columns[normalise_header(path)]
        return _Source(pl.col(name), data_schema[name], name)
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:cut])
        if head not in data_schema:
            continue
        expr, dtype = pl.col(head), data_schema[head]
        for part in parts[cut:]:
            if not isinstance(dtype, pl.Struct):
                return None
            inner = {f.name: f.dtype for f in dtype.fields}
            if part not in inner:
                return None
            expr, dtype = expr.struct.field(part), inner[part]
        return _Source(expr, dtype, head)
    return None


def _as_text(src: _Source, list_field: bool) -> pl.Expr:
    """The value as received, as text (nested values as JSON text, lists `|`-joined for list fields)."""
    if isinstance(src.dtype, pl.List | pl.Array) and list_field and not src.dtype.inner.is_nested():
        # A list of scalars: its items `|`-joined. Nested items (lists of lists, of records) cannot be
        # list items of a canonical field: they fall through to JSON text and fail as CODE_LIST/TYPE.
        return src.expr.list.eval(pl.element().cast(pl.String)).list.join("|")
    if isinstance(src.dtype, pl.Struct | pl.List | pl.Array):
        return pl.struct(src.expr.alias("v")).struct.json_encode().str.strip_prefix('{"v":').str.strip_suffix("}")
    return src.expr.cast(pl.String)


def _field_source(mapping: Mapping, rule: EntityRule, f: schema.Field, data_schema: pl.Schema,
                  columns: dict[str, str]) -> tuple[FieldRule, _Source | None] | None:
    explicit = rule.fields.get(f.name)
    if explicit is not None:
        if explicit.const is not None:
            return explicit, None
        return explicit, _resolve(explicit.source, data_schema, columns) if explicit.source else None
    if mapping.headers == "canonical":
        src = _resolve(f.name, data_schema, columns)
        return (FieldRule(source=f.name), src) if src else None
    if mapping.headers == "schema":
        for header in f.headers:
            name = columns.get(normalise_header(header))
            if name is not None:
                return FieldRule(source=name), _Source(pl.col(name), data_schema[name], name)
    return None


def _condition(cond: schema.Condition, e: schema.Entity) -> pl.Expr:
    column = pl.col(cond.field)
    if e.field(cond.field).type in ("list", "set"):
        return pl.any_horizontal([column.list.contains(v) for v in cond.values]).fill_null(False)
    if cond.op == "not_in":
        return ~column.is_in(list(cond.values)).fill_null(False)
    return column.is_in(list(cond.values)).fill_null(False)


def _apply_entity(mapping: Mapping, rule: EntityRule, data: pl.DataFrame, columns: dict[str, str],
                  file: str, received: datetime, source: str) -> pl.DataFrame:
    e = rule.entity
    lf = data.lazy()
    data_schema = data.schema
    if rule.explode:
        target = _resolve(rule.explode, data_schema, columns)
        if target is None or not isinstance(target.dtype, pl.List):
            raise ValueError(f"{mapping.name}: {e.name}.explode: {rule.explode!r} is not a list column of {file}")
        lf = lf.explode(target.column).filter(pl.col(target.column).is_not_null())
        data_schema = lf.collect_schema()
    if rule.when:
        gate = _resolve(rule.when, data_schema, columns)
        if gate is None:
            lf = lf.filter(pl.lit(False))
        else:
            lf = lf.filter(placeholders_to_null(gate.expr.cast(pl.String)).is_not_null())
    visible = [c for c in data_schema if not c.startswith(_HIDDEN)]
    row = pl.col(ROW).cast(pl.Int64) if ROW in data_schema else pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
    base = [
        # a frame of several API pages names each row's page in `__file` (see connectors/erp.py)
        (pl.col(PAGE_FILE).cast(pl.String) if PAGE_FILE in data_schema else pl.lit(file, pl.String)).alias(FILE),
        row.alias(ROW_NO),
        pl.struct(visible).alias(RAW) if visible else pl.lit("{}").alias(RAW),
    ]

    raws: list[pl.Expr] = []
    stages: dict[str, tuple[pl.Expr, pl.Expr, bool]] = {}  # field -> (normalised, typed, by_value)
    issue_kinds: dict[str, _IssueKind] = {}
    sources: dict[str, tuple[FieldRule, _Source | None]] = {}
    for f in e.fields:
        found = _field_source(mapping, rule, f, data_schema, columns)
        if found is None or (found[1] is None and found[0].const is None):
            continue
        frule, src = found
        sources[f.name] = found
        raw_col, n_col = _raw_column(f.name), _normalised_column(f.name)
        if frule.const is not None:
            raws.append(pl.lit(str(frule.const), pl.String).alias(raw_col))
        else:
            raws.append(_as_text(src, f.type in ("list", "set")).alias(raw_col))
        numeric = None
        if src is not None and _numeric_column(src.column) in data_schema and src.expr.meta.is_column():
            # A column without one numeric cell in this chunk (text-formatted, the usual template) is
            # plain text: typed like CSV, and per distinct value when its values repeat.
            if _numeric_column(src.column) not in data.columns or data[_numeric_column(src.column)].any():
                numeric = pl.col(_numeric_column(src.column)).fill_null(False)
        value, issue = _typed(f, pl.col(n_col), pl.col(raw_col), frule, src, numeric)
        # A pure function of the received text can be computed once per distinct value.
        by_value = numeric is None and (src is None or src.dtype == pl.String)
        stages[f.name] = (
            _normalised(f, pl.col(raw_col), frule, mapping.split).alias(n_col),
            value.cast(DTYPES[f.type]).alias(f.name),
            by_value,
        )
        if issue is not None:
            issue_kinds[f.name] = issue

    lf = _mapped_fields(lf.with_columns(*base, *raws).collect(), stages).lazy()
    flags = {
        name: (pl.col(_normalised_column(name)).is_not_null() & pl.col(name).is_null()).alias(f"{_HIDDEN}bad__{name}")
        for name in issue_kinds
    }
    lf = lf.with_columns(flags.values())

    defaults = []
    for f in e.fields:
        if f.name not in sources:
            default = _default_value(f, received) if f.default is not None and f.default_when is None else None
            defaults.append((default if default is not None else pl.lit(None, DTYPES[f.type])).alias(f.name))
    lf = lf.with_columns(defaults)
    conditional = []
    for f in e.fields:
        if f.name in sources and f.default == RECEIVED_AT and f.default_when is None:
            # A receipt stamp (报送时间/更新时间) left blank is the time of receipt, as when its column is
            # absent; a value that failed to parse keeps its TYPE issue.
            conditional.append(
                pl.when(pl.col(_normalised_column(f.name)).is_null()).then(_default_value(f, received))
                .otherwise(pl.col(f.name)).alias(f.name)
            )
        if f.default is None or f.default_when is None:
            continue
        empty = pl.col(_normalised_column(f.name)).is_null() if f.name in sources else pl.lit(True)
        conditional.append(
            pl.when(empty & _condition(f.default_when, e)).then(_default_value(f, received))
            .otherwise(pl.col(f.name)).alias(f.name)
        )
    if conditional:
        lf = lf.with_columns(conditional)
    if "updated_at" in e.field_names:
        given = pl.col(_normalised_column("updated_at")).is_not_null() if "updated_at" in sources else pl.lit(False)
        lf = lf.with_columns(given.alias(UPDATED_AT_GIVEN))
    df = _with_issues(lf.collect(), issue_kinds)
    out = df.select(*e.field_names, FILE, ROW_NO, RAW, ISSUES, *([UPDATED_AT_GIVEN] if UPDATED_AT_GIVEN in df.columns else []))
    if rule.distinct:
        # Issues count: a row whose date failed to parse is not "the same" as one with no date.
        out = out.unique(subset=[*e.field_names, ISSUES], keep="first", maintain_order=True)
    return out


def _mapped_fields(df: pl.DataFrame, stages: dict[str, tuple[pl.Expr, pl.Expr, bool]]) -> pl.DataFrame:
    """Normalise and type every field. A field with few distinct received values (codes, dates, the
    group columns repeated on every roster row) is computed on those values and joined back."""
    per_row, per_value = [], []
    for name, (normalised, typed, by_value) in stages.items():
        raw_col = _raw_column(name)
        column = df.get_column(raw_col)
        # Estimate from the first rows, so unique identifiers are never hashed in full for nothing.
        sample = column.head(SAMPLE_ROWS)
        if by_value and len(sample) >= BY_VALUE_ROWS and sample.n_unique() * DISTINCT_RATIO <= len(sample):
            distinct = column.unique().drop_nulls().to_frame().with_columns(normalised).with_columns(typed)
            per_value.append((raw_col, distinct))
        else:
            per_row.append((normalised, typed))
    if per_row:
        df = df.with_columns(n for n, _ in per_row).with_columns(t for _, t in per_row)
    joins = []
    for raw_col, values in per_value:
        if any(isinstance(values.schema[c], pl.List) for c in values.columns):
            joins.append(values)
            continue
        df = df.with_columns(
            pl.col(raw_col).replace_strict(values[raw_col], values[c], default=None, return_dtype=values.schema[c]).alias(c)
            for c in values.columns[1:]
        )
    for values in joins:
        # A source column may carry the field's own name (the canonical format): the value replaces it.
        df = df.drop(values.columns[1:], strict=False)
        df = df.join(values, on=values.columns[0], how="left", maintain_order="left")
    return df


def _raw_column(name: str) -> str:
    return f"{_HIDDEN}raw__{name}"


def _normalised_column(name: str) -> str:
    return f"{_HIDDEN}n__{name}"


def _with_issues(df: pl.DataFrame, kinds: dict[str, _IssueKind]) -> pl.DataFrame:
    """Add `_issues`. Issue structs are built only on the rows that have one (usually few)."""
    empty = pl.lit([], dtype=ISSUES_DTYPE)
    flag_columns = [f"{_HIDDEN}bad__{name}" for name in kinds]
    if not flag_columns or not df.select(pl.any_horizontal(flag_columns).any()).item():
        return df.with_columns(empty.alias(ISSUES))  # the usual chunk: one pass over the flags, no filters
    index = f"{_HIDDEN}index"
    indexed = df.with_row_index(index)
    # Long form (one row per issue) then grouped: far cheaper than lists of mostly-null structs.
    parts = [
        indexed.filter(pl.col(f"{_HIDDEN}bad__{name}")).select(
            index,
            pl.struct(rule=pl.lit(kind.rule), severity=pl.lit("ERROR"), field=pl.lit(name),
                      value=pl.col(_raw_column(name)), message=kind.message).cast(ISSUE).alias(ISSUES),
        )
        for name, kind in kinds.items()
    ]
    found = pl.concat(parts)
    if found.height == 0:
        return df.with_columns(empty.alias(ISSUES))
    issues = found.group_by(index, maintain_order=True).agg(pl.col(ISSUES))
    return (
        indexed.join(issues, on=index, how="left", maintain_order="left")
        .with_columns(pl.col(ISSUES).fill_null(empty))
        .drop(index)
    )
