"""GB/T 2260 division codes, from the versioned tables in `reference/` (see its README).

Two sets, on purpose: agency addresses must use a *current* code (DIVISION_CODE), while an ID
number's address code only has to have existed at *some* time (RIC_COUNTY_UNKNOWN): codes stay in
ID numbers after re-districting, and were assigned when the number was issued, not at birth.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl

REFERENCE = Path(__file__).parent / "reference"

# Province-level prefixes (GB/T 2260) plus 83, which only residence permits of Taiwan residents use.
RESIDENCE_PERMIT_PREFIXES = ("81", "82", "83")


@cache
def current() -> pl.DataFrame:
    """code, name, level (province / prefecture / county), parent: the current GB/T 2260 set."""
    return pl.read_csv(REFERENCE / "divisions.csv", schema_overrides={"code": pl.String, "parent": pl.String})


@cache
def ever_valid() -> pl.DataFrame:
    """code, name, valid_from, valid_to: every code that was valid at some time."""
    return pl.read_csv(
        REFERENCE / "ric_address_codes.csv",
        schema_overrides={"code": pl.String, "valid_from": pl.String, "valid_to": pl.String},
    )


@cache
def current_codes() -> pl.Series:
    return current()["code"]


@cache
def ever_valid_codes() -> pl.Series:
    return ever_valid()["code"]


@cache
def province_codes() -> tuple[str, ...]:
    """Two-digit province codes (incl. 71 Taiwan, 81 Hong Kong, 82 Macao)."""
    provinces = current().filter(pl.col("level") == "province")["code"].str.slice(0, 2)
    return tuple(sorted(provinces.to_list()))


@cache
def province_names() -> dict[str, str]:
    """Province name (full and short, e.g. 辽宁省 / 辽宁) -> two-digit code."""
    names: dict[str, str] = {}
    for code, name in current().filter(pl.col("level") == "province").select("code", "name").iter_rows():
        names[name] = code[:2]
        for suffix in ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市"):
            if name.endswith(suffix):
                names[name.removesuffix(suffix)] = code[:2]
                break
    return names


def ric_province_codes() -> tuple[str, ...]:
    return tuple(sorted(set(province_codes()) | set(RESIDENCE_PERMIT_PREFIXES)))
