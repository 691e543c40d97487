"""Hostile and broken uploads, generated: the kept corpus of the reader fuzz suite (issue 16).

Each writer makes one file that once crashed a reader (a traceback, an abort or an unbounded
allocation) and must now be refused with a message naming the file.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HEADER = "团号,姓名,证件号码\n"


def long_csv_cell(folder: Path) -> Path:
    path = folder / "long-cell.csv"
    path.write_text(HEADER + "T1," + "张" * 140_000 + ",1\n", encoding="utf-8")
    return path


def long_csv_cell_in_header_search(folder: Path) -> Path:
    path = folder / "long-head.csv"
    path.write_text('"' + "x" * 140_000 + '"\n' + HEADER + "T1,张三,1\n", encoding="utf-8")
    return path


def invalid_utf8_far_down(folder: Path) -> Path:
    path = folder / "bad-utf8.csv"
    body = HEADER + "T1,张三,210102199001011234\n" * 12_000  # ~400 KB, past the encoding sample
    path.write_bytes(body.encode() + b"T1,\xff\xfe\xfa,1\n")
    return path


def _parquet_bytes(table: pa.Table, **options: object) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **options)
    return buffer.getvalue()


def corrupt_parquet_page(folder: Path) -> Path:
    table = pa.table({"团号": [f"T{i}" for i in range(5000)], "姓名": ["张三"] * 5000})
    data = bytearray(_parquet_bytes(table, compression="snappy"))
    for offset in range(64, len(data) // 2, 97):  # inside the pages: the footer stays readable
        data[offset] ^= 0x5A
    path = folder / "corrupt.parquet"
    path.write_bytes(bytes(data))
    return path


def gbk_parquet(folder: Path) -> Path:
    table = pa.table({"团号": pa.array([b"T1", "张三".encode("gbk")], type=pa.binary())})
    data = _parquet_bytes(table.cast(pa.schema([("团号", pa.string())]), safe=False))
    path = folder / "gbk.parquet"
    path.write_bytes(data)
    return path


def repeated_column_parquet(folder: Path) -> Path:
    table = pa.Table.from_arrays([pa.array(["T1"]), pa.array(["T2"])], names=["团号", "团号"])
    path = folder / "repeated.parquet"
    path.write_bytes(_parquet_bytes(table))
    return path


def deep_jsonl(folder: Path) -> Path:
    path = folder / "deep.jsonl"
    path.write_text('{"a":' * 100_000 + "1" + "}" * 100_000 + "\n", encoding="utf-8")
    return path


def _xlsx(path: Path, sheet_xml: str) -> Path:
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.'
        'xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
        'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        'relationships"><Relationship Id="r1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet '
        'name="S" sheetId="1" r:id="r1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="r1" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main"><sheetData>{sheet_xml}</sheetData></worksheet>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


def _row(number: int, cells: list[tuple[str, str]]) -> str:
    inner = "".join(f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>' for ref, text in cells)
    return f'<row r="{number}">{inner}</row>'


def far_cell_xlsx(folder: Path) -> Path:
    rows = _row(1, [("A1", "团号"), ("B1", "姓名")]) + _row(1048576, [("XFD1048576", "x")])
    return _xlsx(folder / "far-cell.xlsx", rows)


def wide_xlsx(folder: Path) -> Path:
    from openpyxl.utils import get_column_letter

    cells = [(f"{get_column_letter(c)}1", "团号" if c == 1 else ("姓名" if c == 2 else f"列{c}")) for c in range(1, 16385)]
    return _xlsx(folder / "wide.xlsx", _row(1, cells))


def zip_bomb_xlsx(folder: Path) -> Path:
    path = folder / "bomb.xlsx"
    _xlsx(path, _row(1, [("A1", "团号"), ("B1", "姓名")]))
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive, archive.open("xl/media/pad.bin", "w") as pad:
        block = b"\0" * (1 << 20)
        for _ in range(300):  # 300 MB of zeros deflate to ~300 KB
            pad.write(block)
    return path


def _seed_workbook(folder: Path, suffix: str) -> Path:
    from tests.connectors.workbook_writers import write_odfpy, write_xlwt

    path = folder / f"seed-{suffix}.{suffix}"
    (write_xlwt if suffix == "xls" else write_odfpy)(path, "标题", ["团号", "姓名", "证件号码"], [["T1", "张三", "1"]], None)
    return path


def huge_dimension_xls(folder: Path) -> Path:
    """A 5.6 KB xls whose DIMENSIONS record claims rows up to 0xFF000006: calamine asked for 513 GB and aborted."""
    data = bytearray(_seed_workbook(folder, "xls").read_bytes())
    at = data.index(b"\x00\x02\x0e\x00")  # record 0x0200, 14 bytes: rwMic(4) rwMac(4) colMic(2) colMac(2)
    data[at + 4 + 7] = 0xFF  # the top byte of rwMac
    path = folder / "huge-dimension.xls"
    path.write_bytes(bytes(data))
    return path


def repeated_rows_ods(folder: Path) -> Path:
    """A 1.7 KB ods whose title row repeats 99,000 times over 1,000 columns: calamine reached 6 GB, then aborted."""
    seed = zipfile.ZipFile(_seed_workbook(folder, "ods"))
    path = folder / "repeated-rows.ods"
    with seed, zipfile.ZipFile(path, "w") as out:
        for info in seed.infolist():
            data = seed.read(info)
            if info.filename == "content.xml":
                row, cell = b"<table:table-row>", b'<table:table-cell office:value-type="string">'
                assert data.count(row + cell) >= 1
                data = data.replace(row + cell, b'<table:table-row table:number-rows-repeated="99000">'
                                    b'<table:table-cell table:number-columns-repeated="1000" office:value-type="string">', 1)
            out.writestr(info, data, zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED)
    return path


CORPUS: dict[str, Callable[[Path], Path]] = {
    f.__name__: f
    for f in (long_csv_cell, long_csv_cell_in_header_search, invalid_utf8_far_down, corrupt_parquet_page,
              gbk_parquet, repeated_column_parquet, deep_jsonl, far_cell_xlsx, wide_xlsx, zip_bomb_xlsx,
              huge_dimension_xls, repeated_rows_ods)
}
