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
from dataclasses import dataclass
from posixpath import join, normpath

import numpy as np
import polars as pl
import pyarrow as pa
from lxml import etree

from connectors.files.cells import float_column_text

BLOCK_BYTES = 8 << 20  # inflated sheet XML taken apart at a time (whole rows; ~11k roster rows)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
# Built-in number formats that show a date or time (ECMA-376 18.8.30, plus the CJK ones calamine knows).
_DATE_FORMAT_IDS = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
CELLS_SCHEMA = {"row": pl.Int64, "col": pl.Int64, "text": pl.String, "number": pl.Boolean}


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
    for block in _blocks(archive, name, b"</si>", _ns_prefix(archive, name, b"sst") + b"si"):
        items = pl.Series([block]).str.split("</si>").explode()
        items = items.str.extract(r"(?s)<(?:\w+:)?si>(.*)", 1)
        parts.append(_element_text(items.drop_nulls()))
    return pl.concat(parts) if parts else pl.Series([], dtype=pl.String)


def _ns_prefix(archive: zipfile.ZipFile, name: str, root: bytes) -> bytes:
    with archive.open(name) as member:
        head = member.read(4096)
    match = re.search(rb"<(\w+:)?" + root + rb"[\s>]", head)
    return (match.group(1) or b"") if match else b""


def _blocks(archive: zipfile.ZipFile, name: str, end: bytes, start: bytes, *, text: bool = True) -> Iterator:
    """The member's text in blocks that end just after an `end` tag (whole elements per block)."""
    with archive.open(name) as member:
        tail = b""
        while data := member.read(BLOCK_BYTES):
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


def sheet_cells(archive: zipfile.ZipFile, book: XlsxBook, name: str) -> Iterator[pl.DataFrame]:
    """Blocks of the sheet's cells in sheet order: 0-based `row`, `col`, `text` (as `cell_text`), `number`."""
    prefix = _ns_prefix(archive, name, b"worksheet")
    for block in _blocks(archive, name, b"</" + prefix + b"row>", prefix + b"row", text=False):
        cells = _parse_block(block, prefix, book)
        if cells.height:
            yield cells
    # (an empty sheet yields nothing)


def sheet_merges(archive: zipfile.ZipFile, name: str) -> list[tuple[int, int, int, int]]:
    """The merged ranges (r0, c0, r1, c1), 0-based: `<mergeCells>` follows the cells, so the sheet's
    tail is read first (inflating is cheap next to taking the cells apart)."""
    ranges = []
    with archive.open(name) as member:
        tail = b""
        while data := member.read(BLOCK_BYTES):
            text = tail + data
            for m in re.finditer(rb'<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"', text) if b"mergeCell" in text else ():
                c0, r0, c1, r1 = m.groups()
                ranges.append((int(r0) - 1, column_index(c0.decode()), int(r1) - 1, column_index(c1.decode())))
            cut = text.rfind(b"<")
            tail = text[cut:] if cut >= 0 and len(text) - cut < 200 else b""
    return sorted(set(ranges))


