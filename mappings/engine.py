"""Apply a mapping YAML: one `SourceFrame` in, one typed, normalised frame per canonical entity out.

The format is described in docs/architecture.md ("Mapping YAML") and mappings/README.md. Everything
here builds polars expressions once per mapping and runs them over whole columns (the hot path of
every import); the only Python loops are over fields, never over rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import yaml

from mappings import dates
from mappings.countries import country_lookup
from mappings.normalise import (
    code_key,
    code_text,
    name_text,
    nfc,
    nfkc,
    normalise_header,
    normalised_value,
    placeholders_to_null,
)
from mappings.regions import province_lookup, province_names
from tourlink import schema
from tourlink.frames import FILE, ISSUE, ISSUES, ISSUES_DTYPE, RAW, ROW, ROW_NO, SourceFrame

TEMPLATE_DIR = Path(__file__).parent / "templates"
SOURCE_DIR = Path(__file__).parent / "sources"
CANONICAL_PREFIX = "canonical:"

DTYPES: dict[str, pl.DataType] = {
    "str": pl.String(),
    "int": pl.Int64(),
    "decimal": pl.Decimal(14, 2),
    "date": pl.Date(),
    "timestamp": dates.UTC_DTYPE,
    "bool": pl.Boolean(),
    "json": pl.String(),
    "list": pl.List(pl.String),
    "set": pl.List(pl.String),
}
BOOLEANS = {
    "是": True, "否": False, "Y": True, "N": False, "YES": True, "NO": False, "1": True, "0": False,
    "1.0": True, "0.0": False, "TRUE": True, "FALSE": False, "T": True, "F": False,
}
TYPE_HINTS = {
    "int": "整数",
    "decimal": "金额（数字，最多两位小数）",
    "date": "日期，请使用YYYY-MM-DD",
    "timestamp": "时间，请使用YYYY-MM-DD HH:MM:SS",
    "bool": "是/否",
}
_DIRECTIVES = {"from", "map", "split", "format", "scale", "const"}
_ENTITY_KEYS = {"fields", "distinct", "explode", "when"}
_WHEN = re.compile(r"^\s*(?P<column>.+?)\s+not\s+null\s*$", re.IGNORECASE)
SAMPLE_ROWS = 20_000
DISTINCT_RATIO = 4  # compute per distinct value when values repeat at least this often on average
_HIDDEN = "__"  # prefix of the engine's working columns (ROW too)
PAGE_FILE = "__file"  # optional per-row raw input name, overriding SourceFrame.file


class NoMappingFound(LookupError):
    """No template or canonical format matches a file's headers (the message says what would)."""


@dataclass(frozen=True)
class FieldRule:
    """How one canonical field is filled: a source column (or constant) and its directives."""

    source: str | None = None
    const: Any = None
    map: dict[str, str] | None = None
    split: tuple[str, ...] | None = None
    format: str | None = None
    scale: float | None = None


@dataclass(frozen=True)
class EntityRule:
    entity: schema.Entity
    fields: dict[str, FieldRule]
    distinct: bool = False
    explode: str | None = None
    when: str | None = None


@dataclass(frozen=True)
class Mapping:
    """A loaded mapping. `headers` = "schema" (Chinese headers + aliases) or "canonical" (field names)
    fills every field not listed from the source column of that name; None maps listed fields only."""

    name: str
    rules: dict[str, EntityRule]
    description: str = ""
    detect_headers: tuple[str, ...] = ()
    headers: str | None = None
    split: tuple[str, ...] = ()
    path: Path | None = field(default=None, compare=False)

    @property
    def entities(self) -> tuple[str, ...]:
        return tuple(self.rules)

    def apply(self, frame: SourceFrame, *, received_at: datetime, source: str) -> dict[str, pl.DataFrame]:
        """Map `frame` onto each entity of this mapping (see docs/architecture.md, Mapping → validator).

        `received_at` fills `$received_at` defaults; `source` names the connector (for messages).
        """
        received = _as_utc(received_at)
        data = _with_numeric_flags(frame)
        columns = _column_index(frame.data.columns)
        return {
            name: _apply_entity(self, rule, data, columns, frame.file, received, source)
            for name, rule in self.rules.items()
        }


# --------------------------------------------------------------------------------------- loading


def _field_rule(entity: schema.Entity, name: str, spec: Any, where: str) -> FieldRule:
    if name not in entity.field_names:
        raise ValueError(f"{where}: {entity.name} has no field {name!r}; fields: {', '.join(entity.field_names)}")
    if isinstance(spec, str):
        return FieldRule(source=spec)
    if not isinstance(spec, dict) or not spec.keys() <= _DIRECTIVES:
        raise ValueError(f"{where}: {entity.name}.{name} must be a column name or a dict of {sorted(_DIRECTIVES)}")
    split = spec.get("split")
    return FieldRule(
        source=spec.get("from"),
        const=spec.get("const"),
        map={str(k): str(v) for k, v in spec["map"].items()} if spec.get("map") else None,
        split=(split,) if isinstance(split, str) else tuple(split) if split else None,
        format=spec.get("format"),
        scale=spec.get("scale"),
    )


