"""xlsx/xlsm sheets read as a stream of their XML, block by block, column-wise, in constant memory.

Why not calamine here: it builds the whole sheet (every cell a 32-byte value plus its text) before the
first row comes out, and python-calamine then makes every cell a Python object: 19k rows/s and 1.2 GB
for 200,000 roster rows. A sheet is a flat list of `<row>`/`<c>` elements, so it is cut into blocks of
whole rows as it inflates and each block is taken apart by polars string kernels (one split, a few
anchored regex extracts over all cells at once): no per-cell Python, no DOM, no entity expansion (the
only references are the five XML ones and character references, undone here; a DTD is never read).

What the cells become is exactly what `cells.cell_text` makes of calamine's values, so the xlsx path
and the xls/xlsb/ods path (calamine) agree: shared and inline strings as text, numbers as text with
their numeric flag, date-formatted numbers as `YYYY-MM-DD[ HH:MM:SS]`/`HH:MM:SS` (the styles' number
formats decide, as in calamine), booleans `true`/`false`, formula results as their cached value.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator

import numpy as np
import polars as pl

from connectors.files.cells import float_column_text
from connectors.files.prefetch import ahead
from connectors.files.xlsxbook import (
    DamagedSheet,
    XlsxBook,
    element_text,
    member_blocks,
    member_bytes,
    ns_prefix,
    nullable_index,
    texts,
    unescape,
)
from connectors.files.xlsxcells import BlockDamaged, cell_positions, digits_between, plain_integers

# `sst`: the shared string a cell shows (-1: none; its text is then in `text`), resolved per column
# when rows are made (`resolved`), so a block never holds a copy of every cell's string.
CELLS_SCHEMA = {"row": pl.Int64, "col": pl.Int64, "text": pl.String, "number": pl.Boolean, "sst": pl.Int64}


class SheetCells:
    """Blocks of a sheet's cells in sheet order: 0-based `row`, `col`, `text` (as `cell_text`), `number`.

    Iterated, the blocks come one by one on the caller's thread (the first ones, to find the
    header, for every sheet of a workbook); `ahead()` gives the rest in three stages on their own
    threads, each a block ahead of the next: inflating and finding the cells, rendering their
    values, and the caller making rows (on one thread the first two left a core idle a third of
    the read). Only the sheet being read runs ahead, so a workbook of many sheets holds the blocks
    of one."""

    def __init__(self, archive: zipfile.ZipFile, book: XlsxBook, name: str) -> None:
        self.book = book
        prefix = ns_prefix(archive, name, b"worksheet")
        self._positioned = _positioned(archive, name, prefix)

    def __iter__(self) -> Iterator[pl.DataFrame]:
        for block, found in self._positioned:
            cells = _render(block, found, self.book)
            if cells.height:
                yield cells

    def ahead(self) -> Iterator[pl.DataFrame]:
        def rendered() -> Iterator[pl.DataFrame]:
            for block, found in ahead(lambda: self._positioned, depth=1):
                cells = _render(block, found, self.book)
                if cells.height:
                    yield cells

        return ahead(rendered)  # an empty sheet yields nothing


def sheet_cells(archive: zipfile.ZipFile, book: XlsxBook, name: str) -> Iterator[pl.DataFrame]:
    """Every block of the sheet's cells, read ahead."""
    return SheetCells(archive, book, name).ahead()


def _positioned(archive: zipfile.ZipFile, name: str, prefix: bytes) -> Iterator[tuple[bytes, dict[str, np.ndarray]]]:
    for block in member_blocks(archive, name, b"</" + prefix + b"row>", prefix + b"row"):
        found = _positions(block, prefix)
        if found is not None:
            yield found


def sheet_merges(archive: zipfile.ZipFile, name: str) -> list[tuple[int, int, int, int]]:
    """The merged ranges (r0, c0, r1, c1), 0-based: `<mergeCells>` follows the cells, so the sheet's
    tail is read first (inflating is cheap next to taking the cells apart)."""
    ranges = []
    tail = b""
    for data in member_bytes(archive, name):
        text = tail + data
        for m in re.finditer(rb'<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"', text) if b"mergeCell" in text else ():
            c0, r0, c1, r1 = m.groups()
            ranges.append((int(r0) - 1, column_index(c0.decode()), int(r1) - 1, column_index(c1.decode())))
        cut = text.rfind(b"<")
        tail = text[cut:] if cut >= 0 and len(text) - cut < 200 else b""
    return sorted(set(ranges))