def column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def _parse_block(block: bytes, p: bytes, book: XlsxBook) -> pl.DataFrame:
    """The cells of a block of whole rows, found by byte positions (numpy over the block, no per-cell
    Python): every `<c`, the first `>` after it, its `r`/`t`/`s` attributes and its `<v>`/`<is>` text."""
    start = block.find(b"<" + p + b"sheetData")
    if start >= 0:
        block = block[start:]
    end = block.find(b"</" + p + b"sheetData>")
    if end >= 0:
        block = block[:end]
    arr = np.frombuffer(block + b" " * 16, dtype=np.uint8)
    size = len(block)
    lt = np.flatnonzero(arr[:size] == 60)  # every '<'
    lp = len(p)
    name = arr[lt + 1 + lp]
    after = arr[lt + 2 + lp]
    cs = lt[(name == 99) & np.isin(after, _AFTER_NAME)]  # <c …
    if not len(cs):
        return pl.DataFrame(schema=CELLS_SCHEMA)
    gt = np.flatnonzero(arr[:size] == 62)
    tag_end = gt[np.minimum(np.searchsorted(gt, cs), len(gt) - 1)]
    next_cell = np.append(cs[1:], size)
    closed = arr[tag_end - 1] == 47  # <c …/>: no value
    row_open = lt[(name == 114) & (after == 111) & (arr[lt + 3 + lp] == 119) & np.isin(arr[lt + 4 + lp], _AFTER_NAME)]
    row_at = _attribute_at(block, b' r="', row_open, gt[np.minimum(np.searchsorted(gt, row_open), len(gt) - 1)])
    ref = _attribute_at(block, b' r="', cs, tag_end)
    if (ref < 0).any() or (row_at < 0).any() or not len(row_open) or cs[0] < row_open[0]:
        raise DamagedSheet("rows or cells without their reference (r)")
    quote = np.flatnonzero(arr[:size] == 34)
    numbers = _integers(block, row_at + 4, quote[np.searchsorted(quote, row_at + 4)])
    row = numbers[np.searchsorted(row_open, cs) - 1] - 1
    col = _column(arr, ref + 4)
    t_at = _attribute_at(block, b' t="', cs, tag_end)
    kind = np.where(t_at < 0, ord("n"), arr[np.maximum(t_at, 0) + 4])
    kind = np.where((kind == ord("s")) & (arr[np.maximum(t_at, 0) + 5] != 34), ord("S"), kind)  # "str" vs "s"
    kind = np.where(closed, ord("_"), kind)
    s_at = _attribute_at(block, b' s="', cs, tag_end)
    style = np.full(len(cs), -1, dtype=np.int64)
    if book.date_styles and (s_at >= 0).any():
        styled = np.flatnonzero((s_at >= 0) & (kind == ord("n")))
        style[styled] = _integers(block, s_at[styled] + 4, quote[np.searchsorted(quote, s_at[styled] + 4)])
    v_open = lt[(name == 118) & (after == 62)] + 3 + lp  # <v>
    v_from, v_to = _element_span(block, lt, v_open, b"</" + p + b"v>", tag_end, next_cell, closed)
    frame = {"row": row, "col": col, "kind": kind, "style": style, "v_from": v_from, "v_to": v_to}
    inline = kind == ord("i")
    if inline.any():
        is_open = lt[(name == 105) & (after == 115) & (arr[lt + 3 + lp] == 62)] + 4 + lp  # <is>
        i_from, i_to = _element_span(block, lt, is_open, b"</" + p + b"is>", tag_end, next_cell, closed)
        frame["v_from"], frame["v_to"] = np.where(inline, i_from, v_from), np.where(inline, i_to, v_to)
    return _render(block, frame, book)


_AFTER_NAME = np.array([32, 62, 47, 9, 10, 13], dtype=np.uint8)  # ' ', '>', '/', whitespace


