"""SPEC section 1 string normalisation, as polars expressions over whole columns.

Polars has no Unicode normalisation, so NFKC/NFC run in Python on the *distinct* values that can
change (non-ASCII for NFKC, combining marks for NFC) and are written back with one `replace`: on
real data that is a handful of values, so the column stays column-wise.
"""

from __future__ import annotations

import re
import unicodedata

import polars as pl

from tourlink.headers import normalise_header  # noqa: F401  (re-exported: mapping's header rule)

NULL_PLACEHOLDERS = ("", "-", "—", "/", "无", "暂无", "n/a", "null", "未填写")
DASHES = "－—–‑−‐"  # unified to "-" in codes (U+2010 is what NFKC makes of U+2011)
MIDDLE_DOTS = "•・‧"  # unified to "·" (U+00B7) in names
_CJK = r"[\p{Han}]"


NON_ASCII = r"[^\x00-\x7F]"


def _candidates(series: pl.Series, pattern: str) -> pl.Series:
    """The values matching `pattern`; "any non-ASCII character" is told by byte vs character count,
    several times cheaper than the regex scan."""
    if pattern == NON_ASCII:
        return series.str.len_bytes() != series.str.len_chars()
    return series.str.contains(pattern)


def _unicode_series(series: pl.Series, form: str, candidates: str) -> pl.Series:
    """Apply `unicodedata.normalize(form)` to the distinct values matching `candidates` only."""
    mask = _candidates(series, candidates).fill_null(False)
    if not mask.any():
        return series
    distinct = series.filter(mask).unique().to_list()
    changed = {v: unicodedata.normalize(form, v) for v in distinct}
    changed = {k: v for k, v in changed.items() if k != v}
    if not changed:
        return series
    return series.replace(changed)


def nfkc(expr: pl.Expr) -> pl.Expr:
    """NFKC (full-width → half-width and other compatibility forms) of a String column."""
    return expr.map_batches(
        lambda s: _unicode_series(s, "NFKC", NON_ASCII), return_dtype=pl.String, is_elementwise=True
    )


def nfc(expr: pl.Expr) -> pl.Expr:
    """NFC: composes decomposed accents (rare, so only values with combining marks are touched)."""
    return expr.map_batches(
        lambda s: _unicode_series(s, "NFC", r"\p{M}"), return_dtype=pl.String, is_elementwise=True
    )


def code_text(expr: pl.Expr) -> pl.Expr:
    """Per-item part of `norm: code` (after NFKC): trim, upper-case, unified dashes, no spaces.
    The dashes are all non-ASCII, so only such values are searched (the rest are null there)."""
    non_ascii = pl.when(expr.str.len_bytes() != expr.str.len_chars()).then(expr)
    dashes = pl.coalesce(non_ascii.str.replace_all(f"[{DASHES}]", "-"), expr)
    return dashes.str.replace_all(r"\s+", "").str.to_uppercase()


def name_text(expr: pl.Expr) -> pl.Expr:
    """Per-item part of `norm: name` (after NFC): trim, one middle dot, no spaces in Chinese names."""
    expr = expr.str.replace_all(f"[{MIDDLE_DOTS}]", "·").str.strip_chars()
    chinese = expr.str.contains(_CJK).fill_null(False)
    return pl.when(chinese).then(expr.str.replace_all(r"\s+", "")).otherwise(expr.str.replace_all(r"\s+", " "))


def normalise(expr: pl.Expr, norm: str) -> pl.Expr:
    """The field's `norm` applied to a String column; placeholders are not handled here."""
    if norm == "code":
        return code_text(nfkc(expr))
    if norm == "name":
        return name_text(nfc(expr))
    return text_text(nfc(expr))


def text_text(expr: pl.Expr) -> pl.Expr:
    """Per-value part of `norm: text` (after NFC): trimmed."""
    return expr.str.strip_chars()


# Values these patterns match are already normal and cannot be placeholders (codes: printable ASCII
# without lower-case letters or spaces, 5+ characters; names: a Chinese character and no white space,
# middle-dot variant or combining mark, e.g. 王伟, 买买提·艾力; text: no combining mark and no white
# space at either end, e.g. 2026-05-01, and longer than any placeholder — see `_dirty`).
_ALREADY_NORMAL = {
    "code": r"^[!-`{-~]{5,}$",
    "name": rf"^[^\s{MIDDLE_DOTS}\p{{M}}]*\p{{Han}}[^\s{MIDDLE_DOTS}\p{{M}}]*$",
    "text": r"^[^\s\p{M}](?:[^\p{M}]*[^\s\p{M}])?$",
}
_UNICODE_FORM = {"code": ("NFKC", NON_ASCII), "name": ("NFC", r"\p{M}"), "text": ("NFC", r"\p{M}")}
_TEXT_STEP = {"code": code_text, "name": name_text, "text": text_text}
# Lower-casing keeps a placeholder's length (only ASCII letters lower-case to its n, u, l, a), so a
# value longer than every placeholder never is one.
_PLACEHOLDER_BYTES = max(len(p.encode()) for p in NULL_PLACEHOLDERS)


def _dirty(series: pl.Series, norm: str) -> pl.Series:
    """The values `norm` or the placeholder rule may change (the rest are returned as they are)."""
    dirty = ~series.str.contains(_ALREADY_NORMAL[norm]).fill_null(True) | series.is_in(list(NULL_PLACEHOLDERS))
    if norm == "text":  # the pattern does not exclude placeholders ("N/A", "null")
        dirty = dirty | (series.str.len_bytes() <= _PLACEHOLDER_BYTES).fill_null(False)
    return dirty


def _normalise_series(series: pl.Series, norm: str) -> pl.Series:
    """`placeholders_to_null(normalise(...))` on the dirty values only, one materialised step at a
    time: as one expression, the Unicode step (a Python UDF) ran once per use of its result."""
    dirty = _dirty(series, norm)
    if not dirty.any():
        return series
    values = _unicode_series(series.filter(dirty), *_UNICODE_FORM[norm]).alias("v").to_frame()
    texts = values.select(_TEXT_STEP[norm](pl.col("v")))
    fixed = texts.select(placeholders_to_null(pl.col("v"))).to_series()
    return series.scatter(dirty.arg_true(), fixed)


def normalised_value(expr: pl.Expr, norm: str) -> pl.Expr:
    """`norm` and null placeholders together. Clean values (most identifiers and Chinese names) are
    recognised with one regex scan and left alone; only the others go through every step."""
    if norm not in _ALREADY_NORMAL:
        return placeholders_to_null(normalise(expr, norm))
    return expr.map_batches(lambda s: _normalise_series(s, norm), return_dtype=pl.String, is_elementwise=True)


def placeholders_to_null(expr: pl.Expr) -> pl.Expr:
    """Null placeholders (`-`, `无`, `N/A`, empty, …) become null; compares trimmed and case-folded."""
    key = expr.str.strip_chars()
    # Only values as short as a placeholder can be one (see _PLACEHOLDER_BYTES): the rest skip the case fold.
    short = pl.when(key.str.len_bytes() <= _PLACEHOLDER_BYTES).then(key)
    return pl.when(short.str.to_lowercase().is_in(list(NULL_PLACEHOLDERS))).then(None).otherwise(expr)


def code_key(value: str) -> str:
    """Python twin of `norm: code`, for building the lookup dicts once (code lists, countries)."""
    value = unicodedata.normalize("NFKC", str(value))
    value = re.sub(f"[{DASHES}]", "-", value)
    return re.sub(r"\s+", "", value).upper()