def _entity_rule(name: str, spec: dict[str, Any] | None, where: str) -> EntityRule:
    entity = schema.entity(name)
    spec = spec or {}
    unknown = spec.keys() - _ENTITY_KEYS
    if unknown:
        raise ValueError(f"{where}: {name}: unknown keys {sorted(unknown)}; allowed {sorted(_ENTITY_KEYS)}")
    when = None
    if spec.get("when"):
        match = _WHEN.match(str(spec["when"]))
        if not match:
            raise ValueError(f"{where}: {name}.when must read '<column> not null'")
        when = match["column"]
    fields = {k: _field_rule(entity, k, v, where) for k, v in (spec.get("fields") or {}).items()}
    return EntityRule(entity, fields, bool(spec.get("distinct")), spec.get("explode"), when)


def parse_mapping(spec: dict[str, Any], where: str = "<mapping>", path: Path | None = None) -> Mapping:
    """A mapping from its YAML document (already parsed)."""
    if "name" not in spec or not spec.get("entities"):
        raise ValueError(f"{where}: a mapping needs `name` and `entities`")
    headers = spec.get("headers")
    if headers not in (None, "schema", "canonical"):
        raise ValueError(f"{where}: headers must be 'schema' or 'canonical'")
    split = spec.get("split") or ()
    return Mapping(
        name=spec["name"],
        description=spec.get("description", ""),
        detect_headers=tuple((spec.get("detect") or {}).get("headers", ())),
        headers=headers,
        split=(split,) if isinstance(split, str) else tuple(split),
        rules={k: _entity_rule(k, v, where) for k, v in spec["entities"].items()},
        path=path,
    )


def _read(path: Path) -> Mapping:
    return parse_mapping(yaml.safe_load(path.read_text(encoding="utf-8")), str(path), path)


def canonical_mapping(entity: str) -> Mapping:
    """The canonical exchange format of one entity: canonical field names as headers, lists `|`."""
    return Mapping(
        name=f"{CANONICAL_PREFIX}{entity}",
        description=f"规范格式：{schema.entity(entity).label}",
        headers="canonical",
        rules={entity: EntityRule(schema.entity(entity), {})},
    )


@cache
def templates() -> tuple[Mapping, ...]:
    """The built-in import templates (SPEC section 5), in file-name order."""
    return tuple(_read(p) for p in sorted(TEMPLATE_DIR.glob("*.yaml")))


def load_mapping(name_or_path: str | Path) -> Mapping:
    """A template (`roster_template`), a canonical format (`canonical:tour_group`), a source mapping
    (`signed_json` → mappings/sources/signed_json.yaml) or a YAML file path."""
    text = str(name_or_path)
    if text.startswith(CANONICAL_PREFIX):
        return canonical_mapping(text[len(CANONICAL_PREFIX):])
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return _read(path)
    for folder in (TEMPLATE_DIR, SOURCE_DIR):
        candidate = folder / f"{text}.yaml"
        if candidate.exists():
            return _read(candidate)
    known = [p.stem for d in (TEMPLATE_DIR, SOURCE_DIR) for p in sorted(d.glob("*.yaml"))]
    raise KeyError(f"unknown mapping {text!r}; known: {', '.join(known)}, canonical:<entity>")


# ------------------------------------------------------------------------------------- detection


def _header_variants(entity: schema.Entity, header: str) -> set[str]:
    """A Chinese header and the aliases of the field it names (normalised)."""
    variants = {normalise_header(header)}
    for f in entity.fields:
        if normalise_header(f.header) == normalise_header(header):
            variants |= {normalise_header(h) for h in f.headers}
    return variants


def _template_score(template: Mapping, headers: set[str]) -> int | None:
    """How many file headers the template knows, or None when a detect header is missing."""
    entities = [r.entity for r in template.rules.values()]
    for wanted in template.detect_headers:
        variants = set().union(*(_header_variants(e, wanted) for e in entities))
        if not variants & headers:
            return None
    known = {normalise_header(h) for e in entities for f in e.fields for h in f.headers}
    for rule in template.rules.values():
        known |= {normalise_header(r.source) for r in rule.fields.values() if r.source}
    return len(known & headers)


def _canonical_entity(headers: set[str], entity: str | None) -> str | None:
    best: tuple[int, int, str] | None = None
    for e in schema.entities().values():
        if entity and e.name != entity:
            continue
        names = set(e.field_names)
        if not set(e.natural_key) <= headers:
            continue
        score = (len(names & headers), -len(names), e.name)
        if best is None or score > best:
            best = score
    return best[2] if best else None