def _attribute_at(block: bytes, marker: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Position of `marker` (` r="`) inside each open tag [start, end), or -1."""
    found = _find_all(block, marker)
    if not len(found):
        return np.full(len(starts), -1, dtype=np.int64)
    at = found[np.minimum(np.searchsorted(found, starts), len(found) - 1)]
    return np.where((at > starts) & (at < ends), at, -1)


def _find_all(block: bytes, needle: bytes) -> np.ndarray:
    arr = np.frombuffer(block, dtype=np.uint8)
    n = len(arr) - len(needle) + 1
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    mask = arr[:n] == needle[0]
    for k in range(1, len(needle)):
        mask &= arr[k : n + k] == needle[k]
    return np.flatnonzero(mask)


def _element_span(block: bytes, lt: np.ndarray, opens: np.ndarray, close: bytes, tag_end: np.ndarray,
                  next_cell: np.ndarray, closed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[from, to) of the first element opened (`opens`: text starts) inside each cell, or (-1, -1)."""
    if not len(opens):
        none = np.full(len(tag_end), -1, dtype=np.int64)
        return none, none
    first = opens[np.minimum(np.searchsorted(opens, tag_end), len(opens) - 1)]
    ok = (first > tag_end) & (first < next_cell) & ~closed
    ends = _find_all(block, close)
    if not len(ends):
        raise DamagedSheet("an element that is never closed")
    to = ends[np.minimum(np.searchsorted(ends, first), len(ends) - 1)]
    if (ok & ((to < first) | (to > next_cell))).any():
        raise DamagedSheet("an element that is never closed")
    return np.where(ok, first, -1), np.where(ok, to, -1)


def _column(arr: np.ndarray, at: np.ndarray) -> np.ndarray:
    """0-based column of references like `AB12` starting at `at`."""
    window = arr[at[:, None] + np.arange(3)]
    letter = (window >= 65) & (window <= 90)
    n_letters = np.where(letter.all(axis=1), 3, np.argmin(letter, axis=1))
    if (n_letters < 1).any():
        raise DamagedSheet("a cell reference that is not a column and a row")
    codes = window.astype(np.int64) - 64
    col = np.where(n_letters == 1, codes[:, 0], np.where(n_letters == 2, codes[:, 0] * 26 + codes[:, 1],
                   codes[:, 0] * 676 + codes[:, 1] * 26 + codes[:, 2]))
    return col - 1


def _integers(block: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The integers written in the byte ranges [start, end) (`ends` at the closing quote or `<`)."""
    values = _texts(block, starts, ends).cast(pl.Int64, strict=False)
    if values.null_count():
        raise DamagedSheet("a number attribute or index that is not a number")
    return values.to_numpy()


def _texts(block: bytes, starts: np.ndarray, ends: np.ndarray) -> pl.Series:
    """The byte ranges [start, end) of the block as one string column (one gather, no per-cell Python)."""
    lengths = (ends - starts).astype(np.int64)
    offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    index = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1] - starts, lengths)
    data = np.frombuffer(block, dtype=np.uint8)[index]
    array = pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(data.tobytes()))
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:
        raise DamagedSheet("cell text that is not UTF-8") from None
    return pl.Series(pl.from_arrow(array)).cast(pl.String)


def _render(block: bytes, f: dict[str, np.ndarray], book: XlsxBook) -> pl.DataFrame:
    kind, has = f["kind"], f["v_to"] > f["v_from"]
    text = pl.Series("text", [None] * len(kind), dtype=pl.String)
    number = (kind == ord("n")) & has
    dated = number & np.isin(f["style"], list(book.date_styles)) if book.date_styles else np.zeros(len(kind), bool)
    number &= ~dated
    shared = (kind == ord("s")) & has
    if shared.any():
        index = _integers(block, f["v_from"][shared], f["v_to"][shared])
        if (index < 0).any() or (index >= len(book.strings)).any():
            raise DamagedSheet("a shared-string index outside the table")
        text = text.scatter(np.flatnonzero(shared), book.strings.gather(index))
    valued = has & ~shared
    if valued.any():
        where = np.flatnonzero(valued)
        raw = _texts(block, f["v_from"][where], f["v_to"][where])
        k = kind[where]
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
            at = np.flatnonzero(numbers & number[where])
            if len(at):
                rendered = rendered.scatter(at, float_column_text(rendered.gather(at).str.strip_chars().cast(pl.Float64, strict=False)))
            at = np.flatnonzero(numbers & dated[where])
            if len(at):
                rendered = rendered.scatter(at, serial_text(rendered.gather(at).cast(pl.Float64, strict=False)))
        text = text.scatter(where, rendered)
    return pl.DataFrame({"row": f["row"], "col": f["col"], "text": text.replace("", None), "number": number})


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
