"""Finding the table in a messy sheet: the header row, and which rows below it are data.

Shared by every tabular format (CSV and the workbook formats). Agencies' files carry a merged title
above the table, blank rows, a notes row and a 合计 row below it, and headers with required markers
(`*证件号码`, `证件号码(必填)`); the rules for those live here once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from connectors.files.errors import UnreadableFile
from tourlink.frames import ROW, SourceFrame
from tourlink.headers import normalise_header

HEADER_SEARCH_ROWS = 50
MIN_HEADER_MATCHES = 2
TOTAL_WORDS = ("合计", "总计", "小计")
# A notes row starts with one of these words followed by punctuation, a number or nothing.
NOTE_ROW = r"^(?:填表说明|注意事项|说明|备注|注意|注)(?:\s*[:：、.．\d(（]|$)"
NUMERIC_PREFIX = "\x00numeric\x00"  # temporary columns carrying numeric flags through filters


@dataclass(frozen=True)
class Header:
    index: int  # 0-based row (sheet row or physical CSV line) of the header
    columns: tuple[tuple[int, str], ...]  # (cell position in the row, output column name)


def find_header(rows: Sequence[Sequence[str]], known: frozenset[str]) -> Header | None:
    """The first row of the first 50 with enough known header texts (any non-empty row when none are known)."""
    needed = min(MIN_HEADER_MATCHES, len(known))
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        names = {normalise_header(cell) for cell in row} - {""}
        if (known and len(names & known) >= needed) or (not known and names):
            return Header(index=index, columns=header_columns(row))
    return None


def no_header_reason(rows: Sequence[Sequence[str]], known: frozenset[str]) -> tuple[str, str]:
    """(Chinese, English) of why `find_header` found nothing."""
    if known and any(any(c.strip() for c in row) for row in rows[:HEADER_SEARCH_ROWS]):
        needed = min(MIN_HEADER_MATCHES, len(known))
        return (
            f"无法识别表头：前{HEADER_SEARCH_ROWS}行中没有与导入模板匹配的列名",
            f"no header row: none of the first {HEADER_SEARCH_ROWS} rows has at least {needed} known template headers",
        )
    return (
        f"无法识别表头：前{HEADER_SEARCH_ROWS}行都是空行",
        f"no header row: the first {HEADER_SEARCH_ROWS} rows are empty",
    )


def locate_header(path: Path, rows: Sequence[Sequence[str]], known: frozenset[str]) -> Header:
    """`find_header`, or `UnreadableFile` naming the file."""
    header = find_header(rows, known)
    if header is None:
        raise UnreadableFile(path.name, *no_header_reason(rows, known))
    return header


def header_columns(row: Sequence[str]) -> tuple[tuple[int, str], ...]:
    """Normalised header names; empty headers dropped, repeated ones suffixed `_2`, `_3`…"""
    columns: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for position, cell in enumerate(row):
        name = normalise_header(cell)
        if not name:
            continue
        seen[name] = seen.get(name, 0) + 1
        columns.append((position, name if seen[name] == 1 else f"{name}_{seen[name]}"))
    return tuple(columns)


def data_rows_only(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """Drop blank rows, notes rows (`注：…` alone on its row) and total rows (a cell 合计/总计/小计).

    Two passes: cheap literal tests over every row find the few suspects, and only those get the
    exact (regex, whitespace-folding) tests.
    """
    if not columns:
        return frame
    # One text per row (its cells joined) keeps the cheap pass to a handful of column operations.
    row_text = pl.concat_str(columns, separator=" ", ignore_nulls=True).fill_null("").str.strip_chars()
    flags = frame.select(
        keep=row_text.str.len_bytes() > 0,
        suspect=row_text.str.contains("计", literal=True) | row_text.str.slice(0, 1).is_in(["注", "说", "备", "填"]),
    )
    keep = flags.get_column("keep")
    suspects = flags.get_column("suspect").arg_true()
    if len(suspects):
        dropped = frame[suspects].select(_total_or_note_row(columns)).to_series()
        keep = keep.scatter(suspects.filter(dropped), False)
    return frame.filter(keep)


def _total_or_note_row(columns: Sequence[str]) -> pl.Expr:
    stripped = [pl.col(c).str.strip_chars() for c in columns]
    filled = [s.is_not_null() & (s != "") for s in stripped]
    is_total = pl.any_horizontal(
        [pl.col(c).str.replace_all(r"\s", "").str.strip_chars(":：").is_in(TOTAL_WORDS) for c in columns]
    ).fill_null(False)
    first = pl.coalesce([pl.when(f).then(s) for f, s in zip(filled, stripped, strict=True)])
    # A notes cell merged across the table is repeated in every column by the merge fill-down.
    alone = pl.all_horizontal([~f | (s == first) for f, s in zip(filled, stripped, strict=True)])
    is_note = (first.str.contains(NOTE_ROW) & alone).fill_null(False)
    return (is_total | is_note).alias("drop")


def is_filler_text(content: str) -> bool:
    """A line that holds nothing but a note or a total (CSV lines shorter than the table)."""
    return not content or bool(re.match(NOTE_ROW, content)) or any(w in content for w in TOTAL_WORDS)


def table_frame(
    path: Path, sheet: str | None, columns: dict[str, pl.Series], numeric: dict[str, pl.Series], rows: pl.Series
) -> SourceFrame:
    """The data rows of one block as a `SourceFrame`, numeric flags filtered alongside."""
    hidden = {f"{NUMERIC_PREFIX}{name}": flags for name, flags in numeric.items()}
    frame = pl.DataFrame({**columns, ROW: rows, **hidden})
    frame = data_rows_only(frame, list(columns))
    numeric_cells = {name: frame.get_column(f"{NUMERIC_PREFIX}{name}").alias(name) for name in numeric}
    return SourceFrame(data=frame.select(*columns, ROW), file=path.name, sheet=sheet, numeric_cells=numeric_cells)


def empty_frame(path: Path, sheet: str | None, names: list[str], *, numeric: bool) -> SourceFrame:
    """A table with a header and no data rows still yields one (empty) frame: mapping sees its headers."""
    data = pl.DataFrame({**{n: pl.Series(n, [], dtype=pl.String) for n in names}, ROW: pl.Series([], dtype=pl.Int64)})
    flags = {n: pl.Series(n, [], dtype=pl.Boolean) for n in names} if numeric else {}
    return SourceFrame(data=data, file=path.name, sheet=sheet, numeric_cells=flags)