def column_letters(index: int) -> str:
    """`AB` for the 0-based column 27."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def _positions(block: bytes, p: bytes) -> tuple[bytes, dict[str, np.ndarray]] | None:
    """The block cut to its `<sheetData>` and where its cells are (`xlsxcells.cell_positions`)."""
    start = block.find(b"<" + p + b"sheetData")
    if start >= 0:
        block = block[start:]
    end = block.find(b"</" + p + b"sheetData>")
    if end >= 0:
        block = block[:end]
    try:
        found = cell_positions(block, p)
    except BlockDamaged as exc:
        raise DamagedSheet(str(exc)) from None
    return None if found is None else (block, found)


def _render(block: bytes, f: dict[str, np.ndarray], book: XlsxBook) -> pl.DataFrame:
    kind, has = f["kind"], f["v_to"] > f["v_from"]
    sst = np.full(len(kind), -1, dtype=np.int64)
    number = (kind == ord("n")) & has
    dated = number & np.isin(f["style"], list(book.date_styles)) if book.date_styles else np.zeros(len(kind), bool)
    number &= ~dated
    shared = (kind == ord("s")) & has
    if shared.any():
        try:
            index = digits_between(np.frombuffer(block, dtype=np.uint8), f["v_from"][shared], f["v_to"][shared])
        except BlockDamaged as exc:
            raise DamagedSheet(str(exc)) from None
        if (index < 0).any() or (index >= len(book.strings)).any():
            raise DamagedSheet("a shared-string index outside the table")
        sst[shared] = index
    valued = has & ~shared
    where = np.flatnonzero(valued)
    if len(where):
        rendered = _rendered(block, f["v_from"][where], f["v_to"][where], kind[where], number[where], dated[where])
        own = np.full(len(kind), len(where), dtype=np.int64)  # each cell's place in `rendered`, else the null after it
        own[where] = np.arange(len(where))
        text = rendered.replace("", None).extend_constant(None, 1).rechunk().gather(own)
    else:
        text = pl.repeat(None, len(kind), dtype=pl.String, eager=True)
    return pl.DataFrame({"row": f["row"], "col": f["col"], "text": text, "number": number, "sst": sst})


def _rendered(block: bytes, v_from: np.ndarray, v_to: np.ndarray, k: np.ndarray, number: np.ndarray, dated: np.ndarray) -> pl.Series:
    """The text of the cells that hold their own value (not a shared string), as calamine renders it."""
    raw = texts(block, v_from, v_to)
    if not np.isin(k, [ord("i"), ord("b"), ord("d")]).any():
        rendered = raw
    else:
        rendered = pl.DataFrame({"raw": raw, "k": k}).select(
            pl.when(pl.col("k") == ord("i")).then(pl.col("raw"))  # inline: tags stripped below
            .when(pl.col("k") == ord("b")).then(pl.when(pl.col("raw") == "1").then(pl.lit("true")).otherwise(pl.lit("false")))
            .when(pl.col("k") == ord("d")).then(
                pl.col("raw").str.replace("T", " ", literal=True).str.replace(r"(\.\d+)?(Z|[+-]\d\d:\d\d)?$", "")
                .str.replace(r" 00:00:00$", "")
            )
            .otherwise(pl.col("raw"))
        ).to_series()
    inline = k == ord("i")
    if inline.any():
        at = np.flatnonzero(inline)
        rendered = rendered.scatter(at, element_text(rendered.gather(at)))
    plain = np.isin(k, [ord("S"), ord("e")])
    if plain.any():
        at = np.flatnonzero(plain)
        rendered = rendered.scatter(at, unescape(rendered.gather(at)))
    numbers = k == ord("n")
    if numbers.any():
        at = np.flatnonzero(numbers & number)
        if len(at):  # a whole number written plainly (`30`) is already its text: only the others are parsed
            at = at[~plain_integers(np.frombuffer(block, dtype=np.uint8), v_from[at], v_to[at])]
            if len(at):
                rendered = rendered.scatter(at, float_column_text(rendered.gather(at).str.strip_chars().cast(pl.Float64, strict=False)))
        at = np.flatnonzero(numbers & dated)
        if len(at):
            rendered = rendered.scatter(at, serial_text(rendered.gather(at).cast(pl.Float64, strict=False)))
    return rendered


def resolved(cells: pl.DataFrame, book: XlsxBook) -> pl.DataFrame:
    """`cells` with the shared strings put into `text` (for the few cells read one by one)."""
    return cells.with_columns(text=pl.coalesce("text", book.strings.gather(nullable_index(cells.get_column("sst").to_numpy()))))


def serial_text(serials: pl.Series) -> pl.Series:
    """Excel date serials (1900 system) as calamine's values render: whole days `YYYY-MM-DD`, under one
    day `HH:MM:SS`, else `YYYY-MM-DD HH:MM:SS` (to the millisecond, shown to the second)."""
    ms = (serials * 86_400_000).round(0).cast(pl.Int64, strict=False)
    moment = pl.select(pl.datetime(1899, 12, 30) + pl.duration(milliseconds=ms)).to_series()
    return pl.select(
        pl.when(serials < 1).then(moment.dt.strftime("%H:%M:%S"))
        .when(serials == serials.floor()).then(moment.dt.strftime("%Y-%m-%d"))
        .otherwise(moment.dt.strftime("%Y-%m-%d %H:%M:%S"))
    ).to_series()
