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
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from posixpath import join, normpath

import numpy as np
import polars as pl
import pyarrow as pa
from lxml import etree

from connectors.files.cells import float_column_text
from connectors.files.inflate import inflated
from connectors.files.prefetch import ahead
from connectors.files.xlsxcells import BlockDamaged, cell_positions, digits_between, plain_integers

BLOCK_BYTES = 3 << 20  # inflated sheet XML taken apart at a time (whole rows; ~4.4k roster rows): 1 M rows peak 392 MB at 4 MB, 350 at 3, 320 at 2 (and 4%, 12% slower)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
# Built-in number formats that show a date or time (ECMA-376 18.8.30, plus the CJK ones calamine knows).
_DATE_FORMAT_IDS = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
# `sst`: the shared string a cell shows (-1: none; its text is then in `text`), resolved per column
# when rows are made (`resolved`), so a block never holds a copy of every cell's string.
CELLS_SCHEMA = {"row": pl.Int64, "col": pl.Int64, "text": pl.String, "number": pl.Boolean, "sst": pl.Int64}


class DamagedSheet(ValueError):
    """The sheet XML is not what an xlsx writer produces (the caller names the file)."""


@dataclass(frozen=True)
class XlsxBook:
    """The parts of a workbook needed to read its sheets: names → XML member, strings, date styles."""

    sheets: dict[str, str]
    strings: pl.Series
    date_styles: frozenset[int]


def open_book(archive: zipfile.ZipFile) -> XlsxBook:
    """Sheet names, the shared-strings table and which cell styles show dates."""
    rels = _relationships(archive, "xl/_rels/workbook.xml.rels", "xl")
    workbook = _xml(archive, "xl/workbook.xml")
    sheets = {}
    for sheet in workbook.iter(f"{{{_MAIN}}}sheet"):
        target = rels.get(sheet.get(f"{{{_REL}}}id") or "")
        if target and target in archive.NameToInfo:
            sheets[sheet.get("name") or target] = target
    shared = next((t for t in rels.values() if t.endswith("sharedStrings.xml")), None)
    strings = _shared_strings(archive, shared) if shared and shared in archive.NameToInfo else pl.Series([], dtype=pl.String)
    styles = next((t for t in rels.values() if t.endswith("styles.xml")), "xl/styles.xml")
    return XlsxBook(sheets, strings, _date_styles(archive, styles) if styles in archive.NameToInfo else frozenset())