def detect_mapping(headers: Sequence[str], *, entity: str | None = None) -> Mapping:
    """The import template or canonical format a file's header row belongs to."""
    normalised = {normalise_header(h) for h in headers if h is not None}
    canonical = _canonical_entity(normalised, entity)
    if canonical:
        return canonical_mapping(canonical)
    scored = [
        (score, t)
        for t in templates()
        if (entity is None or entity in t.rules) and (score := _template_score(t, normalised)) is not None
    ]
    if scored:
        return max(scored, key=lambda st: st[0])[1]
    expected = "；".join(f"{t.description}（{'、'.join(t.detect_headers)}）" for t in templates())
    raise NoMappingFound(
        f"表头无法识别为任何导入模板。应为以下之一：{expected}；或规范格式（英文字段名表头）。"
        f"收到的表头：{'、'.join(h for h in headers if h)}"
    )


@cache
def known_headers() -> frozenset[str]:
    """Every Chinese header, alias and canonical field name (raw and normalised)."""
    names: set[str] = set()
    for e in schema.entities().values():
        for f in e.fields:
            for h in (*f.headers, f.name):
                names |= {h, normalise_header(h)}
    return frozenset(names)


# ---------------------------------------------------------------------------------------- apply


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


@dataclass
class _Source:
    """A resolved source: the expression, its dtype, and the source column it came from."""

    expr: pl.Expr
    dtype: pl.DataType
    column: str


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


def _code_dict(f: schema.Field) -> dict[str, str] | None:
    if f.codes in (None, "division", "destination"):
        return None
    if f.codes == "country":
        return country_lookup()
    if f.codes == "province":
        return province_lookup()
    return code_list_lookup(f.codes)


@cache
def code_list_lookup(name: str) -> dict[str, str]:
    """Normalised canonical value, Chinese label or synonym → canonical value."""
    lookup = {}
    for value, labels in schema.code_lists()[name].labels.items():
        for spelling in (value, *labels):
            lookup.setdefault(code_key(spelling), value)
    return lookup


def _code_message(f: schema.Field) -> str:
    if f.codes == "country":
        return "不是可识别的国家或地区，应为ISO 3166代码（如JPN、JP）或中文名称（如日本）"
    if f.codes == "province":
        return "不是可识别的省份，应为省级区划代码（如21）或省份名称（如辽宁）"
    labels = [labels[0] for labels in schema.code_lists()[f.codes].labels.values()]
    return f"不在代码表中，应为：{'、'.join(labels)}"


@dataclass(frozen=True)
class _IssueKind:
    """The one mapping rule a field can fail: it fired where the input was non-null but the value is null."""

    rule: str
    message: pl.Expr


def _quoted(f: schema.Field, raw: pl.Expr, suffix: str) -> pl.Expr:
    return pl.concat_str(pl.lit(f"{f.header}“"), raw.fill_null(""), pl.lit(f"”{suffix}"))


def _separator_regex(seps: Sequence[str]) -> str:
    return "|".join(re.escape(s) for s in sorted({"|", *seps}, key=len, reverse=True))


def _normalised(f: schema.Field, raw: pl.Expr, frule: FieldRule, default_split: tuple[str, ...]) -> pl.Expr:
    """Stage 1: the received text with `map`, the field's norm and null placeholders applied.
    List fields come out as List(String) of normalised, non-empty items."""
    text = raw
    if frule.map:
        text = text.str.strip_chars().replace(frule.map)
    is_list = f.type in ("list", "set")
    norm = "code" if (f.codes and f.codes != "destination") else f.norm
    if is_list:
        whole = nfkc(text) if norm == "code" else nfc(text)
        seps = frule.split if frule.split is not None else default_split
        items = whole.str.replace_all(_separator_regex(seps), "\x1f").str.split("\x1f")
        item = pl.element()
        item = code_text(item) if norm == "code" else name_text(item) if norm == "name" else item.str.strip_chars()
        items = items.list.eval(placeholders_to_null(item)).list.drop_nulls()
        return pl.when(items.list.len() > 0).then(items)
    if f.type == "json":
        return placeholders_to_null(text)
    return normalised_value(text, norm)


def _destination_item(item: pl.Expr) -> pl.Expr:
    key = code_text(item)
    country = key.replace_strict(country_lookup(), default=None, return_dtype=pl.String)
    province = key.replace_strict(province_names(), default=None, return_dtype=pl.String)
    return pl.coalesce(country, province, item)


