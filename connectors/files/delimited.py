"""CSV (and tab-separated .txt) uploads, streamed with Arrow in bounded memory.

Row numbers are physical lines, assuming no quoted value spans lines. Every cell is text; the only
cells flagged as numbers are those in Excel's scientific form (`2.10102E+17`): a CSV exported from a
sheet whose ID column was a number has already lost the digits, and mapping says so
(`EXCEL_NUMERIC_ID`) rather than `RIC_FORMAT`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv

from connectors.encoding import UndecodableText, detect_encoding
from connectors.files.errors import UnreadableFile
from connectors.files.limits import ReaderLimits
from connectors.files.table import HEADER_SEARCH_ROWS, Header, empty_frame, is_filler_line, locate_header, table_frame
from tourlink.frames import ROW, SourceFrame
from tourlink.memory import arrow_pool

# Arrow's streaming CSV reader reads up to 32 blocks ahead of the parser on its IO thread (a fixed
# read-ahead queue), each block a Python `bytes` of this size: 4 MB blocks held up to 128 MB of the
# file, i.e. a whole 1 M-row roster, and that grew with the file up to the cap. 512 KB blocks bound
# it at 16 MB and parse as fast as 1 MB ones (1.76 vs 1.75 CPU-s for 1 M roster rows; 256 KB cost
# 0.15 s more), with a read peak ~30 MB lower.
_CSV_BLOCK_BYTES = 1 << 19
# Encodings in which every ASCII character is its own byte (and no other character's bytes decode to
# "E+"): in these a file whose bytes hold no `E+`/`e+` holds no cell in Excel's scientific form.
_ASCII_COMPATIBLE = frozenset({"utf-8", "utf-8-sig", "gb18030", "gbk", "gb2312", "ascii"})
# How Excel's General format shows a number too long for 11 characters: one digit, decimals, E+exponent.
EXCEL_EXPONENT = r"^\s*\d(?:\.\d+)?[Ee]\+\d{1,3}\s*$"


def read_csv(path: Path, known: frozenset[str], chunk_rows: int, limits: ReaderLimits) -> Iterator[SourceFrame]:
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
    head = _head_lines(path, encoding, limits)
    delimiter = "\t" if sum(line.count("\t") for line in head) > sum(line.count(",") for line in head) else ","
    head_rows = _head_rows(path, head, delimiter, limits)
    header = locate_header(path, head_rows, known)
    if len(header.columns) > limits.max_columns:
        raise UnreadableFile(
            path.name,
            f"表头有{len(header.columns)}列，超过上限{limits.max_columns}列",
            f"{len(header.columns)} header columns, more than the limit of {limits.max_columns}",
        )
    # Rows may carry empty trailing fields beyond the header (Excel pads to the widest row).
    width = max(
        [len(head_rows[header.index])]
        + [
            len(row)
            for row in head_rows[header.index + 1 :]
            if not any(c.strip() for c in row[len(head_rows[header.index]) :])
        ]
    )
    return _csv_chunks(path, encoding, delimiter, header, width, chunk_rows, limits)


def _head_lines(path: Path, encoding: str, limits: ReaderLimits) -> list[str]:
    lines = []
    try:
        with path.open(encoding=encoding, newline="") as handle:
            for number in range(1, HEADER_SEARCH_ROWS + 1):
                line = handle.readline(limits.max_line_bytes + 1)
                if not line:
                    break
                if len(line) > limits.max_line_bytes:
                    raise UnreadableFile(
                        path.name,
                        f"第{number}行超过{limits.max_line_bytes}个字符，不是导入模板",
                        f"line {number} is longer than {limits.max_line_bytes} characters",
                    )
                lines.append(line.rstrip("\r\n"))
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            path.name,
            f"文件开头无法按{encoding_label(encoding)}解码：请将CSV另存为UTF-8或GBK编码",
            f"cannot decode the first lines as {encoding}: {exc.reason} at byte {exc.start}",
        ) from None
    return lines


def _head_rows(path: Path, head: list[str], delimiter: str, limits: ReaderLimits) -> list[list[str]]:
    rows: list[list[str]] = []
    try:
        for row in csv.reader(head, delimiter=delimiter):
            rows.append(row)
    except csv.Error as exc:  # e.g. a field over the csv module's limit of 131,072 characters
        number = len(rows) + 1
        raise UnreadableFile(
            path.name, f"第{number}行无法解析为CSV（单元格过长或引号不配对）", f"line {number}: {exc}"
        ) from None
    for number, row in enumerate(rows, start=1):
        for position, cell in enumerate(row):
            if len(cell) > limits.max_cell_chars:
                raise _long_cell(path, number, f"第{position + 1}列", limits)
    return rows


def _long_cell(path: Path, row: int, field: str, limits: ReaderLimits) -> UnreadableFile:
    return UnreadableFile(
        path.name,
        f"第{row}行“{field}”的内容超过{limits.max_cell_chars}个字符",
        f"row {row}, field {field!r}: a cell longer than {limits.max_cell_chars} characters",
    )


def encoding_label(encoding: str) -> str:
    return {"gb18030": "GBK/GB18030", "utf-8-sig": "UTF-8"}.get(encoding, encoding.upper())


def _csv_chunks(
    path: Path, encoding: str, delimiter: str, header: Header, width: int, chunk_rows: int, limits: ReaderLimits
) -> Iterator[SourceFrame]:
    raw_names = [f"f{i}" for i in range(width)]
    skipped_lines: list[int] = []
    bad_rows: list[pa_csv.InvalidRow] = []

    def on_invalid_row(row: pa_csv.InvalidRow) -> str:
        # Short lines that hold nothing but a note or a total (`注：…` without trailing commas) are
        # not data; any other line whose field count differs from the table's is an error.
        if row.actual_columns < row.expected_columns and row.number is not None:
            if is_filler_line(row.text, delimiter):
                skipped_lines.append(row.number)
                return "skip"
        bad_rows.append(row)
        return "error"

    def open_reader(handle: io.BufferedReader) -> pa_csv.CSVStreamingReader:
        # A Python file object, not the path: with a path Arrow reads ahead without bound (the
        # whole file sits in memory while the first chunks are still being parsed).
        return pa_csv.open_csv(
            handle,
            memory_pool=arrow_pool(),  # freed blocks go back to the system (`tourlink.memory`)
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

    scan = _ExponentScan(io.FileIO(path, "rb"), always=encoding not in _ASCII_COMPATIBLE)

    def batches() -> Iterator[pa.RecordBatch]:
        with scan as handle:
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
        del table  # a generator's locals live across its yield: hold one copy of the chunk, not three
        _check_cell_lengths(path, frame, lines, limits)
        columns = {n: frame.get_column(n) for n in names.values()}
        # The rows of this chunk were read already, so the bytes scanned so far include theirs.
        source = table_frame(path, None, columns, _exponent_cells(columns) if scan.seen else {}, lines)
        del frame, columns, lines
        if source.data.height:
            any_yielded = True
            handed = [source]
            del source  # while the caller holds the chunk this generator does not: it dies when the caller drops it
            yield handed.pop()
    if not any_yielded:
        yield empty_frame(path, None, list(names.values()), numeric=False)


def _check_cell_lengths(path: Path, frame: pl.DataFrame, lines: pl.Series, limits: ReaderLimits) -> None:
    """Refuse a chunk holding a cell over the limit, naming its line and column (one pass per column)."""
    for name in frame.columns:
        lengths = frame.get_column(name).str.len_bytes()
        if (lengths.max() or 0) > limits.max_cell_chars:  # bytes ≥ characters: only then count characters
            too_long = (frame.get_column(name).str.len_chars() > limits.max_cell_chars).fill_null(False)
            if too_long.any():
                raise _long_cell(path, int(lines.filter(too_long)[0]), name, limits)


class _ExponentScan(io.BufferedReader):
    """The file as Arrow reads it, noting whether any byte read so far starts an `E+`/`e+` (with the
    byte before each read, so a pair split across two reads counts): one memory scan per block, where
    testing every column of every chunk for Excel's scientific form cost more than parsing them."""

    def __init__(self, raw: io.FileIO, *, always: bool):
        super().__init__(raw, buffer_size=_CSV_BLOCK_BYTES)
        self.seen = always
        self._last = b""

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if not self.seen and data:
            self.seen = _has_exponent_mark(self._last + data[:1]) or _has_exponent_mark(data)
            self._last = data[-1:]
        return data

    def read1(self, size: int = -1) -> bytes:
        data = super().read1(size)
        if not self.seen and data:
            self.seen = _has_exponent_mark(self._last + data[:1]) or _has_exponent_mark(data)
            self._last = data[-1:]
        return data

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        self.seen = True  # not scanned: every chunk is tested column by column
        return super().readinto(buffer)


