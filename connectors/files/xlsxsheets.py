"""xlsx/xlsm sheets as `SourceFrame` chunks from the streamed cells (`xlsxstream`), column-wise.

The same table rules as every other workbook format (`table`: header search over the first 50 rows,
notes and 合计 rows, repeated headers), merged ranges filled down with their top-left cell, row numbers
as the sheet shows them. Memory holds one block of cells and one chunk of rows, whatever the sheet's
size; the merged ranges and the shared-strings table are the only parts kept whole.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from connectors.files.errors import UnreadableFile
from connectors.files.limits import ReaderLimits
from connectors.files.table import HEADER_SEARCH_ROWS, Header, empty_frame, find_header, no_header_reason, table_frame
from connectors.files.xlsxstream import DamagedSheet, XlsxBook, column_letters, sheet_cells, sheet_merges
from connectors.files.zipcheck import too_large
from tourlink.frames import ROW, SourceFrame


class NotStreamable(Exception):
    """A layout the stream does not read (cells without references): the caller uses calamine."""


@dataclass
class SheetPlan:
    name: str
    member: str
    header: Header
    blocks: Iterator[pl.DataFrame]
    pending: list[pl.DataFrame]


def plan_sheet(
    path: Path, archive: zipfile.ZipFile, book: XlsxBook, name: str, known: frozenset[str], limits: ReaderLimits
) -> SheetPlan | tuple[str, str]:
    """The sheet's header and its cell blocks, or (Chinese, English) of why it is skipped."""
    member = book.sheets[name]
    blocks = sheet_cells(archive, book, member)
    pending: list[pl.DataFrame] = []
    try:
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
    for row, col, text in head.select("row", "col", "text").iter_rows():
        texts[row - top][col] = text or ""  # type: ignore[operator]
    found = find_header(texts, known)
    if found is None:
        return no_header_reason(texts, known)
    header = Header(index=found.index + top, columns=found.columns)  # type: ignore[operator]
    return SheetPlan(name, member, header, blocks, pending)


def sheet_frames(
    path: Path, archive: zipfile.ZipFile, plan: SheetPlan, chunk_rows: int, limits: ReaderLimits
) -> Iterator[SourceFrame]:
    """Chunks of at most `chunk_rows` rows below the header."""
    header = plan.header
    wanted = [position for position, _ in header.columns]
    merges = pl.DataFrame(
        [m for m in sheet_merges(archive, plan.member) if m[2] > m[0] and m[0] > header.index],
        schema={"r0": pl.Int64, "c0": pl.Int64, "r1": pl.Int64, "c1": pl.Int64}, orient="row",
    )
    anchors = pl.DataFrame(schema={"r0": pl.Int64, "c0": pl.Int64, "a_text": pl.String, "a_number": pl.Boolean})
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
        if merges.height:
            found = cells.join(merges.select("r0", "c0"), left_on=["row", "col"], right_on=["r0", "c0"])
            anchors = pl.concat([anchors, found.select(r0="row", c0="col", a_text="text", a_number="number")])
        wide = _wide(cells, header, wanted)
        if merges.height:
            wide = _fill_merged(wide, header, merges, anchors)
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
        for block in plan.blocks:
            yield block.filter(below)
    except DamagedSheet as exc:
        raise _damaged(path, plan.name, exc) from None


def _wide(cells: pl.DataFrame, header: Header, wanted: list[int]) -> pl.DataFrame:
    """One row per sheet row of the block, the header's columns as `text_<col>`/`number_<col>`."""
    rows = cells.select(pl.col("row").unique(maintain_order=True))
    picked = cells.filter(pl.col("col").is_in(wanted))
    if picked.height:
        wide = picked.pivot(on="col", index="row", values=["text", "number"], aggregate_function="first")
        rows = rows.join(wide, on="row", how="left", maintain_order="left")
    return rows.with_columns(
        [pl.lit(None, pl.String).alias(f"text_{k}") for k in wanted if f"text_{k}" not in rows.columns]
        + [pl.lit(False).alias(f"number_{k}") for k in wanted if f"number_{k}" not in rows.columns]
    ).with_columns(pl.col(f"number_{k}").fill_null(False) for k in wanted)


def _fill_merged(wide: pl.DataFrame, header: Header, merges: pl.DataFrame, anchors: pl.DataFrame) -> pl.DataFrame:
    """Every cell of a vertically merged range takes its top-left cell (text and number flag)."""
    wide = wide.sort("row")
    for position, _ in header.columns:
        ranges = merges.filter((pl.col("c0") <= position) & (pl.col("c1") >= position)).sort("r0")
        if not ranges.height:
            continue
        hit = wide.select("row").join_asof(ranges, left_on="row", right_on="r0", strategy="backward")
        hit = hit.join(anchors, on=["r0", "c0"], how="left", maintain_order="left")
        covered = (hit["r1"] >= hit["row"]).fill_null(False)
        wide = wide.with_columns(
            pl.when(covered).then(hit["a_text"]).otherwise(pl.col(f"text_{position}")).alias(f"text_{position}"),
            pl.when(covered).then(hit["a_number"].fill_null(False)).otherwise(pl.col(f"number_{position}")).alias(f"number_{position}"),
        )
    return wide


def _frame(path: Path, sheet: str, header: Header, wide: pl.DataFrame) -> SourceFrame:
    texts = {name: wide.get_column(f"text_{k}").alias(name) for k, name in header.columns}
    numeric = {name: wide.get_column(f"number_{k}").alias(name) for k, name in header.columns}
    return table_frame(path, sheet, texts, numeric, (wide.get_column("row") + 1).alias(ROW))


def _damaged(path: Path, sheet: str, exc: Exception) -> UnreadableFile:
    return UnreadableFile(
        path.name, f"工作表“{sheet}”的内容已损坏，请用Excel重新保存后上传", f"sheet {sheet!r}: {exc}"
    )
