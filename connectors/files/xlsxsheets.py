"""xlsx/xlsm sheets as `SourceFrame` chunks from the streamed cells (`xlsxstream`), column-wise.

The same table rules as every other workbook format (`table`: header search over the first 50 rows,
notes and 合计 rows, repeated headers), merged ranges filled down with their top-left cell, row numbers
as the sheet shows them. Memory holds one block of cells and one chunk of rows, whatever the sheet's
size; the merged ranges and the shared-strings table are the only parts kept whole.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from connectors.files.errors import UnreadableFile
from connectors.files.limits import ReaderLimits
from connectors.files.prefetch import background
from connectors.files.table import HEADER_SEARCH_ROWS, Header, empty_frame, find_header, no_header_reason, table_frame
from connectors.files.xlsxbook import DamagedSheet, XlsxBook, nullable_index
from connectors.files.xlsxstream import SheetCells, column_letters, resolved, sheet_merges
from connectors.files.zipcheck import too_large
from tourlink.frames import ROW, SourceFrame


class NotStreamable(Exception):
    """A layout the stream does not read (cells without references): the caller uses calamine."""


@dataclass
class SheetPlan:
    name: str
    member: str
    header: Header
    blocks: SheetCells
    pending: list[pl.DataFrame]
    merges: Callable[[], list[tuple[int, int, int, int]]]  # read in a second pass, while the cells stream
    book: XlsxBook


def plan_sheet(
    path: Path, archive: zipfile.ZipFile, book: XlsxBook, name: str, known: frozenset[str], limits: ReaderLimits
) -> SheetPlan | tuple[str, str]:
    """The sheet's header and its cell blocks, or (Chinese, English) of why it is skipped."""
    member = book.sheets[name]
    pending: list[pl.DataFrame] = []
    try:
        blocks = SheetCells(archive, book, member)
        for block in blocks:
            pending.append(block)
            first = pending[0]["row"].min()
            if block["row"].max() >= first + HEADER_SEARCH_ROWS:  # type: ignore[operator]
                break
    except DamagedSheet as exc:
        if "reference" in str(exc):
            raise NotStreamable(str(exc)) from None
        raise _damaged(path, name, exc) from None
    if not pending:
        return "工作表是空的", "the sheet is empty"
    head = pl.concat(pending)
    top = head["row"].min()
    head = head.filter(pl.col("row") < top + HEADER_SEARCH_ROWS)  # type: ignore[operator]
    width = int(head["col"].max()) + 1  # type: ignore[arg-type]
    if width > limits.max_columns:
        raise UnreadableFile(
            path.name, f"工作表“{name}”有{width}列，超出平台上限（{limits.max_columns}列）", f"sheet {name!r} is {width} columns wide"
        )
    texts = [[""] * width for _ in range(HEADER_SEARCH_ROWS)]
    for row, col, text in resolved(head, book).select("row", "col", "text").iter_rows():
        texts[row - top][col] = text or ""  # type: ignore[operator]
    found = find_header(texts, known)
    if found is None:
        return no_header_reason(texts, known)
    header = Header(index=found.index + top, columns=found.columns)  # type: ignore[operator]
    return SheetPlan(name, member, header, blocks, pending, background(lambda: sheet_merges(archive, member)), book)


