"""Conversion: a field's received text to its canonical value, typed, and the mapping rule it failed.

Two stages per field, both polars expressions built once per mapping: `_normalised` (the `map`,
the field's norm, null placeholders, list items split) and `_typed` (the typed value: codes resolved
to canonical values, numbers, dates, timestamps, booleans). Where the input was non-null but the
typed value is null, the field failed `TYPE`, `CODE_LIST` or `EXCEL_NUMERIC_ID` (`_IssueKind`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import polars as pl

from mappings import dates
from mappings.countries import country_lookup
from mappings.normalise import code_key, code_text, name_text, nfc, nfkc, normalised_value, placeholders_to_null
from mappings.regions import province_lookup, province_names
from mappings.spec import FieldRule
from tourlink import schema
from tourlink.frames import DTYPES

RECEIVED_AT = "$received_at"  # the default of the receipt stamps (报送时间/更新时间): the time the input arrived

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


@dataclass
class _Source:
    """A resolved source: the expression, its dtype, and the source column it came from."""

    expr: pl.Expr
    dtype: pl.DataType
    column: str


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
    value = received if f.default == RECEIVED_AT else f.default
    if f.type in ("list", "set"):
        return pl.lit([str(value)], dtype=DTYPES[f.type])
    return pl.lit(value).cast(DTYPES[f.type])
