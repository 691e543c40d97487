"""Workbook cells as text, column by column, keeping which cells were numbers.

Every data cell becomes text:
- text as-is (surrounding whitespace kept, empty → null);
- integer-valued numbers below 1e15 without `.0` (`13800138000`);
- every other number as Python `repr` (`1.5`, `2.101021990010112e+17`): a float at or above 1e15
  cannot hold an 18-digit ID, so it is never turned back into digits that look like an ID;
- date cells `YYYY-MM-DD`, date-time cells `YYYY-MM-DD HH:MM:SS`, times `HH:MM:SS`;
- booleans `true` / `false`.
The numeric flags let mapping reject a lost 18-digit ID (`EXCEL_NUMERIC_ID`) instead of guessing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import polars as pl


def cell_text(value: object) -> str | None:
    """One workbook cell as text; empty cells are None."""
    kind = type(value)
    if kind is str:
        return value or None  # type: ignore[return-value]
    if value is None:
        return None
    if kind is float:
        return float_text(value)  # type: ignore[arg-type]
    if kind is int:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is datetime:
        return value.strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[attr-defined]
    if kind is date:
        return value.isoformat()  # type: ignore[attr-defined]
    if kind is time:
        return value.strftime("%H:%M:%S")  # type: ignore[attr-defined]
    if kind is timedelta:
        return str(value)
    return str(value)


def float_text(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def render_column(name: str, values: Sequence[object]) -> tuple[pl.Series, pl.Series]:
    """(text, was-a-number) for one column of a block of rows.

    Text columns (the usual case) convert in one step; numbers are rendered column-wise; only
    the rare date/bool cells take a per-cell path.
    """
    kinds = set(map(type, values))
    if kinds <= {str}:
        text = pl.Series(name, values, dtype=pl.String).replace("", None)
        return text, pl.Series(name, [False] * len(values), dtype=pl.Boolean)
    is_number = pl.Series(name, [type(v) is float or type(v) is int for v in values], dtype=pl.Boolean)
    floats = pl.Series(
        name, [float(v) if type(v) is float or type(v) is int else None for v in values], dtype=pl.Float64
    )
    others = pl.Series(
        name, [None if type(v) is float or type(v) is int else cell_text(v) for v in values], dtype=pl.String
    )
    return others.fill_null(float_column_text(floats)), is_number


def float_column_text(floats: pl.Series) -> pl.Series:
    """Column-wise `float_text`: integers below 1e15 without `.0`, the rest via `repr`."""
    integral = ((floats.abs() < 1e15) & (floats == floats.floor())).fill_null(False)
    text = pl.select(pl.when(integral).then(floats.cast(pl.Int64, strict=False).cast(pl.String))).to_series()
    rest = (~integral & floats.is_not_null()).arg_true()
    if len(rest):
        text = text.scatter(rest, [repr(v) for v in floats.gather(rest).to_list()])
    return text.alias(floats.name)