def sheet_frames(
    path: Path, archive: zipfile.ZipFile, plan: SheetPlan, chunk_rows: int, limits: ReaderLimits
) -> Iterator[SourceFrame]:
    """Chunks of at most `chunk_rows` rows below the header."""
    header = plan.header
    wanted = [position for position, _ in header.columns]
    try:
        ranges = plan.merges()
    except DamagedSheet as exc:
        raise _damaged(path, plan.name, exc) from None
    merged = _Merged([m for m in ranges if m[2] > m[0] and m[0] > header.index], wanted)
    carry: pl.DataFrame | None = None
    any_yielded = False
    for cells in _data_blocks(path, plan):
        if cells["row"].max() >= limits.max_rows:  # type: ignore[operator]
            raise UnreadableFile(
                path.name, f"工作表“{plan.name}”超过{limits.max_rows}行，超出平台上限", f"sheet {plan.name!r} has more than {limits.max_rows} rows"
            )
        if (far := int(cells["col"].max())) >= limits.max_columns:  # type: ignore[arg-type]  # the extent, bounded as it streams
            cell = cells.filter(pl.col("col") == far).row(0, named=True)
            ref = f"{column_letters(far)}{cell['row'] + 1}"
            raise too_large(path, f"单元格{ref}", f"cell {ref}")
        wide = _wide(cells, header, wanted, plan.book)
        if merged.ranges:
            merged.keep_anchors(cells, plan.book)
            wide = merged.fill(wide)
        carry = wide if carry is None else pl.concat([carry, wide])
        while carry.height >= chunk_rows:
            frame, carry = carry.head(chunk_rows), carry.slice(chunk_rows)
            source = _frame(path, plan.name, header, frame)
            if source.data.height:
                any_yielded = True
                yield source
    if carry is not None and carry.height:
        source = _frame(path, plan.name, header, carry)
        if source.data.height:
            any_yielded = True
            yield source
    if not any_yielded:
        yield empty_frame(path, plan.name, [name for _, name in header.columns], numeric=True)


def _data_blocks(path: Path, plan: SheetPlan) -> Iterator[pl.DataFrame]:
    below = pl.col("row") > plan.header.index
    for block in plan.pending:
        yield block.filter(below)
    plan.pending = []
    try:
        for block in plan.blocks.ahead():
            yield block.filter(below)
    except DamagedSheet as exc:
        raise _damaged(path, plan.name, exc) from None


def _wide(cells: pl.DataFrame, header: Header, wanted: list[int], book: XlsxBook) -> pl.DataFrame:
    """One row per sheet row of the block, the header's columns as `text_<col>`/`number_<col>`.

    Cells come row by row, columns ascending within a row (as every writer stores them): the cell
    under each wanted column of each row is found by position, and the strings of all of them come
    in one gather (one per column cost a polars call each). Any other order takes the general pivot."""
    row, col = cells.get_column("row").to_numpy(), cells.get_column("col").to_numpy()
    starts = np.r_[True, row[1:] != row[:-1]]
    if not ((row[1:] >= row[:-1]).all() and (starts[1:] | (col[1:] > col[:-1])).all()):
        return _pivot(resolved(cells, book), header, wanted)
    group = np.cumsum(starts) - 1
    n = int(group[-1]) + 1 if len(group) else 0
    slot = np.full(max(int(col.max()) + 1 if len(col) else 0, max(wanted, default=0) + 1), -1, dtype=np.int64)
    slot[wanted] = np.arange(len(wanted))
    mine = np.flatnonzero(slot[col] >= 0)
    at = np.full((len(wanted), n), -1, dtype=np.int64)  # the cell under each wanted column of each row
    at[slot[col[mine]], group[mine]] = mine
    at = at.ravel()
    sst = cells.get_column("sst").to_numpy()
    shared = np.where(at < 0, -1, sst[np.maximum(at, 0)])
    # Every wanted cell's text in one gather from the block's shared strings, then the cells' own
    # texts (numbers, inline strings), then a null: a null in the index, or a merge of two gathers,
    # is four times slower (polars then rebuilds the string buffers), and the whole table in the
    # concatenation would cost each block the table's size.
    used = np.flatnonzero(shared >= 0)
    texts = cells.get_column("text")
    source = pl.concat([book.strings.gather(shared[used]), texts, pl.Series([None], dtype=pl.String)], rechunk=True)
    index = np.where(at >= 0, len(used) + at, len(used) + len(texts))
    index[used] = np.arange(len(used))
    strings = source.gather(index)
    number = np.where(at < 0, False, cells.get_column("number").to_numpy()[np.maximum(at, 0)])
    columns: dict[str, pl.Series | np.ndarray] = {"row": row[starts]}
    for i, k in enumerate(wanted):
        columns[f"text_{k}"] = strings.slice(i * n, n)
        columns[f"number_{k}"] = number[i * n:(i + 1) * n]
    return pl.DataFrame(columns)


