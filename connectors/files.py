"""Readers that turn one raw input file into `SourceFrame` chunks (connector → mapping).

Agencies without an ERP upload the platform's import templates (SPEC section 5) as xlsx or CSV, and
those files are messy: a merged title row above the table, blank rows, a notes row and a 合计 row
below it, headers with required markers (`*证件号码`, `证件号码(必填)`), group columns merged
vertically over the rows of one group, IDs and phones stored as numbers. The readers find the
table, keep every cell as the agency typed it (as text) and say which cells were numbers, so
mapping can reject a lost 18-digit ID (`EXCEL_NUMERIC_ID`) instead of guessing.

Row numbers (`__row`) are what the steward sees: the spreadsheet row (1-based, title and header rows
counted); for CSV the physical line, assuming no quoted value spans lines; for JSON Lines the line
(= the record number when the file has no blank lines); for Parquet the 1-based record number.

Cell rendering for xlsx (every data cell becomes text):
- text as-is (surrounding whitespace kept, empty → null);
- integer-valued numbers below 1e15 without `.0` (`13800138000`);
- every other number as Python `repr` (`1.5`, `2.101021990010112e+17`): a float at or above 1e15
  cannot hold an 18-digit ID, so it is never turned back into digits that look like an ID;
- date cells `YYYY-MM-DD`, date-time cells `YYYY-MM-DD HH:MM:SS`, times `HH:MM:SS`;
- booleans `true` / `false`.

Why python-calamine and not fastexcel for xlsx: fastexcel renders a sheet to Arrow column-wise, but
every dtype it offers either coerces text to numbers (`"13800138000"` typed as text becomes a
float) or numbers to text, so it cannot say which cells were numbers; each extra load re-parses the
sheet (~1.5 s per 100k rows). python-calamine parses once and keeps each cell's type. The sheet is
parsed whole (xlsx cannot be streamed cheaply), cells become Python objects one chunk at a time,
and plain text columns (the usual case) convert to polars in one step.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import chain, islice
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import python_calamine

from connectors.encoding import UndecodableText, detect_encoding
from tourlink.frames import ROW, SourceFrame

HEADER_SEARCH_ROWS = 50
MIN_HEADER_MATCHES = 2
TOTAL_WORDS = ("合计", "总计", "小计")
# A notes row starts with one of these words followed by punctuation, a number or nothing.
_NOTE_ROW = r"^(?:填表说明|注意事项|说明|备注|注意|注)(?:\s*[:：、.．\d(（]|$)"
_FIGURE = r"^[-+]?[\d,，.]+\s*(?:人|元|天|个|名|次|团|人次|万元)?$"
_REQUIRED_MARKS = "*★※"
_TRAILING_NOTE = re.compile(r"(?:\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】|<[^<>]*>)$")
_WHITESPACE = re.compile(r"\s+")
# Invisible characters a damaged export leaves in a header cell: control characters (a leading NUL),
# a second byte-order mark, zero-width spaces and joiners, direction marks.
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_NUMERIC_PREFIX = "\x00numeric\x00"  # temporary columns carrying numeric flags through filters
# Arrow's streaming CSV reader reads up to 32 blocks ahead of the parser on its IO thread (a fixed
# read-ahead queue), each block a Python `bytes` of this size: 4 MB blocks held up to 128 MB of the
# file, i.e. a whole 1 M-row roster, and that grew with the file up to the cap. 1 MB blocks bound
# it at 32 MB and parse as fast.
_CSV_BLOCK_BYTES = 1 << 20

CSV_EXTENSIONS = {".csv", ".txt"}
XLSX_EXTENSIONS = {".xlsx", ".xlsm"}
JSONL_EXTENSIONS = {".jsonl", ".ndjson"}
PARQUET_EXTENSIONS = {".parquet"}


class UnreadableFile(Exception):
    """The file cannot be read at all: the SFTP drop rejects it with `reason_zh` for the agency."""

    def __init__(self, file: str, reason_zh: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason_zh = reason_zh
        self.reason = reason


def normalise_header(text: str) -> str:
    """A header cell as templates are matched: NFKC, no whitespace, no required markers or notes.

    `＊证件号码（必填）`, ` 证件 号码 ` and `\\ufeff\\ufeff证件号码` (a second BOM) all become `证件号码`.
    """
    name = _WHITESPACE.sub("", _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)))
    while True:
        before = name
        name = name.strip(_REQUIRED_MARKS)
        note = _TRAILING_NOTE.search(name)
        if note is not None and note.start() > 0:
            name = name[: note.start()]
        if name == before:
            return name


def read_source(path: Path, *, known_headers: Collection[str] = (), chunk_rows: int = 100_000) -> Iterator[SourceFrame]:
    """Chunks of at most `chunk_rows` rows of `path`, read in constant memory where the format allows.

    The format comes from the extension. `known_headers` (the import templates' header texts and
    their variants) locate the header row of spreadsheets and CSV: the first of the first 50 rows
    with at least two of them; without them the first non-empty row is the header.

    Raises `UnreadableFile` at once when the file cannot be opened, decoded or has no header row;
    a defect found further down a large file (a malformed CSV line) raises it while iterating.
    """
    path = Path(path)
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        raise UnreadableFile(
            path.name,
            f"不支持的文件类型“{suffix or '无扩展名'}”，请上传xlsx或CSV格式的导入模板",
            f"unsupported file type {suffix or '(no extension)'!r}",
        )
    if not path.is_file():
        raise UnreadableFile(path.name, "文件不存在", "file does not exist")
    if path.stat().st_size == 0:
        raise UnreadableFile(path.name, "文件为空", "file is empty")
    known = frozenset(normalise_header(h) for h in known_headers) - {""}
    return reader(path, known, chunk_rows)


# --- header row and non-data rows (shared by CSV and xlsx) ---------------------------------------


@dataclass(frozen=True)
class _Header:
    index: int  # 0-based row (sheet row or physical CSV line) of the header
    columns: tuple[tuple[int, str], ...]  # (cell position in the row, output column name)


def _locate_header(path: Path, rows: Sequence[Sequence[str]], known: frozenset[str]) -> _Header:
    """The header row: the first row of the first 50 with enough known header texts."""
    needed = min(MIN_HEADER_MATCHES, len(known))
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        names = {normalise_header(cell) for cell in row} - {""}
        if (known and len(names & known) >= needed) or (not known and names):
            return _Header(index=index, columns=_header_columns(row))
    if known:
        raise UnreadableFile(
            path.name,
            f"无法识别表头：前{HEADER_SEARCH_ROWS}行中没有与导入模板匹配的列名",
            f"no header row: none of the first {HEADER_SEARCH_ROWS} rows has at least {needed} known template headers",
        )
    raise UnreadableFile(
        path.name,
        f"无法识别表头：前{HEADER_SEARCH_ROWS}行都是空行",
        f"no header row: the first {HEADER_SEARCH_ROWS} rows are empty",
    )


def _header_columns(row: Sequence[str]) -> tuple[tuple[int, str], ...]:
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


def _data_rows_only(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """Drop blank rows, notes rows and the trailing totals rows, recognised by shape and position,
    never by one cell's text (a tourist whose route is 合计 is data):

    - a notes row holds one value alone (`注：…`, `说明`; a merged cell repeats it in every column),
      a notes word followed by text or in a single cell: anywhere in the table;
    - a totals row starts with 合计/总计/小计, its other cells are figures (`22`, `3人`) or mostly
      empty, and only blank, notes or totals rows follow it (in this chunk).

    Two passes: cheap literal tests over every row find the few suspects, and only those get the
    exact (regex, whitespace-folding) tests.
    """
    if not columns:
        return frame
    # One text per row (its cells joined) keeps the cheap pass to a handful of column operations.
    row_text = pl.concat_str(columns, separator=" ", ignore_nulls=True).fill_null("").str.strip_chars()
    flags = frame.select(
        keep=row_text.str.len_bytes() > 0,
        suspect=row_text.str.contains("计", literal=True) | row_text.str.slice(0, 1).is_in(["注", "说", "备", "填"]),
    )
    keep = flags.get_column("keep")
    suspects = flags.get_column("suspect").arg_true()
    if len(suspects):
        shapes = frame[suspects].select(_note_or_total_shape(columns))
        notes, totals = suspects.filter(shapes["note"]), suspects.filter(shapes["total"] & ~shapes["note"])
        keep = keep.scatter(notes, False)
        data = keep.clone().scatter(totals, False).arg_true()
        # A totals-shaped row with data below it is data: only the trailing ones are totals.
        keep = keep.scatter(totals.filter(totals > data[-1]) if len(data) else totals, False)
    return frame.filter(keep)


def _note_or_total_shape(columns: Sequence[str]) -> list[pl.Expr]:
    stripped = [pl.col(c).str.strip_chars() for c in columns]
    filled = [s.is_not_null() & (s != "") for s in stripped]
    count = pl.sum_horizontal(filled)
    first = pl.coalesce([pl.when(f).then(s) for f, s in zip(filled, stripped, strict=True)])
    folded = first.str.replace_all(r"\s", "").str.strip_chars(":：")
    # A notes cell merged across the table is repeated in every column by the merge fill-down.
    alone = pl.all_horizontal([~f | (s == first) for f, s in zip(filled, stripped, strict=True)])
    bare_word = first.str.replace_all(_NOTE_ROW, "").str.strip_chars(" :：、.．").str.len_chars() == 0
    is_note = (first.str.contains(_NOTE_ROW) & alone & ((count == 1) | ~bare_word)).fill_null(False)
    # The rest of a totals row is counts and sums (`22`, `3人`, `3,500.00元`) or mostly empty.
    figures = pl.all_horizontal(
        [~f | (s == first) | s.str.contains(_FIGURE) for f, s in zip(filled, stripped, strict=True)]
    )
    is_total = (folded.is_in(TOTAL_WORDS) & (figures | (count * 2 <= len(columns)))).fill_null(False)
    return [is_note.alias("note"), is_total.alias("total")]


def _spreadsheet_frame(
    path: Path, sheet: str | None, columns: dict[str, pl.Series], numeric: dict[str, pl.Series], rows: pl.Series
) -> SourceFrame:
    hidden = {f"{_NUMERIC_PREFIX}{name}": flags for name, flags in numeric.items()}
    frame = pl.DataFrame({**columns, ROW: rows, **hidden})
    frame = _data_rows_only(frame, list(columns))
    numeric_cells = {name: frame.get_column(f"{_NUMERIC_PREFIX}{name}").alias(name) for name in numeric}
    return SourceFrame(data=frame.select(*columns, ROW), file=path.name, sheet=sheet, numeric_cells=numeric_cells)


def _empty_frame(path: Path, sheet: str | None, names: list[str], *, numeric: bool) -> SourceFrame:
    """A table with a header and no data rows still yields one (empty) frame: mapping sees its headers."""
    data = pl.DataFrame({**{n: pl.Series(n, [], dtype=pl.String) for n in names}, ROW: pl.Series([], dtype=pl.Int64)})
    flags = {n: pl.Series(n, [], dtype=pl.Boolean) for n in names} if numeric else {}
    return SourceFrame(data=data, file=path.name, sheet=sheet, numeric_cells=flags)


# --- CSV -----------------------------------------------------------------------------------------


def _read_csv(path: Path, known: frozenset[str], chunk_rows: int) -> Iterator[SourceFrame]:
    with path.open("rb") as handle:
        if handle.read(4) == b"PK\x03\x04":  # a zip: an xlsx renamed to .csv, a common slip
            raise UnreadableFile(
                path.name,
                f"文件内容是Excel（xlsx）格式，但扩展名是“{path.suffix}”：请改为.xlsx或另存为CSV后上传",
                "an xlsx (zip) file with a CSV extension",
            )
    try:
        encoding = detect_encoding(path)
    except UndecodableText:
        raise UnreadableFile(
            path.name,
            "无法识别文件编码：请将CSV另存为UTF-8或GBK编码",
            "undecodable CSV: neither UTF-8 nor GBK/GB18030",
        ) from None
    head = _head_lines(path, encoding)
    delimiter = "\t" if sum(line.count("\t") for line in head) > sum(line.count(",") for line in head) else ","
    head_rows = list(csv.reader(head, delimiter=delimiter))
    header = _locate_header(path, head_rows, known)
    # Rows may carry empty trailing fields beyond the header (Excel pads to the widest row).
    width = max(
        [len(head_rows[header.index])]
        + [
            len(row)
            for row in head_rows[header.index + 1 :]
            if not any(c.strip() for c in row[len(head_rows[header.index]) :])
        ]
    )
    return _csv_chunks(path, encoding, delimiter, header, width, chunk_rows)


def _head_lines(path: Path, encoding: str) -> list[str]:
    try:
        with path.open(encoding=encoding, newline="") as handle:
            return [line.rstrip("\r\n") for line in islice(handle, HEADER_SEARCH_ROWS)]
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            path.name,
            f"文件开头无法按{_encoding_label(encoding)}解码：请将CSV另存为UTF-8或GBK编码",
            f"cannot decode the first lines as {encoding}: {exc}",
        ) from None


def _encoding_label(encoding: str) -> str:
    return {"gb18030": "GBK/GB18030", "utf-8-sig": "UTF-8"}.get(encoding, encoding.upper())


def _csv_chunks(
    path: Path, encoding: str, delimiter: str, header: _Header, width: int, chunk_rows: int
) -> Iterator[SourceFrame]:
    raw_names = [f"f{i}" for i in range(width)]
    skipped_lines: list[int] = []
    bad_rows: list[pa_csv.InvalidRow] = []

    def on_invalid_row(row: pa_csv.InvalidRow) -> str:
        # Short lines that hold nothing but a note or a total (`注：…` without trailing commas) are
        # not data; any other line whose field count differs from the table's is an error.
        if row.actual_columns < row.expected_columns and row.number is not None:
            if _is_filler_line(row.text, delimiter):
                skipped_lines.append(row.number)
                return "skip"
        bad_rows.append(row)
        return "error"

    def open_reader(handle: io.BufferedReader) -> pa_csv.CSVStreamingReader:
        # A Python file object, not the path: with a path Arrow reads ahead without bound (the
        # whole file sits in memory while the first chunks are still being parsed).
        return pa_csv.open_csv(
            handle,
            read_options=pa_csv.ReadOptions(
                encoding="utf8" if encoding in ("utf-8", "utf-8-sig") else encoding,
                skip_rows=header.index + 1,
                column_names=raw_names,
                use_threads=False,
                block_size=_CSV_BLOCK_BYTES,
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter, ignore_empty_lines=False, invalid_row_handler=on_invalid_row
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in raw_names},
                include_columns=[f"f{position}" for position, _ in header.columns],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )

    first_data_line = header.index + 2  # 1-based physical line of the first line after the header
    names = {f"f{position}": name for position, name in header.columns}

    def batches() -> Iterator[pa.RecordBatch]:
        with path.open("rb") as handle:
            try:
                yield from open_reader(handle)  # opening already parses the first block
            except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                raise _csv_error(path, encoding, bad_rows, exc) from None

    emitted = 0
    any_yielded = False
    for table in _rechunk(batches(), chunk_rows):
        count = table.num_rows
        lines = _csv_line_numbers(emitted, count, first_data_line, skipped_lines)
        emitted += count
        frame = pl.from_arrow(table).rename(names)
        assert isinstance(frame, pl.DataFrame)
        source = _spreadsheet_frame(path, None, {n: frame.get_column(n) for n in names.values()}, {}, lines)
        if source.data.height:
            any_yielded = True
            yield source
    if not any_yielded:
        yield _empty_frame(path, None, list(names.values()), numeric=False)


def _is_filler_line(text: str, delimiter: str) -> bool:
    """A short line that is blank, a note, or a total labelled in its first field (never a cell
    somewhere in the line: a short tourist line whose route is 合计 is an error, not a filler)."""
    content = text.replace(delimiter, "").replace('"', "").strip()
    fields = [f.replace('"', "").strip() for f in text.split(delimiter)]
    label = next((f for f in fields if f), "")
    total = re.sub(r"\s", "", label).strip(":：") in TOTAL_WORDS
    return not content or bool(re.match(_NOTE_ROW, content)) or total


def _csv_error(path: Path, encoding: str, bad_rows: list, exc: Exception) -> UnreadableFile:
    if bad_rows:
        row = bad_rows[-1]
        where = f"第{row.number}行" if row.number is not None else "某一行"
        return UnreadableFile(
            path.name,
            f"{where}有{row.actual_columns}列，而表头有{row.expected_columns}列，请检查是否有多余或缺少的逗号",
            f"line {row.number}: {row.actual_columns} fields, the header has {row.expected_columns}",
        )
    if isinstance(exc, UnicodeDecodeError) or "decode" in str(exc).lower():
        return UnreadableFile(
            path.name,
            f"文件中有无法按{_encoding_label(encoding)}解码的内容：请将CSV另存为UTF-8或GBK编码",
            f"cannot decode as {encoding}: {exc}",
        )
    return UnreadableFile(path.name, "CSV格式错误，无法读取", f"malformed CSV: {exc}")


def _rechunk(batches: Iterable[pa.RecordBatch], chunk_rows: int) -> Iterator[pa.Table]:
    """Tables of exactly `chunk_rows` rows (the last one shorter) from record batches of any size."""
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    for batch in batches:
        pending.append(batch)
        pending_rows += batch.num_rows
        while pending_rows >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, chunk_rows)
            rest = table.slice(chunk_rows)
            pending = rest.to_batches()
            pending_rows = rest.num_rows
    if pending_rows:
        yield pa.Table.from_batches(pending)


def _csv_line_numbers(start: int, count: int, first_line: int, skipped: list[int]) -> pl.Series:
    """Physical line numbers of parsed rows `start … start+count-1`, stepping over skipped lines.

    The j-th skipped line (0-based, sorted) sits before parsed row `line - first_line - j`; a parsed
    row is shifted by the number of skipped lines at or before its position.
    """
    positions = pl.int_range(start, start + count, dtype=pl.Int64, eager=True)
    lines = positions + first_line
    if skipped:
        ordered = pl.Series(sorted(skipped), dtype=pl.Int64)
        before = ordered - first_line - pl.int_range(0, len(ordered), dtype=pl.Int64, eager=True)
        lines = lines + before.search_sorted(positions, side="right").cast(pl.Int64)
    return lines.alias(ROW)


# --- xlsx ----------------------------------------------------------------------------------------


def _read_xlsx(path: Path, known: frozenset[str], chunk_rows: int) -> Iterator[SourceFrame]:
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
    except Exception as exc:  # calamine raises several unrelated types for a damaged zip/XML
        raise UnreadableFile(
            path.name,
            "无法打开Excel文件：文件已损坏或不是xlsx格式，请用Excel重新保存后上传",
            f"cannot open as xlsx: {type(exc).__name__}: {exc}",
        ) from None
    if sheet.start is None:
        raise UnreadableFile(path.name, "第一个工作表是空的", "the first sheet is empty")
    rows = sheet.iter_rows()
    head = list(islice(rows, HEADER_SEARCH_ROWS))
    header = _locate_header(path, [[_cell_text(v) or "" for v in row] for row in head], known)
    first_col = sheet.start[1]
    merges = [
        (r0, c0 - first_col, r1, c1 - first_col)
        for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or ()
        if r1 > r0 and r0 > header.index
    ]
    data = chain(head[header.index + 1 :], rows)
    return _xlsx_chunks(path, sheet.name, header, data, merges, chunk_rows, workbook)


def _xlsx_chunks(
    path: Path,
    sheet: str,
    header: _Header,
    rows: Iterator[list],
    merges: list[tuple[int, int, int, int]],
    chunk_rows: int,
    workbook: python_calamine.CalamineWorkbook,
) -> Iterator[SourceFrame]:
    top_values: dict[tuple[int, int, int, int], object] = {}
    next_row = header.index + 1  # 0-based sheet row of the first row of the next block
    any_yielded = False
    try:
        while block := list(islice(rows, chunk_rows)):
            cells: list[Sequence[object]] = list(zip(*block, strict=False))
            _fill_merged(cells, next_row, len(block), merges, top_values)
            texts: dict[str, pl.Series] = {}
            numeric: dict[str, pl.Series] = {}
            for position, name in header.columns:
                values = cells[position] if position < len(cells) else (None,) * len(block)
                texts[name], numeric[name] = _render_column(name, values)
            numbers = pl.int_range(next_row + 1, next_row + 1 + len(block), dtype=pl.Int64, eager=True)
            next_row += len(block)
            source = _spreadsheet_frame(path, sheet, texts, numeric, numbers.alias(ROW))
            if source.data.height:
                any_yielded = True
                yield source
        if not any_yielded:
            yield _empty_frame(path, sheet, [name for _, name in header.columns], numeric=True)
    finally:
        workbook.close()


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


def _cell_text(value: object) -> str | None:
    """One xlsx cell as text (see the module docstring); empty cells are None."""
    kind = type(value)
    if kind is str:
        return value or None  # type: ignore[return-value]
    if value is None:
        return None
    if kind is float:
        return _float_text(value)  # type: ignore[arg-type]
    if kind is bool:
        return "true" if value else "false"
    if kind is datetime:
        return value.strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[attr-defined]
    if kind is date:
        return value.isoformat()  # type: ignore[attr-defined]
    if kind is time:
        return value.strftime("%H:%M:%S")  # type: ignore[attr-defined]
    if kind is timedelta:
        return str(value)
    return str(value)


def _float_text(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _render_column(name: str, values: Sequence[object]) -> tuple[pl.Series, pl.Series]:
    """(text, was-a-number) for one column of a block of xlsx rows.

    Text columns (the usual case) convert in one step; numbers are rendered column-wise; only
    the rare date/bool cells take a per-cell path.
    """
    kinds = set(map(type, values))
    if kinds <= {str}:
        text = pl.Series(name, values, dtype=pl.String).replace("", None)
        return text, pl.Series(name, [False] * len(values), dtype=pl.Boolean)
    is_number = pl.Series(name, [type(v) is float or type(v) is int for v in values], dtype=pl.Boolean)
    floats = pl.Series(name, [v if type(v) is float else None for v in values], dtype=pl.Float64)
    others = pl.Series(name, [None if type(v) is float else _cell_text(v) for v in values], dtype=pl.String)
    return others.fill_null(_float_column_text(floats)), is_number


def _float_column_text(floats: pl.Series) -> pl.Series:
    """Column-wise `_float_text`: integers below 1e15 without `.0`, the rest via `repr`."""
    integral = ((floats.abs() < 1e15) & (floats == floats.floor())).fill_null(False)
    text = pl.select(pl.when(integral).then(floats.cast(pl.Int64, strict=False).cast(pl.String))).to_series()
    rest = (~integral & floats.is_not_null()).arg_true()
    if len(rest):
        text = text.scatter(rest, [repr(v) for v in floats.gather(rest).to_list()])
    return text.alias(floats.name)


# --- JSON Lines and Parquet ----------------------------------------------------------------------


def _read_jsonl(path: Path, known: frozenset[str], chunk_rows: int) -> Iterator[SourceFrame]:
    return _jsonl_chunks(path, chunk_rows)


def _jsonl_chunks(path: Path, chunk_rows: int) -> Iterator[SourceFrame]:
    line_no = 0
    with path.open("rb") as handle:
        while block := list(islice(handle, chunk_rows)):
            if line_no == 0 and block[0].startswith(b"\xef\xbb\xbf"):
                block[0] = block[0][3:]
            numbers = [line_no + i + 1 for i, line in enumerate(block) if line.strip()]
            records = [line.rstrip(b"\r\n") for line in block if line.strip()]
            line_no += len(block)
            if not records:
                continue
            try:
                frame = pl.read_ndjson(io.BytesIO(b"\n".join(records)), infer_schema_length=None)
            except Exception as exc:  # polars raises ComputeError/SchemaError for bad JSON
                raise _jsonl_error(path, records, numbers, exc) from None
            yield SourceFrame(data=frame.with_columns(pl.Series(ROW, numbers, dtype=pl.Int64)), file=path.name)


def _jsonl_error(path: Path, records: list[bytes], numbers: list[int], exc: Exception) -> UnreadableFile:
    for number, record in zip(numbers, records, strict=True):
        try:
            value = json.loads(record)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return UnreadableFile(path.name, f"第{number}行不是合法的JSON", f"line {number} is not valid JSON")
        if not isinstance(value, dict):
            return UnreadableFile(path.name, f"第{number}行不是JSON对象", f"line {number} is not a JSON object")
    return UnreadableFile(path.name, "JSON Lines文件无法读取", f"unreadable JSON Lines: {exc}")


def _read_parquet(path: Path, known: frozenset[str], chunk_rows: int) -> Iterator[SourceFrame]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableFile(path.name, "无法打开Parquet文件：文件已损坏", f"cannot open as Parquet: {exc}") from None
    return _parquet_chunks(path, parquet, chunk_rows)


def _parquet_chunks(path: Path, parquet: pq.ParquetFile, chunk_rows: int) -> Iterator[SourceFrame]:
    start = 1
    try:
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            numbers = pl.int_range(start, start + frame.height, dtype=pl.Int64, eager=True)
            start += frame.height
            yield SourceFrame(data=frame.with_columns(numbers.alias(ROW)), file=path.name)
    finally:
        parquet.close()


_READERS: dict[str, Callable[[Path, frozenset[str], int], Iterator[SourceFrame]]] = {
    **dict.fromkeys(CSV_EXTENSIONS, _read_csv),
    **dict.fromkeys(XLSX_EXTENSIONS, _read_xlsx),
    **dict.fromkeys(JSONL_EXTENSIONS, _read_jsonl),
    **dict.fromkeys(PARQUET_EXTENSIONS, _read_parquet),
}
