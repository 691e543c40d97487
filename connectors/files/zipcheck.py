"""Bounds of a zip-based workbook (xlsx, xlsm, xlsb, ods) checked from the zip's own headers.

The central directory states every member's compressed and uncompressed size, so a zip bomb (a few
KB inflating to gigabytes) and a workbook too large for the platform are refused before any parser
inflates a byte. A member that inflates past its declared size is caught by `zipfile` itself.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

from connectors.files.errors import UnreadableFile
from connectors.files.limits import ReaderLimits

_BLOCK = 1 << 20
# Rows numbered with 7+ digits and columns named with 3+ letters are the only candidates past the bounds.
_FAR_ROW = re.compile(rb'<row[^>]*?\sr="(\d{7,})"')
_FAR_CELL = re.compile(rb'<c[^>]*?\sr="([A-Z]{3,})(\d+)"')


def check_zip(path: Path, limits: ReaderLimits) -> None:
    """Refuse a workbook whose members would inflate past the bounds (declared sizes and ratios)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as exc:
        raise UnreadableFile(
            path.name, "无法打开Excel文件：文件已损坏，请用Excel重新保存后上传", f"not a readable zip: {exc}"
        ) from None
    total = sum(m.file_size for m in members)
    if total > limits.max_uncompressed_bytes:
        raise UnreadableFile(
            path.name,
            f"文件解压后超过{limits.max_uncompressed_bytes >> 20} MB，超出平台上限，请分成几个文件上传",
            f"{total} bytes uncompressed, more than {limits.max_uncompressed_bytes}",
        )
    for member in members:
        if member.file_size > (1 << 20) and member.file_size > limits.max_compression_ratio * max(
            member.compress_size, 1
        ):
            raise UnreadableFile(
                path.name,
                "文件内容异常（压缩比过高，疑似压缩炸弹），已拒收",
                f"{member.filename}: {member.compress_size} bytes inflate to {member.file_size} (zip bomb)",
            )


def check_xlsx_extent(path: Path, limits: ReaderLimits) -> None:
    """Refuse an xlsx whose cells reach past the row and column bounds.

    calamine allocates the sheet's whole rectangle: one cell at XFD1048576 asks for 16,384 × 1,048,576
    cells. The sheet XML is scanned as it inflates (a regex over bytes, no parse) for the rare far
    row numbers and column names.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            sheets = [n for n in archive.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)]
            for name in sheets:
                with archive.open(name) as member:
                    tail = b""
                    while block := member.read(_BLOCK):
                        text = tail + block
                        _check_far(path, text, limits)
                        tail = text[-64:]
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, NotImplementedError, EOFError, RuntimeError) as exc:
        raise UnreadableFile(
            path.name, "无法打开Excel文件：文件已损坏，请用Excel重新保存后上传", f"damaged zip member: {exc}"
        ) from None


def _check_far(path: Path, text: bytes, limits: ReaderLimits) -> None:
    for match in _FAR_ROW.finditer(text):
        if int(match.group(1)) > limits.max_rows:
            raise too_large(path, f"第{int(match.group(1))}行", f"row {int(match.group(1))}")
    for match in _FAR_CELL.finditer(text):
        column = 0
        for letter in match.group(1):
            column = column * 26 + letter - 64
        if column > limits.max_columns:
            cell = match.group(1).decode() + match.group(2).decode()
            raise too_large(path, f"单元格{cell}", f"cell {cell}")


def too_large(path: Path, where_zh: str, where: str) -> UnreadableFile:
    return UnreadableFile(
        path.name,
        f"工作表范围过大（{where_zh}超出平台上限），请删除表格以外的内容后重新保存",
        f"sheet extent past the bounds at {where}",
    )