def _pivot(cells: pl.DataFrame, header: Header, wanted: list[int]) -> pl.DataFrame:
    rows = cells.select(pl.col("row").unique(maintain_order=True))
    picked = cells.filter(pl.col("col").is_in(wanted))
    if picked.height:
        wide = picked.pivot(on="col", index="row", values=["text", "number"], aggregate_function="first")
        rows = rows.join(wide, on="row", how="left", maintain_order="left")
    return rows.with_columns(
        [pl.lit(None, pl.String).alias(f"text_{k}") for k in wanted if f"text_{k}" not in rows.columns]
        + [pl.lit(False).alias(f"number_{k}") for k in wanted if f"number_{k}" not in rows.columns]
    ).with_columns(pl.col(f"number_{k}").fill_null(False) for k in wanted)


class _Merged:
    """The vertically merged ranges below the header: every cell of one takes its top-left cell's
    text and number flag. The top-left cells are kept as the blocks pass (one per range)."""

    def __init__(self, ranges: list[tuple[int, int, int, int]], wanted: list[int]) -> None:
        self.ranges = ranges
        r0, c0, r1, c1 = (np.array([m[i] for m in ranges], dtype=np.int64) for i in range(4))
        self.key = r0 * _KEY + c0  # the top-left cell of each range
        self.anchor_columns = np.zeros(int(c0.max(initial=0)) + 2, dtype=bool)  # the last: every column past them
        self.anchor_columns[c0] = True
        self.order = np.argsort(self.key)
        self.text = pl.Series("text", [], dtype=pl.String).extend_constant(None, len(ranges))
        self.number = np.zeros(len(ranges), dtype=bool)
        self.columns = {}  # wanted column -> (r0, r1, range id) of the ranges over it, by r0
        for position in wanted:
            over = np.flatnonzero((c0 <= position) & (c1 >= position))
            if len(over):
                by_row = over[np.argsort(r0[over], kind="stable")]
                self.columns[position] = (r0[by_row], r1[by_row], by_row)

    def keep_anchors(self, cells: pl.DataFrame, book: XlsxBook) -> None:
        col = cells.get_column("col").to_numpy()
        maybe = np.flatnonzero(self.anchor_columns[np.minimum(col, len(self.anchor_columns) - 1)])
        key = cells.get_column("row").to_numpy()[maybe] * _KEY + col[maybe]
        sorted_keys = self.key[self.order]
        at = np.minimum(np.searchsorted(sorted_keys, key), len(sorted_keys) - 1)
        found = np.flatnonzero(sorted_keys[at] == key)
        if len(found):
            hit, ids = maybe[found], self.order[at[found]]
            self.text = self.text.scatter(ids, resolved(cells[hit], book).get_column("text"))
            self.number[ids] = cells.get_column("number").to_numpy()[hit]

    def fill(self, wide: pl.DataFrame) -> pl.DataFrame:
        rows = wide.get_column("row").to_numpy()
        filled = []
        for position, (r0, r1, ids) in self.columns.items():
            at = np.searchsorted(r0, rows, side="right") - 1
            covered = (at >= 0) & (r1[np.maximum(at, 0)] >= rows)
            if not covered.any():
                continue
            source = np.where(covered, ids[np.maximum(at, 0)], -1)
            anchor = self.text.gather(nullable_index(source))
            filled += [
                pl.when(pl.Series(covered)).then(anchor).otherwise(pl.col(f"text_{position}")).alias(f"text_{position}"),
                pl.Series(f"number_{position}", np.where(covered, self.number[np.maximum(source, 0)],
                                                         wide.get_column(f"number_{position}").to_numpy())),
            ]
        return wide.with_columns(filled) if filled else wide


_KEY = 1 << 20  # row * _KEY + column: one integer per cell (columns are bounded far below it)


def _frame(path: Path, sheet: str, header: Header, wide: pl.DataFrame) -> SourceFrame:
    texts = {name: wide.get_column(f"text_{k}").alias(name) for k, name in header.columns}
    numeric = {name: wide.get_column(f"number_{k}").alias(name) for k, name in header.columns}
    return table_frame(path, sheet, texts, numeric, (wide.get_column("row") + 1).alias(ROW))


def _damaged(path: Path, sheet: str, exc: Exception) -> UnreadableFile:
    return UnreadableFile(
        path.name, f"工作表“{sheet}”的内容已损坏，请用Excel重新保存后上传", f"sheet {sheet!r}: {exc}"
    )
