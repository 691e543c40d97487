"""Builders for canonical (mapped) frames and real identifiers, computed from the published
algorithms so tests never depend on a hard-coded check digit."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from tourlink.frames import DTYPES, ISSUES, ISSUES_DTYPE
from tourlink.schema import entity

TODAY = date(2026, 11, 23)
RIC_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def ric(address: str = "210102", birth: str = "19750315", seq: int = 123) -> str:
    """A resident ID number with a correct ISO 7064 MOD 11-2 check character."""
    body = f"{address}{birth}{seq:03d}"
    return body + check_char(body)


def check_char(body17: str) -> str:
    total = sum(int(c) * w for c, w in zip(body17, RIC_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def wrong_check(number: str) -> str:
    """The same number with a check character that is certainly wrong."""
    return number[:17] + ("0" if number[17] != "0" else "1")


def uscc(body17: str = "91210102MA0XXXXX0") -> str:
    """A unified social credit code with a correct GB 32100 check character."""
    weights = [3**i % 31 for i in range(17)]
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body17, weights, strict=True))
    return body17 + USCC_ALPHABET[(31 - total % 31) % 31]


def frame(name: str, rows: list[dict], issues: list[list[dict]] | None = None) -> pl.DataFrame:
    """A mapped frame as mapping hands it over: every canonical field typed, lineage, `_issues`."""
    ent = entity(name)
    schema = {f.name: DTYPES[f.type] for f in ent.fields}
    data = {f: [r.get(f) for r in rows] for f in schema}
    df = pl.DataFrame(data, schema=schema)
    return df.with_columns(
        pl.lit("test.xlsx").alias("_file"),
        pl.int_range(2, len(rows) + 2, dtype=pl.Int64).alias("_row"),
        pl.Series("_raw", [json.dumps(r, default=str, ensure_ascii=False) for r in rows], pl.String),
        pl.Series(ISSUES, issues or [[] for _ in rows], ISSUES_DTYPE),
    )


def rules_of(df: pl.DataFrame, row: int = 0) -> set[tuple[str, str | None]]:
    """(rule, field) of every issue of one row."""
    return {(i["rule"], i["field"]) for i in df[ISSUES][row]}


def rule_ids(df: pl.DataFrame, row: int = 0) -> set[str]:
    return {i["rule"] for i in df[ISSUES][row]}


@pytest.fixture
def today() -> date:
    return TODAY