def _has_exponent_mark(data: bytes) -> bool:
    return b"E+" in data or b"e+" in data


def _exponent_cells(columns: dict[str, pl.Series]) -> dict[str, pl.Series]:
    """Per column holding any, the cells in Excel's scientific form (a literal pre-test skips most columns)."""
    flags = {}
    for name, values in columns.items():
        if values.str.contains("E+", literal=True).any() or values.str.contains("e+", literal=True).any():
            flags[name] = values.str.contains(EXCEL_EXPONENT).fill_null(False).alias(name)
    return flags


def _csv_error(path: Path, encoding: str, bad_rows: list, exc: Exception) -> UnreadableFile:
    if bad_rows:
        row = bad_rows[-1]
        where = f"第{row.number}行" if row.number is not None else "某一行"
        return UnreadableFile(
            path.name,
            f"{where}有{row.actual_columns}列，而表头有{row.expected_columns}列，请检查是否有多余或缺少的逗号",
            f"line {row.number}: {row.actual_columns} fields, the header has {row.expected_columns}",
        )
    if isinstance(exc, UnicodeDecodeError) or "decode" in str(exc).lower() or "utf8" in str(exc).lower():
        return UnreadableFile(
            path.name,
            f"文件中有无法按{encoding_label(encoding)}解码的内容：请将CSV另存为UTF-8或GBK编码",
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
        del batch
        while pending_rows >= chunk_rows:
            table = pa.Table.from_batches(pending)
            head, rest = table.slice(0, chunk_rows), table.slice(chunk_rows)
            pending, pending_rows = rest.to_batches(), rest.num_rows
            handed = [head]
            del table, rest, head  # while the caller holds the chunk, this generator holds only the rows after it
            yield handed.pop()
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


