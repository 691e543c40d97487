"""JSON Lines and Parquet uploads: records with their own field names, read chunk by chunk.

Row numbers: for JSON Lines the physical line, for Parquet the 1-based record number. Both formats
come from scripts and ERPs, so their faults are those of a broken writer: a truncated or corrupt
Parquet page, text that is not UTF-8, a column written twice, JSON nested deeper than any record.
Each becomes a refusal naming the file (and the line), never a crash.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from connectors.files.errors import UnreadableFile
from connectors.files.limits import ReaderLimits
from tourlink.frames import ROW, SourceFrame

if TYPE_CHECKING:
    import pyarrow.parquet as pq


def is_failure(exc: BaseException) -> bool:
    """A library failure to turn into a refusal: any exception, and the Rust panics of pyo3-based
    readers (`PanicException` derives from BaseException), but never an interrupt or exit."""
    return not isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit)


# --- JSON Lines ----------------------------------------------------------------------------------


def read_jsonl(path: Path, known: frozenset[str], chunk_rows: int, limits: ReaderLimits) -> Iterator[SourceFrame]:
    line_no = 0
    with path.open("rb") as handle:
        while block := list(islice(iter(lambda: handle.readline(limits.max_line_bytes + 1), b""), chunk_rows)):
            if line_no == 0 and block[0].startswith(b"\xef\xbb\xbf"):
                block[0] = block[0][3:]
            numbers = [line_no + i + 1 for i, line in enumerate(block) if line.strip()]
            records = [line.rstrip(b"\r\n") for line in block if line.strip()]
            line_no += len(block)
            if not records:
                continue
            _check_records(path, records, numbers, limits)
            try:
                frame = pl.read_ndjson(io.BytesIO(b"\n".join(records)), infer_schema_length=None)
            except BaseException as exc:  # polars raises ComputeError/SchemaError (or panics) for bad JSON
                if not is_failure(exc):
                    raise
                raise _jsonl_error(path, records, numbers, exc) from None
            yield SourceFrame(data=frame.with_columns(pl.Series(ROW, numbers, dtype=pl.Int64)), file=path.name)


def _check_records(path: Path, records: list[bytes], numbers: list[int], limits: ReaderLimits) -> None:
    """Lines too long or nested too deep, refused before any parser recurses into them."""
    for number, record in zip(numbers, records, strict=True):
        if len(record) > limits.max_line_bytes:
            raise UnreadableFile(
                path.name,
                f"第{number}行超过{limits.max_line_bytes}字节",
                f"line {number} is longer than {limits.max_line_bytes} bytes",
            )
        # Bracket count bounds the depth from above: only lines with many brackets are scanned.
        if record.count(b"{") + record.count(b"[") > limits.max_nesting and _depth(record) > limits.max_nesting:
            raise UnreadableFile(
                path.name,
                f"第{number}行的JSON嵌套超过{limits.max_nesting}层",
                f"line {number}: JSON nested deeper than {limits.max_nesting} levels",
            )


def _depth(record: bytes) -> int:
    """Deepest object/array nesting of one JSON text, brackets inside strings not counted."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in record:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x7D, 0x5D):
            depth -= 1
    return deepest


def _jsonl_error(path: Path, records: list[bytes], numbers: list[int], exc: BaseException) -> UnreadableFile:
    for number, record in zip(numbers, records, strict=True):
        try:
            value = json.loads(record)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            return UnreadableFile(path.name, f"第{number}行不是合法的JSON", f"line {number} is not valid JSON")
        if not isinstance(value, dict):
            return UnreadableFile(path.name, f"第{number}行不是JSON对象", f"line {number} is not a JSON object")
    return UnreadableFile(path.name, "JSON Lines文件无法读取", f"unreadable JSON Lines: {type(exc).__name__}: {exc}")


# --- Parquet -------------------------------------------------------------------------------------


def read_parquet(path: Path, known: frozenset[str], chunk_rows: int, limits: ReaderLimits) -> Iterator[SourceFrame]:
    import pyarrow.parquet as pq  # here, not at the top: it brings pyarrow.fs (S3, GCS...), ~20 ms a workbook upload never needs

    try:
        parquet = pq.ParquetFile(path)
        names = parquet.schema_arrow.names
    except BaseException as exc:
        if not is_failure(exc):
            raise
        raise UnreadableFile(path.name, "无法打开Parquet文件：文件已损坏", f"cannot open as Parquet: {exc}") from None
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        parquet.close()
        raise UnreadableFile(
            path.name, f"Parquet文件中有重复的列名：{'、'.join(repeated)}", f"repeated column names: {repeated}"
        )
    if len(names) > limits.max_columns:
        parquet.close()
        raise UnreadableFile(
            path.name, f"Parquet文件有{len(names)}列，超过上限{limits.max_columns}列", f"{len(names)} columns"
        )
    return _parquet_chunks(path, parquet, chunk_rows)


def _parquet_chunks(path: Path, parquet: pq.ParquetFile, chunk_rows: int) -> Iterator[SourceFrame]:
    start = 1
    try:
        batches = parquet.iter_batches(batch_size=chunk_rows)
        while True:
            try:
                batch = next(batches, None)
                if batch is None:
                    return
                batch.validate(full=True)  # e.g. GBK bytes in a string column: not UTF-8
                frame = pl.from_arrow(batch)
            except BaseException as exc:  # snappy/page errors, invalid UTF-8, and panics of the converters
                if not is_failure(exc):
                    raise
                raise _parquet_error(path, start, exc) from None
            assert isinstance(frame, pl.DataFrame)
            numbers = pl.int_range(start, start + frame.height, dtype=pl.Int64, eager=True)
            start += frame.height
            yield SourceFrame(data=frame.with_columns(numbers.alias(ROW)), file=path.name)
    finally:
        parquet.close()


def _parquet_error(path: Path, start: int, exc: BaseException) -> UnreadableFile:
    if isinstance(exc, pa.ArrowInvalid) and "utf8" in str(exc).lower().replace("-", ""):
        return UnreadableFile(
            path.name,
            f"Parquet文件第{start}条记录起有不是UTF-8编码的文本，请以UTF-8重新导出",
            f"records from {start}: text that is not UTF-8: {exc}",
        )
    return UnreadableFile(
        path.name,
        f"Parquet文件已损坏：第{start}条记录起无法读取",
        f"corrupt Parquet from record {start}: {type(exc).__name__}: {exc}",
    )
