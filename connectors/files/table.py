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
_FIGURE = r"^[-+]?[\d,，.]+\s*(?:人|元|天|个|名|次|团|人次|万元)?$"
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


_CHEAP_ROWS = 20_000  # rows of the cheap pass at a time


def data_rows_only(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """Drop blank rows, notes rows and the trailing totals rows, recognised by shape and position,
    never by one cell's text (a tourist whose route is 合计 is data):

    - a notes row holds one value alone (`注：…`, `说明`; a merged cell repeats it in every column),
      a notes word followed by text or in a single cell: anywhere in the table;
    - a totals row starts with 合计/总计/小计, its other cells are figures (`22`, `3人`) or mostly
      empty, and only blank, notes or totals rows follow it (in this chunk).

    Two passes: cheap literal tests over every row find the few suspects, and only those get the
    exact (regex, whitespace-folding) tests.
    """
    if not columns or not frame.height:
        return frame
    # One text per row (its cells joined) keeps the cheap pass to a handful of column operations.
    # Lazily: the eager select has no common-subexpression elimination and built `row_text` twice
    # (171 vs 79 ms per 100k 12-column rows on one core).
    # In slices: the joined texts are ~1.4× the chunk's own strings, and a 100k-row chunk's at once
    # were 60 MB of an xlsx read's 400 MB peak (the flags are a few bytes a row).
    row_text = pl.concat_str(columns, separator=" ", ignore_nulls=True).fill_null("").str.strip_chars()
    cheap = [
        (row_text.str.len_bytes() > 0).alias("keep"),
        (row_text.str.contains("计", literal=True) | row_text.str.slice(0, 1).is_in(["注", "说", "备", "填"])).alias("suspect"),
    ]
    flags = pl.concat([part.lazy().select(cheap).collect() for part in frame.select(columns).iter_slices(_CHEAP_ROWS)])
    keep = flags.get_column("keep")
    suspects = flags.get_column("suspect").arg_true()
    if len(suspects):
        shapes = frame[suspects].select(_note_or_total_shape(columns))
        notes, totals = suspects.filter(shapes["note"]), suspects.filter(shapes["total"] & ~shapes["note"])
        keep = keep.scatter(notes, False)
        data = keep.clone().scatter(totals, False).arg_true()
        # A totals-shaped row with data below it is data: only the trailing ones are totals.
        keep = keep.scatter(totals.filter(totals > data[-1]) if len(data) else totals, False)
    # The usual chunk keeps every row: a filter would copy it whole while the original is still held.
    return frame if keep.all() else frame.filter(keep)


def _note_or_total_shape(columns: Sequence[str]) -> list[pl.Expr]:
    stripped = [pl.col(c).str.strip_chars() for c in columns]
    filled = [s.is_not_null() & (s != "") for s in stripped]
    count = pl.sum_horizontal(filled)
    first = pl.coalesce([pl.when(f).then(s) for f, s in zip(filled, stripped, strict=True)])
    folded = first.str.replace_all(r"\s", "").str.strip_chars(":：")
    # A notes cell merged across the table is repeated in every column by the merge fill-down.
    alone = pl.all_horizontal([~f | (s == first) for f, s in zip(filled, stripped, strict=True)])
    bare_word = first.str.replace_all(NOTE_ROW, "").str.strip_chars(" :：、.．").str.len_chars() == 0
    is_note = (first.str.contains(NOTE_ROW) & alone & ((count == 1) | ~bare_word)).fill_null(False)
    # The rest of a totals row is counts and sums (`22`, `3人`, `3,500.00元`) or mostly empty.
    figures = pl.all_horizontal(
        [~f | (s == first) | s.str.contains(_FIGURE) for f, s in zip(filled, stripped, strict=True)]
    )
    is_total = (folded.is_in(TOTAL_WORDS) & (figures | (count * 2 <= len(columns)))).fill_null(False)
    return [is_note.alias("note"), is_total.alias("total")]


def is_filler_line(text: str, delimiter: str) -> bool:
    """A short CSV line that is blank, a note, or a total labelled in its first field (never a cell
    somewhere in the line: a short tourist line whose route is 合计 is an error, not a filler)."""
    content = text.replace(delimiter, "").replace('"', "").strip()
    fields = [f.replace('"', "").strip() for f in text.split(delimiter)]
    label = next((f for f in fields if f), "")
    total = re.sub(r"\s", "", label).strip(":：") in TOTAL_WORDS
    return not content or bool(re.match(NOTE_ROW, content)) or total


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
