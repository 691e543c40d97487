"""Dates and timestamps in every form SPEC section 1 accepts, parsed column-wise.

Forms: `YYYY-MM-DD`, `YYYY/M/D`, `YYYYMMDD`, `YYYY年M月D日`, `YYYY.M.D`, Excel serial numbers, each
optionally followed by `HH:MM[:SS[.f]]`, and ISO 8601 with an offset (`Z`, `+08:00`). A timestamp
without an offset is Asia/Shanghai; every timestamp comes out as `Datetime("us", "UTC")`.
Anything else is null (the engine turns that into a `TYPE` issue).
"""

from __future__ import annotations

import polars as pl

from tourlink.frames import DTYPES

LOCAL_TZ = "Asia/Shanghai"
UTC_DTYPE = DTYPES["timestamp"]

# Date with separators, optional time, optional offset.
_SEPARATED = (
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6})\d*)?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_COMPACT = r"^(\d{4})(\d{2})(\d{2})(?:[ T]?(\d{2})(\d{2})(\d{2})?)?$"
_SERIAL = r"^\d{1,5}(?:\.\d+)?$"
_LONE_YEAR = r"^(19|20)\d\d$"  # "2024" typed into a date cell is a year, not serial 2024 (1905-07-16)
EXCEL_EPOCH = pl.datetime(1899, 12, 30)


def _parts(expr: pl.Expr) -> dict[str, pl.Expr]:
    """Year … microsecond and offset (minutes) from either layout, as zero-padded text / ints."""
    text = expr.str.strip_chars()
    sep = text.str.extract_groups(_SEPARATED)
    compact = text.str.extract_groups(_COMPACT)
    names = ("y", "m", "d", "H", "M", "S")
    parts = {}
    for i, name in enumerate(names, start=1):
        parts[name] = pl.coalesce(sep.struct.field(str(i)), compact.struct.field(str(i)))
    parts["f"] = sep.struct.field("7")
    offset = sep.struct.field("8")
    sign = pl.when(offset.str.starts_with("-")).then(-1).otherwise(1)
    digits = offset.str.replace_all(r"[+\-:]", "")
    minutes = digits.str.slice(0, 2).cast(pl.Int64, strict=False) * 60 + digits.str.slice(2, 2).cast(
        pl.Int64, strict=False
    )
    parts["offset"] = pl.when(offset == "Z").then(0).otherwise(sign * minutes)
    return parts


def _pad(expr: pl.Expr, width: int, fill: str = "0") -> pl.Expr:
    return expr.fill_null(fill).str.zfill(width)


def _serial(expr: pl.Expr) -> pl.Expr:
    """Excel serial (days since 1899-12-30, fraction = time of day) as a naive Datetime."""
    text = expr.str.strip_chars()
    days = pl.when(text.str.contains(_SERIAL) & ~text.str.contains(_LONE_YEAR)).then(text).cast(pl.Float64, strict=False)
    micros = (days * 86_400_000_000).round(0).cast(pl.Int64)
    return EXCEL_EPOCH + pl.duration(microseconds=micros)


def _fast_then_general(series: pl.Series, fast: pl.Expr, general) -> pl.Series:
    """Parse the usual form with one strptime; only the rows it misses take the general parser."""
    frame = series.str.strip_chars().alias("v").to_frame()
    parsed = frame.select(fast).to_series()
    missed = parsed.is_null() & frame["v"].is_not_null()
    if not missed.any():
        return parsed
    rest = frame.filter(missed).select(general(pl.col("v")).alias("v")).to_series()
    return parsed.scatter(missed.arg_true(), rest)


def parse_date(expr: pl.Expr, fmt: str | None = None) -> pl.Expr:
    """String column → Date (null where no accepted form matches or the date does not exist)."""
    if fmt:
        return expr.str.strip_chars().str.to_date(fmt, strict=False)
    fast = pl.col("v").str.to_date("%Y-%m-%d", strict=False)
    return expr.map_batches(
        lambda s: _fast_then_general(s, fast, _general_date), return_dtype=pl.Date, is_elementwise=True
    )


def _general_date(expr: pl.Expr) -> pl.Expr:
    p = _parts(expr)
    text = pl.concat_str(p["y"], pl.lit("-"), _pad(p["m"], 2), pl.lit("-"), _pad(p["d"], 2))
    parsed = pl.when(p["y"].is_not_null()).then(text).str.to_date("%Y-%m-%d", strict=False)
    return pl.coalesce(parsed, _serial(expr).dt.date())


def parse_timestamp(expr: pl.Expr, fmt: str | None = None) -> pl.Expr:
    """String column → Datetime(us, UTC); naive values are Asia/Shanghai wall-clock time."""
    if fmt:
        parsed = expr.str.strip_chars().str.to_datetime(fmt, strict=False, time_unit="us")
        if "%z" in fmt or "%:z" in fmt or "%#z" in fmt:
            return parsed.dt.convert_time_zone("UTC")
        return _local_to_utc(parsed)
    fast = _local_to_utc(pl.col("v").str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us"))
    return expr.map_batches(
        lambda s: _fast_then_general(s, fast, _general_timestamp), return_dtype=UTC_DTYPE, is_elementwise=True
    )


def _general_timestamp(expr: pl.Expr) -> pl.Expr:
    p = _parts(expr)
    text = pl.concat_str(
        p["y"], pl.lit("-"), _pad(p["m"], 2), pl.lit("-"), _pad(p["d"], 2), pl.lit(" "),
        _pad(p["H"], 2), pl.lit(":"), _pad(p["M"], 2), pl.lit(":"), _pad(p["S"], 2), pl.lit("."),
        p["f"].fill_null("0").str.pad_end(6, "0"),
    )
    naive = pl.when(p["y"].is_not_null()).then(text).str.to_datetime(
        "%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us"
    )
    with_offset = (naive - pl.duration(minutes=p["offset"])).dt.replace_time_zone("UTC")
    local = pl.when(p["offset"].is_null()).then(_local_to_utc(naive)).otherwise(with_offset)
    return pl.coalesce(local, _local_to_utc(_serial(expr).dt.cast_time_unit("us")))


def _local_to_utc(naive: pl.Expr) -> pl.Expr:
    return naive.dt.replace_time_zone(LOCAL_TZ, ambiguous="earliest", non_existent="null").dt.convert_time_zone(
        "UTC"
    )
