"""Workbook uploads (xlsx, xlsm, xls, xlsb, ods) through one path: python-calamine reads all five.

Agencies save the import templates from Excel, WPS or LibreOffice in whichever of these they have;
each goes through the same header search, title/notes/合计 handling, merged-cell fill-down and cell
rendering (`cells`). A workbook may hold several sheets: every sheet whose header row matches the
templates is read, in workbook order; the others are skipped and named with the reason (`sheets`).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Protocol

import polars as pl
import python_calamine

from connectors.files.cells import cell_text, render_column
from connectors.files.errors import UnreadableFile
from connectors.files.limits import ReaderLimits
from connectors.files.odsmerge import ods_merges
from connectors.files.parse_guard import guard_parse
from connectors.files.records import is_failure
from connectors.files.table import HEADER_SEARCH_ROWS, Header, empty_frame, find_header, no_header_reason, table_frame
from connectors.files.xlsxbook import DamagedSheet, open_book
from connectors.files.xlsxsheets import NotStreamable, SheetPlan, plan_sheet, sheet_frames
from connectors.files.zipcheck import check_xlsx_extent, check_zip
from tourlink.frames import ROW, SourceFrame

ZIP_FORMATS = {".xlsx", ".xlsm", ".xlsb", ".ods"}


class Closable(Protocol):
    def close(self) -> None: ...


@dataclass(frozen=True)
class SheetChoice:
    """One sheet of a workbook and whether it is read; `reason_zh` says why one is skipped."""

    name: str
    read: bool
    reason_zh: str = ""
    reason: str = ""


class WorkbookFrames(Iterator[SourceFrame]):
    """The frames of every matching sheet, with `sheets`: the choice made for each sheet."""

    def __init__(self, sheets: list[SheetChoice], frames: Iterator[SourceFrame], workbook: Closable) -> None:
        self.sheets = sheets
        self._frames = frames
        self._workbook = workbook

    def __next__(self) -> SourceFrame:
        return next(self._frames)

    def close(self) -> None:
        """Stop reading and close the workbook (the frames not taken are not read)."""
        close = getattr(self._frames, "close", None)
        if close is not None:
            close()
        # A generator closed before its first frame never ran its own `finally`.
        with suppress(python_calamine.WorkbookClosed):
            self._workbook.close()

    @property
    def skipped(self) -> list[SheetChoice]:
        return [s for s in self.sheets if not s.read]


def read_workbook(
    path: Path, known: frozenset[str], chunk_rows: int, limits: ReaderLimits, sheet: str | None = None
) -> WorkbookFrames:
    """Frames of the sheets whose header matches `known` (or only `sheet`); refuses a workbook with none."""
    if path.suffix.lower() in ZIP_FORMATS:
        check_zip(path, limits)
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            streamed = read_xlsx(path, known, chunk_rows, limits, sheet)  # bounds its extent as it streams
            if streamed is not None:
                return streamed
            check_xlsx_extent(path, limits)  # calamine allocates the sheet's whole rectangle
    guard_parse(path, limits)  # calamine's parse bounded in a child first: a hostile file cannot abort us
    workbook = _open(path)
    try:
        plans, choices = _plan(path, workbook, known, limits, sheet)
    except BaseException:
        workbook.close()
        raise
    if not plans:
        workbook.close()
        _refuse(path, choices)
    return WorkbookFrames(choices, _frames(path, workbook, plans, chunk_rows), workbook)


def read_xlsx(
    path: Path, known: frozenset[str], chunk_rows: int, limits: ReaderLimits, only: str | None
) -> WorkbookFrames | None:
    """An xlsx/xlsm through the streamed reader (constant memory, column-wise); None when its layout
    needs calamine (cells without references, written by a few generators)."""
    archive = zipfile.ZipFile(path)
    try:
        try:
            book = open_book(archive)
        except (DamagedSheet, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
            raise UnreadableFile(
                path.name, "无法打开xlsx文件：文件已损坏或格式与扩展名不符，请用Excel重新保存后上传", f"cannot open as {path.suffix}: {exc}"
            ) from None
        if only is not None and only not in book.sheets:
            raise UnreadableFile(path.name, f"没有名为“{only}”的工作表", f"no sheet named {only!r}")
        plans: list[SheetPlan] = []
        choices: list[SheetChoice] = []
        for name in book.sheets:
            if only is not None and name != only:
                continue
            planned = plan_sheet(path, archive, book, name, known, limits)
            if isinstance(planned, SheetPlan):
                plans.append(planned)
                choices.append(SheetChoice(name, True))
            else:
                choices.append(SheetChoice(name, False, *planned))
    except NotStreamable:
        archive.close()
        return None
    except BaseException:
        archive.close()
        raise
    if not plans:
        archive.close()
        _refuse(path, choices)

    def frames() -> Iterator[SourceFrame]:
        try:
            for plan in plans:
                yield from sheet_frames(path, archive, plan, chunk_rows, limits)
        finally:
            archive.close()

    return WorkbookFrames(choices, frames(), archive)


def _refuse(path: Path, choices: list[SheetChoice]) -> None:
    first = next((c for c in choices), None)
    if len(choices) == 1 and first is not None:
        raise UnreadableFile(path.name, first.reason_zh, first.reason)
    listed = "；".join(f"“{c.name}”：{c.reason_zh}" for c in choices)
    raise UnreadableFile(
        path.name,
        f"没有一个工作表的表头与导入模板匹配（{listed}）",
        "no sheet has a header row matching the templates: " + "; ".join(f"{c.name}: {c.reason}" for c in choices),
    )


def _open(path: Path) -> python_calamine.CalamineWorkbook:
    try:
        return python_calamine.CalamineWorkbook.from_path(str(path))
    except BaseException as exc:  # calamine raises several unrelated types (and panics) for a damaged file
        if not is_failure(exc):
            raise
        raise UnreadableFile(
            path.name,
            f"无法打开{path.suffix.lstrip('.').lower()}文件：文件已损坏或格式与扩展名不符，请用Excel重新保存后上传",
            f"cannot open as {path.suffix}: {type(exc).__name__}: {exc}",
        ) from None


@dataclass
class _Plan:
    """A sheet to read: its header and first rows. Only the first plan keeps calamine's copy of its
    sheet (`sheet`, `rows`); the others fetch theirs when their turn comes, so a 17-sheet xls holds
    one sheet's copy beside the workbook's own, not all seventeen."""

    index: int
    header: Header
    head: list[list]
    sheet: python_calamine.CalamineSheet | None
    rows: Iterator[list] | None


def _plan(
    path: Path, workbook: python_calamine.CalamineWorkbook, known: frozenset[str], limits: ReaderLimits,
    only: str | None,
) -> tuple[list[_Plan], list[SheetChoice]]:
    plans: list[_Plan] = []
    choices: list[SheetChoice] = []
    names = workbook.sheet_names
    if only is not None and only not in names:
        raise UnreadableFile(path.name, f"没有名为“{only}”的工作表", f"no sheet named {only!r}")
    for index, name in enumerate(names):
        if only is not None and name != only:
            continue
        try:
            sheet = workbook.get_sheet_by_index(index)
        except BaseException as exc:
            if not is_failure(exc):
                raise
            choices.append(SheetChoice(name, False, "工作表已损坏，无法读取", f"{type(exc).__name__}: {exc}"))
            continue
        if sheet.start is None:
            choices.append(SheetChoice(name, False, "工作表是空的", "the sheet is empty"))
            continue
        if sheet.width > limits.max_columns or sheet.height > limits.max_rows:
            raise UnreadableFile(
                path.name,
                f"工作表“{name}”有{sheet.height}行{sheet.width}列，超出平台上限（{limits.max_rows}行、{limits.max_columns}列）",
                f"sheet {name!r} is {sheet.height} × {sheet.width}, past the bounds",
            )
        rows = sheet.iter_rows()
        head = list(islice(rows, HEADER_SEARCH_ROWS))
        texts = [[cell_text(v) or "" for v in row] for row in head]
        header = find_header(texts, known)
        if header is None:
            reason_zh, reason = no_header_reason(texts, known)
            choices.append(SheetChoice(name, False, reason_zh, reason))
            continue
        plans.append(_Plan(index, header, head, sheet, rows) if not plans else _Plan(index, header, head, None, None))
        choices.append(SheetChoice(name, True))
    return plans, choices


def _frames(
    path: Path, workbook: python_calamine.CalamineWorkbook, plans: list[_Plan], chunk_rows: int
) -> Iterator[SourceFrame]:
    try:
        ods = _ods_merges(path) if path.suffix.lower() == ".ods" else {}
        for number, plan in enumerate(plans):
            sheet, rows, header = plan.sheet, plan.rows, plan.header
            plan.sheet = plan.rows = None
            if sheet is None or rows is None:
                sheet = workbook.get_sheet_by_index(plan.index)  # read whole once already: it loads
                rows = islice(sheet.iter_rows(), len(plan.head), None)
            if number == len(plans) - 1:  # the sheet holds its own copy: the workbook's is let go
                workbook.close()
            assert sheet.start is not None
            first_col = sheet.start[1]
            merges = [
                (r0, c0 - first_col, r1, c1 - first_col)
                for (r0, c0), (r1, c1) in (sheet.merged_cell_ranges or ods.get(sheet.name, ()))
                if r1 > r0 and r0 > header.index
            ]
            data = chain(plan.head[header.index + 1 :], rows)
            yield from _sheet_chunks(path, sheet.name, header, data, merges, chunk_rows)
    finally:
        with suppress(python_calamine.WorkbookClosed):
            workbook.close()


def _ods_merges(path: Path) -> dict[str, list]:
    try:
        return ods_merges(path)
    except BaseException as exc:
        if not is_failure(exc):
            raise
        raise UnreadableFile(
            path.name, "无法读取ods文件的合并单元格：文件已损坏，请重新保存后上传", f"content.xml: {exc}"
        ) from None


def _sheet_chunks(
    path: Path, sheet: str, header: Header, rows: Iterator[list], merges: list[tuple[int, int, int, int]],
    chunk_rows: int,
) -> Iterator[SourceFrame]:
    top_values: dict[tuple[int, int, int, int], object] = {}
    next_row = header.index + 1  # 0-based sheet row of the first row of the next block (calamine pads rows from 1)
    any_yielded = False
    while block := list(islice(rows, chunk_rows)):
        cells: list[Sequence[object]] = list(zip(*block, strict=False))
        _fill_merged(cells, next_row, len(block), merges, top_values)
        texts: dict[str, pl.Series] = {}
        numeric: dict[str, pl.Series] = {}
        for position, name in header.columns:
            values = cells[position] if position < len(cells) else (None,) * len(block)
            texts[name], numeric[name] = render_column(name, values)
        start = next_row + 1  # 1-based sheet row
        numbers = pl.int_range(start, start + len(block), dtype=pl.Int64, eager=True)
        next_row += len(block)
        source = table_frame(path, sheet, texts, numeric, numbers.alias(ROW))
        if source.data.height:
            any_yielded = True
            yield source
    if not any_yielded:
        yield empty_frame(path, sheet, [name for _, name in header.columns], numeric=True)


def _fill_merged(
    columns: list[Sequence[object]],
    first_row: int,
    height: int,
    merges: list[tuple[int, int, int, int]],
    top_values: dict[tuple[int, int, int, int], object],
) -> None:
    """Give every cell of a vertically merged range its top-left value (in `columns`, in place).

    A range may start in an earlier block: its top-left value is remembered in `top_values`.
    Columns touched by a range become lists; the fill is one slice assignment per range and column.
    """
    end_row = first_row + height
    for merge in merges:
        r0, c0, r1, c1 = merge
        if r0 >= end_row or r1 < first_row or c0 >= len(columns):
            continue
        if r0 >= first_row:
            top_values[merge] = columns[c0][r0 - first_row]
        value = top_values.get(merge, "")
        low, high = max(r0, first_row) - first_row, min(r1 + 1, end_row) - first_row
        for c in range(c0, min(c1, len(columns) - 1) + 1):
            column = columns[c]
            if not isinstance(column, list):
                column = columns[c] = list(column)
            column[low:high] = [value] * (high - low)