def _xml(archive: zipfile.ZipFile, name: str) -> etree._Element:
    try:
        return etree.fromstring(archive.read(name), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise DamagedSheet(f"{name}: {exc}") from None


def _relationships(archive: zipfile.ZipFile, name: str, base: str) -> dict[str, str]:
    if name not in archive.NameToInfo:
        return {}
    found = {}
    for rel in _xml(archive, name).iter(f"{{{_PKG_REL}}}Relationship"):
        target = rel.get("Target") or ""
        found[rel.get("Id") or ""] = target.lstrip("/") if target.startswith("/") else normpath(join(base, target))
    return found


def _date_styles(archive: zipfile.ZipFile, name: str) -> frozenset[int]:
    root = _xml(archive, name)
    custom = {
        int(f.get("numFmtId") or -1): f.get("formatCode") or "" for f in root.iter(f"{{{_MAIN}}}numFmt")
    }
    xfs = root.find(f"{{{_MAIN}}}cellXfs")
    if xfs is None:
        return frozenset()
    dated = set()
    for index, xf in enumerate(xfs.iter(f"{{{_MAIN}}}xf")):
        fmt = int(xf.get("numFmtId") or 0)
        if fmt in custom and is_date_format(custom[fmt]) or fmt not in custom and fmt in _DATE_FORMAT_IDS:
            dated.add(index)
    return frozenset(dated)


def is_date_format(code: str) -> bool:
    """A number format that shows a date or time: d, m, y, h or s outside quotes, escapes and [colour]."""
    bare = re.sub(r'"[^"]*"|\\.|_.|\*.|\[(?!h\]|m\]|s\])[^\]]*\]', "", code.split(";")[0].lower())
    return bool(re.search(r"[dmyhs]", bare)) and "general" not in bare


def _shared_strings(archive: zipfile.ZipFile, name: str) -> pl.Series:
    """Every `<si>` as its text (rich-text runs joined, phonetic runs dropped), read block by block."""
    parts = []
    prefix = _ns_prefix(archive, name, b"sst")
    for data in _blocks(archive, name, b"</si>", prefix + b"si", text=False):
        plain = plain_strings(data, prefix)
        if plain is not None:
            parts.append(unescape(plain))
            continue
        items = pl.Series([data.decode("utf-8")]).str.split("</si>").explode()
        items = items.str.extract(r"(?s)<(?:\w+:)?si>(.*)", 1)
        parts.append(_element_text(items.drop_nulls()))
    return pl.concat(parts).replace("", None).rechunk() if parts else pl.Series([], dtype=pl.String)


def plain_strings(block: bytes, prefix: bytes) -> pl.Series | None:
    """The texts of a block of `<si><t>…</t></si>` items (no runs, no phonetics: what most writers
    write), cut out by the positions of their tags, still escaped; None for any other shape (the
    caller's regular expressions then take the block apart, four times slower)."""
    arr = np.frombuffer(block + b" " * 32, dtype=np.uint8)
    size, lp = len(block), len(prefix)
    lt = np.flatnonzero(arr[:size] == 60)
    lt = lt[np.searchsorted(lt, max(block.find(b"<" + prefix + b"si>"), 0)):]
    if len(lt) % 4:
        return None
    si, t, t_end, si_end = (lt[k::4] for k in range(4))
    preserve = b'<' + prefix + b't xml:space="preserve">'
    short = _bytes_at(arr, t, b"<" + prefix + b"t>")
    spaced = np.zeros(len(t), dtype=bool)
    spaced[~short] = _bytes_at(arr, t[~short], preserve)
    if not (_bytes_at(arr, si, b"<" + prefix + b"si>") & (short | spaced) & _bytes_at(arr, t_end, b"</" + prefix + b"t>")
            & _bytes_at(arr, si_end, b"</" + prefix + b"si>")).all():
        return None
    start = t + np.where(short, 3 + lp, len(preserve))
    return _texts(block, start, t_end)


def _bytes_at(arr: np.ndarray, at: np.ndarray, expected: bytes) -> np.ndarray:
    """Which positions `at` of `arr` start with `expected`."""
    same = np.ones(len(at), dtype=bool)
    for k, byte in enumerate(expected):
        same &= arr[at + k] == byte
    return same


def _ns_prefix(archive: zipfile.ZipFile, name: str, root: bytes) -> bytes:
    try:
        with archive.open(name) as member:
            head = member.read(4096)
    except (zlib.error, EOFError) as exc:
        raise DamagedSheet(f"damaged zip member {name}: {exc}") from None
    match = re.search(rb"<(\w+:)?" + root + rb"[\s>]", head)
    return (match.group(1) or b"") if match else b""


def _blocks(archive: zipfile.ZipFile, name: str, end: bytes, start: bytes, *, text: bool = True) -> Iterator:
    """The member's text in blocks that end just after an `end` tag (whole elements per block)."""
    tail = b""
    for data in _member(archive, name):
        data = tail + data
        cut = data.rfind(end)
        if cut < 0:
            tail = data
            continue
        cut += len(end)
        tail = data[cut:]
        yield data[:cut].decode("utf-8") if text else data[:cut]
    if tail.find(b"<" + start) >= 0:
        raise DamagedSheet(f"{name}: truncated")


def _member(archive: zipfile.ZipFile, name: str) -> Iterator[bytes]:
    """The member inflated by ISA-L (`inflate`); a damaged one is a `DamagedSheet`."""
    try:
        yield from inflated(archive, name, BLOCK_BYTES)
    except zipfile.BadZipFile as exc:
        raise DamagedSheet(f"damaged zip member {exc}") from None


def _element_text(xml: pl.Series) -> pl.Series:
    """The text of `<t>` elements inside each value (rich text joined, `<rPh>` phonetics dropped), unescaped."""
    cleaned = xml.str.replace_all(r"(?s)<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", "")
    cleaned = cleaned.str.replace_all(r"(?s)<(?:\w+:)?rPr\b.*?</(?:\w+:)?rPr>|<(?:\w+:)?rPr\b[^>]*/>", "")
    return unescape(cleaned.str.replace_all(r"<[^>]*>", ""))


def unescape(text: pl.Series) -> pl.Series:
    """XML text as the characters it stands for: the five named references, then character references."""
    out = text
    if out.str.contains("&", literal=True).any():
        for ref, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'")):
            out = out.str.replace_all(ref, char, literal=True)
        numeric = out.str.contains("&#", literal=True).fill_null(False)
        out = out.str.replace_all("&amp;", "&", literal=True) if not numeric.any() else out
        if numeric.any():
            where = numeric.arg_true()
            fixed = [_char_refs(v) for v in out.gather(where).to_list()]
            out = out.str.replace_all("&amp;", "&", literal=True).scatter(where, fixed)
    return out


def _char_refs(value: str) -> str:
    def char(m: re.Match[str]) -> str:
        code = int(m.group(1)[1:], 16) if m.group(1)[0] in "xX" else int(m.group(1))
        return chr(code) if 0 < code < 0x110000 else m.group(0)

    return re.sub(r"&#([xX][0-9a-fA-F]+|\d+);", char, value).replace("&amp;", "&")


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
        prefix = _ns_prefix(archive, name, b"worksheet")
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
    for block in _blocks(archive, name, b"</" + prefix + b"row>", prefix + b"row", text=False):
        found = _positions(block, prefix)
        if found is not None:
            yield found


def sheet_merges(archive: zipfile.ZipFile, name: str) -> list[tuple[int, int, int, int]]:
    """The merged ranges (r0, c0, r1, c1), 0-based: `<mergeCells>` follows the cells, so the sheet's
    tail is read first (inflating is cheap next to taking the cells apart)."""
    ranges = []
    tail = b""
    for data in _member(archive, name):
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


def _texts(block: bytes, starts: np.ndarray, ends: np.ndarray) -> pl.Series:
    """The byte ranges [start, end) of the block as one string column (one gather, no per-cell Python)."""
    lengths = (ends - starts).astype(np.int64)
    offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    small = np.int32 if len(block) < 2**31 else np.int64  # a byte index per byte of text: half the memory
    index = np.arange(offsets[-1], dtype=small)
    index -= np.repeat((offsets[:-1] - starts).astype(small), lengths)
    data = np.frombuffer(block, dtype=np.uint8)[index]
    del index
    array = pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(data.tobytes()))
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:
        raise DamagedSheet("cell text that is not UTF-8") from None
    return arrow_series(array).cast(pl.String)


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
    raw = _texts(block, v_from, v_to)
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
        rendered = rendered.scatter(at, _element_text(rendered.gather(at)))
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


def nullable_index(at: np.ndarray) -> pl.Series:
    """Positions for `gather`, -1 as null (built from buffers: `pa.array(mask=…)` would import pandas)."""
    at = np.ascontiguousarray(at, dtype=np.int64)
    valid = np.packbits(at >= 0, bitorder="little")
    return arrow_series(pa.Array.from_buffers(pa.int64(), len(at), [pa.py_buffer(valid), pa.py_buffer(at)]))


class _CArray:
    """A pyarrow array seen only through the Arrow C data interface (`__arrow_c_array__`)."""

    def __init__(self, array: pa.Array) -> None:
        self._array = array

    def __arrow_c_array__(self, requested_schema: object | None = None) -> tuple[object, object]:
        return self._array.__arrow_c_array__(requested_schema)


def arrow_series(array: pa.Array) -> pl.Series:
    """`array` as a polars Series, handed over by the Arrow C data interface: the same zero-copy
    import as `pl.from_arrow`, without its `coerce_arrow`, which imports pyarrow.compute (~70-100 ms
    of a one-file import's start-up, bench/startup.py) to recombine chunked dictionaries, and one
    array is never chunked."""
    return pl.Series(_CArray(array))


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
