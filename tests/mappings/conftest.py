"""Build SourceFrames in memory, the way the file readers hand them over (strings, `__row`)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from tourlink.frames import ROW, SourceFrame

RECEIVED_AT = datetime(2024, 5, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def source_frame(columns: dict[str, list], *, file: str = "upload.xlsx", first_row: int = 2,
                 numeric_cells: dict[str, list[bool]] | None = None) -> SourceFrame:
    data = pl.DataFrame(columns, schema_overrides={k: pl.String for k, v in columns.items()
                                                   if all(x is None or isinstance(x, str) for x in v)})
    data = data.with_columns(pl.int_range(first_row, first_row + data.height, dtype=pl.Int64).alias(ROW))
    flags = {k: pl.Series(v, dtype=pl.Boolean) for k, v in (numeric_cells or {}).items()}
    return SourceFrame(data=data, file=file, numeric_cells=flags)


@pytest.fixture
def received_at() -> datetime:
    return RECEIVED_AT
