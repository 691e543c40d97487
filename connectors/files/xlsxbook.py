"""The parts of an xlsx workbook other than its cells: the package (which sheet is which member),
the shared-strings table, which styles show dates, and zip members read as blocks of whole elements;
plus XML text turned into string columns without per-cell Python, which the cells reader shares.

Everything is parsed without a DTD, entities or network (`_PARSER`); text runs are undone here (the
five XML references and character references only).
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

from connectors.files.inflate import inflated
from connectors.files.xlsxcells import bytes_at

BLOCK_BYTES = 3 << 20  # inflated sheet XML taken apart at a time (whole rows; ~4.4k roster rows): 1 M rows peak 392 MB at 4 MB, 350 at 3, 320 at 2 (and 4%, 12% slower)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
# Built-in number formats that show a date or time (ECMA-376 18.8.30, plus the CJK ones calamine knows).
_DATE_FORMAT_IDS = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
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
    prefix = ns_prefix(archive, name, b"sst")
    for data in member_blocks(archive, name, b"</si>", prefix + b"si"):
        plain = plain_strings(data, prefix)
        if plain is not None:
            parts.append(unescape(plain))
            continue
        items = pl.Series([data.decode("utf-8")]).str.split("</si>").explode()
        items = items.str.extract(r"(?s)<(?:\w+:)?si>(.*)", 1)
        parts.append(element_text(items.drop_nulls()))
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
    short = bytes_at(arr, t, b"<" + prefix + b"t>")
    spaced = np.zeros(len(t), dtype=bool)
    spaced[~short] = bytes_at(arr, t[~short], preserve)
    if not (bytes_at(arr, si, b"<" + prefix + b"si>") & (short | spaced) & bytes_at(arr, t_end, b"</" + prefix + b"t>")
            & bytes_at(arr, si_end, b"</" + prefix + b"si>")).all():
        return None
    start = t + np.where(short, 3 + lp, len(preserve))
    return texts(block, start, t_end)


def ns_prefix(archive: zipfile.ZipFile, name: str, root: bytes) -> bytes:
    try:
        with archive.open(name) as member:
            head = member.read(4096)
    except (zlib.error, EOFError) as exc:
        raise DamagedSheet(f"damaged zip member {name}: {exc}") from None
    match = re.search(rb"<(\w+:)?" + root + rb"[\s>]", head)
    return (match.group(1) or b"") if match else b""


def member_blocks(archive: zipfile.ZipFile, name: str, end: bytes, start: bytes) -> Iterator[bytes]:
    """The member's bytes in blocks that end just after an `end` tag (whole elements per block)."""
    tail = b""
    for data in member_bytes(archive, name):
        data = tail + data
        cut = data.rfind(end)
        if cut < 0:
            tail = data
            continue
        cut += len(end)
        tail = data[cut:]
        yield data[:cut]
    if tail.find(b"<" + start) >= 0:
        raise DamagedSheet(f"{name}: truncated")


def member_bytes(archive: zipfile.ZipFile, name: str) -> Iterator[bytes]:
    """The member inflated by ISA-L (`inflate`); a damaged one is a `DamagedSheet`."""
    try:
        yield from inflated(archive, name, BLOCK_BYTES)
    except zipfile.BadZipFile as exc:
        raise DamagedSheet(f"damaged zip member {exc}") from None


def element_text(xml: pl.Series) -> pl.Series:
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


def texts(block: bytes, starts: np.ndarray, ends: np.ndarray) -> pl.Series:
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
