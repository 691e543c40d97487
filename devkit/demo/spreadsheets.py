"""Import-template files as agencies really fill them in (SPEC section 5), for tests and the demo.

Real uploads have a merged title row, blank rows, notes and a 合计 row around the table, group
columns merged over the rows of one group, and IDs or phones typed as numbers. These writers make
such files so the readers are exercised on the real thing, not on clean fixtures.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Sequence
from datetime import date, datetime
from pathlib import Path

import xlsxwriter

Cell = str | int | float | bool | date | datetime | None


def write_template_xlsx(
    path: Path,
    headers: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    *,
    title: str | None = None,
    notes: str | Sequence[str] | None = None,
    total_row: bool = False,
    blank_rows_at: Collection[int] = (),
    merge_columns: Collection[str] = (),
    numeric_columns: Collection[str] = (),
) -> list[int]:
    """Write an import template; return the sheet row number (1-based) of each of `rows`.

    `title` is merged across the table above a blank row; `blank_rows_at` are indexes into `rows`
    before which an empty row is inserted; `merge_columns` merges identical consecutive values of
    those columns vertically (as agencies do for 团号); `numeric_columns` writes those cells as
    numbers (an ID typed into Excel without a leading apostrophe). Strings are always written as
    text, dates and datetimes as date cells. Notes follow the table, then the 合计 row.
    """
    width = len(headers)
    numeric = {headers.index(h) for h in numeric_columns}
    merged = {headers.index(h) for h in merge_columns}
    with xlsxwriter.Workbook(str(path)) as workbook:
        sheet = workbook.add_worksheet("导入模板")
        date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
        datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        line = 0
        if title is not None:
            if width > 1:
                sheet.merge_range(0, 0, 0, width - 1, title, workbook.add_format({"bold": True, "align": "center"}))
            else:
                sheet.write_string(0, 0, title)
            line = 2  # the title, then an empty row
        for column, header in enumerate(headers):
            sheet.write_string(line, column, header)
        line += 1
        sheet_rows: list[int] = []
        for index in range(len(rows)):
            if index in blank_rows_at:
                line += 1
            sheet_rows.append(line)
            line += 1
        runs = {column: _runs(rows, sheet_rows, column) for column in sorted(merged)}
        covered = {(i, column) for column, spans in runs.items() for start, end in spans for i in range(start + 1, end)}
        for index, row in enumerate(rows):
            for column, value in enumerate(row):
                if (index, column) not in covered:
                    _write_cell(
                        sheet, sheet_rows[index], column, value, column in numeric, date_format, datetime_format
                    )
        for column, spans in runs.items():
            for start, end in spans:
                value = rows[start][column]
                if column in numeric and isinstance(value, str) and _is_number(value):
                    value = float(value)
                sheet.merge_range(sheet_rows[start], column, sheet_rows[end - 1], column, value)
        for note in [notes] if isinstance(notes, str) else list(notes or ()):
            if width > 1:
                sheet.merge_range(line, 0, line, width - 1, note)
            else:
                sheet.write_string(line, 0, note)
            line += 1
        if total_row:
            sheet.write_string(line, 0, "合计")
            sheet.write_string(line, width - 1, f"{len(rows)}人")
    return [r + 1 for r in sheet_rows]


def _write_cell(sheet, line: int, column: int, value: Cell, as_number: bool, date_format, datetime_format) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(line, column, value)
    elif isinstance(value, datetime):
        sheet.write_datetime(line, column, value, datetime_format)
    elif isinstance(value, date):
        sheet.write_datetime(line, column, datetime(value.year, value.month, value.day), date_format)
    elif isinstance(value, int | float):
        sheet.write_number(line, column, value)
    elif as_number and _is_number(value):
        sheet.write_number(line, column, float(value))
    else:
        sheet.write_string(line, column, value)


def _is_number(text: str) -> bool:
    """Whether Excel would store what the agency typed as a number (`…123X` stays text)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _runs(rows: Sequence[Sequence[Cell]], sheet_rows: list[int], column: int) -> list[tuple[int, int]]:
    """[start, end) index spans of two or more equal, non-empty values on consecutive sheet rows."""
    spans = []
    start = 0
    for end in range(1, len(rows) + 1):
        if end < len(rows) and rows[end][column] == rows[start][column] and sheet_rows[end] == sheet_rows[end - 1] + 1:
            continue
        if end - start > 1 and rows[start][column] not in (None, ""):
            spans.append((start, end))
        start = end
    return spans


def write_template_csv(
    path: Path,
    headers: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    *,
    encoding: str = "gbk",
    title: str | None = None,
    total_row: bool = False,
) -> list[int]:
    """Write the template as Excel's "CSV" export would (GBK by default, title padded with commas).

    Returns the physical line number (1-based) of each of `rows`. Use `encoding="utf-8-sig"` for a
    UTF-8 file with a BOM.
    """
    width = len(headers)
    lines: list[int] = []
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        line = 1
        if title is not None:
            writer.writerow([title] + [""] * (width - 1))
            line += 1
        writer.writerow(headers)
        line += 1
        for row in rows:
            writer.writerow(["" if v is None else _csv_text(v) for v in row])
            lines.append(line)
            line += 1
        if total_row:
            writer.writerow(["合计"] + [""] * (width - 2) + [f"{len(rows)}人"])
    return lines


def _csv_text(value: Cell) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def template_headers(entity: str, *, without: Collection[str] = ()) -> list[str]:
    """The import template's column headers of `entity` (its schema's), leaving out the fields `without`."""
    from tourlink import schema

    return [f.header for f in schema.entity(entity).fields if f.name not in without]