def _typed(f: schema.Field, n: pl.Expr, raw: pl.Expr, frule: FieldRule, src: _Source | None,
           numeric: pl.Expr | None) -> tuple[pl.Expr, _IssueKind | None]:
    """Stage 2: the typed canonical value and the mapping rule (TYPE, CODE_LIST, EXCEL_NUMERIC_ID) that
    fired wherever the input was non-null but the value is null."""
    issue: _IssueKind | None = None
    codes = _code_dict(f)
    if f.type in ("list", "set"):
        if f.codes == "destination":
            value = n.list.eval(_destination_item(pl.element()))
        elif codes is not None:
            mapped = n.list.eval(pl.element().replace_strict(codes, default=None, return_dtype=pl.String))
            bad = mapped.list.eval(pl.element().is_null()).list.any()
            issue = _IssueKind("CODE_LIST", _quoted(f, raw, _code_message(f)))
            value = pl.when(~bad).then(mapped)
        else:
            value = n
        if f.type == "set":
            value = value.list.unique().list.sort()
        return value, issue
    if codes is not None:
        value = n.replace_strict(codes, default=None, return_dtype=pl.String)
        return value, _IssueKind("CODE_LIST", _quoted(f, raw, _code_message(f)))
    if f.type == "str":
        if f.codes == "division":
            return n.str.replace(r"^(\d+)\.0+$", "$1"), issue
        if f.norm == "code" and numeric is not None:
            lost = numeric & n.is_not_null() & (
                n.str.contains(r"E") | (n.str.replace(r"\.0+$", "").str.count_matches(r"\d") > 15)
            )
            issue = _IssueKind("EXCEL_NUMERIC_ID", pl.concat_str(
                pl.lit(f"{f.header}单元格为数字格式，后几位已丢失（"), raw.fill_null(""),
                pl.lit("），请将该列设为文本后重新填写")))
            exact = pl.when(numeric.fill_null(False)).then(n.str.replace(r"^(\d+)\.0+$", "$1")).otherwise(n)
            return pl.when(lost.fill_null(False)).then(None).otherwise(exact), issue
        return n, issue
    if f.type == "json":
        return n, issue
    if f.type == "date" and src is not None and src.dtype == pl.Date:
        return src.expr, issue
    if f.type == "timestamp" and src is not None and isinstance(src.dtype, pl.Datetime):
        stamp = src.expr.dt.cast_time_unit("us")
        return (stamp.dt.convert_time_zone("UTC") if src.dtype.time_zone else dates._local_to_utc(stamp)), issue
    if f.type == "int":
        digits = n.str.replace_all(",", "")
        ok = digits.str.contains(r"^[+-]?\d+(\.0*)?$")
        value = pl.when(ok).then(digits.str.replace(r"\.0*$", "")).cast(pl.Int64, strict=False)
        if frule.scale is not None:
            value = (value * frule.scale).round(0).cast(pl.Int64)
    elif f.type == "decimal":
        digits = n.str.replace_all(r"[,¥￥元\s]", "")
        ok = digits.str.contains(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
        value = pl.when(ok).then(digits).cast(pl.Decimal(38, 6), strict=False)
        if frule.scale is not None:
            value = value * pl.lit(str(frule.scale)).cast(pl.Decimal(38, 6))
        value = value.round(2, mode="half_away_from_zero").cast(pl.Decimal(14, 2), strict=False)
    elif f.type == "date":
        value = dates.parse_date(n, frule.format)
    elif f.type == "timestamp":
        value = dates.parse_timestamp(n, frule.format)
    elif f.type == "bool":
        value = n.str.to_uppercase().replace_strict(BOOLEANS, default=None, return_dtype=pl.Boolean)
    else:  # pragma: no cover - schema.FIELD_TYPES is closed
        raise ValueError(f"unknown type {f.type}")
    hint = TYPE_HINTS[f.type]
    return value, _IssueKind("TYPE", _quoted(f, raw, f"无法识别为{hint}"))


def _default_value(f: schema.Field, received: datetime) -> pl.Expr:
    value = received if f.default == "$received_at" else f.default
    if f.type in ("list", "set"):
        return pl.lit([str(value)], dtype=DTYPES[f.type])
    return pl.lit(value).cast(DTYPES[f.type])


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
        if f.default is None or f.default_when is None:
            continue
        empty = pl.col(_normalised_column(f.name)).is_null() if f.name in sources else pl.lit(True)
        conditional.append(
            pl.when(empty & _condition(f.default_when, e)).then(_default_value(f, received))
            .otherwise(pl.col(f.name)).alias(f.name)
        )
    if conditional:
        lf = lf.with_columns(conditional)
    df = _with_issues(lf.collect(), issue_kinds)
    out = df.select(*e.field_names, FILE, ROW_NO, RAW, ISSUES)
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
        if by_value and sample.n_unique() * DISTINCT_RATIO <= len(sample):
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
