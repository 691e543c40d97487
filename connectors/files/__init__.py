"""Readers that turn one raw input file into `SourceFrame` chunks (connector → mapping).

Agencies without an ERP upload the platform's import templates (SPEC section 5) as a workbook
(xlsx, xls, xlsb, ods) or CSV, and those files are messy: a merged title row above the table, blank
rows, a notes row and a 合计 row below it, headers with required markers (`*证件号码`,
`证件号码(必填)`), group columns merged vertically over the rows of one group, IDs and phones stored
as numbers. The readers find the table (`table`), keep every cell as the agency typed it (as text)
and say which cells were numbers (`cells`), so mapping can reject a lost 18-digit ID
(`EXCEL_NUMERIC_ID`) instead of guessing.

Row numbers (`__row`) are what the steward sees: the spreadsheet row (1-based, title and header rows
counted); for CSV the physical line; for JSON Lines the line; for Parquet the 1-based record number.

One module per format: `delimited` (CSV), `workbook` (the spreadsheet formats), `records` (JSON
Lines, Parquet); `limits` bounds what a hostile file can make any of them do.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.files.errors import UnreadableFile
from connectors.files.limits import ReaderLimits
from connectors.files.table import HEADER_SEARCH_ROWS, MIN_HEADER_MATCHES, NOTE_ROW, TOTAL_WORDS
from tourlink.frames import SourceFrame
from tourlink.headers import normalise_header

if TYPE_CHECKING:
    from connectors.files.delimited import read_csv
    from connectors.files.records import read_jsonl, read_parquet
    from connectors.files.workbook import SheetChoice, WorkbookFrames, read_workbook

__all__ = [
    "CSV_EXTENSIONS", "HEADER_SEARCH_ROWS", "JSONL_EXTENSIONS", "MIN_HEADER_MATCHES", "NOTE_ROW",
    "PARQUET_EXTENSIONS", "TOTAL_WORDS", "WORKBOOK_EXTENSIONS", "XLSX_EXTENSIONS", "ReaderLimits",
    "SheetChoice", "UnreadableFile", "WorkbookFrames", "normalise_header", "read_csv", "read_jsonl", "read_parquet",
    "read_source", "read_workbook",
]

CSV_EXTENSIONS = {".csv", ".txt"}
XLSX_EXTENSIONS = {".xlsx", ".xlsm"}
WORKBOOK_EXTENSIONS = XLSX_EXTENSIONS | {".xls", ".xlsb", ".ods"}
JSONL_EXTENSIONS = {".jsonl", ".ndjson"}
PARQUET_EXTENSIONS = {".parquet"}
# Formats agencies' tools write that no reader here opens: said by name, with what to save as instead.
_SAVE_AS = {
    ".et": "WPS表格（.et）",
    ".ett": "WPS表格模板（.ett）",
    ".numbers": "Numbers（.numbers）",
    ".xltx": "Excel模板（.xltx）",
    ".xlt": "Excel模板（.xlt）",
    ".dbf": "dBase（.dbf）",
    ".json": "JSON（.json，应为每行一条记录的.jsonl）",
}
SAVE_AS_ZH = "请另存为Excel工作簿（.xlsx）、Excel 97-2003（.xls）、OpenDocument（.ods）或CSV（UTF-8）后上传"

_Reader = Callable[[Path, frozenset[str], int, ReaderLimits], Iterator[SourceFrame]]
# Each format's reader is imported when a file of that format is read (and these names on first use,
# PEP 562): the CSV reader brings charset_normalizer and pyarrow.csv (~50 ms), Parquet pyarrow.parquet
# with pyarrow.fs (~20 ms); a one-file upload needs one of them (start-up, bench/startup.py).
_MODULE_OF = {
    "read_csv": "connectors.files.delimited",
    "read_jsonl": "connectors.files.records",
    "read_parquet": "connectors.files.records",
    "read_workbook": "connectors.files.workbook",
    "SheetChoice": "connectors.files.workbook",
    "WorkbookFrames": "connectors.files.workbook",
}
_READERS: dict[str, str] = {
    **dict.fromkeys(CSV_EXTENSIONS, "read_csv"),
    **dict.fromkeys(WORKBOOK_EXTENSIONS, "read_workbook"),
    **dict.fromkeys(JSONL_EXTENSIONS, "read_jsonl"),
    **dict.fromkeys(PARQUET_EXTENSIONS, "read_parquet"),
}


def __getattr__(name: str) -> Any:
    """The readers and the workbook's types, imported from their module on first use."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULE_OF})


def read_source(
    path: Path, *, known_headers: Collection[str] = (), chunk_rows: int = 100_000,
    limits: ReaderLimits | None = None, sheet: str | None = None,
) -> Iterator[SourceFrame]:
    """Chunks of at most `chunk_rows` rows of `path`, read in constant memory where the format allows.

    The format comes from the extension. `known_headers` (the import templates' header texts and
    their variants) locate the header row of spreadsheets and CSV: the first of the first 50 rows
    with at least two of them; without them the first non-empty row is the header. A workbook's
    frames come from every sheet with such a header (or only `sheet`); the returned
    `WorkbookFrames` says which sheets were read and why the others were skipped.

    Raises `UnreadableFile` at once when the file cannot be opened, decoded, is past the `limits`
    or has no header row; a defect found further down a large file raises it while iterating.
    """
    path = Path(path)
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")
    suffix = path.suffix.lower()
    reader_name = _READERS.get(suffix)
    if reader_name is None:
        named = _SAVE_AS.get(suffix)
        kind = f"{named}文件无法直接读取" if named else f"不支持的文件类型“{suffix or '无扩展名'}”"
        raise UnreadableFile(path.name, f"{kind}，{SAVE_AS_ZH}", f"unsupported file type {suffix or '(no extension)'!r}")
    if not path.is_file():
        raise UnreadableFile(path.name, "文件不存在", "file does not exist")
    if path.stat().st_size == 0:
        raise UnreadableFile(path.name, "文件为空", "file is empty")
    known = frozenset(normalise_header(h) for h in known_headers) - {""}
    bounds = limits or ReaderLimits.from_env()
    reader: _Reader = __getattr__(reader_name)
    if reader_name == "read_workbook":
        return reader(path, known, chunk_rows, bounds, sheet)  # type: ignore[call-arg]
    return reader(path, known, chunk_rows, bounds)
