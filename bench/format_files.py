"""The 团队名单 roster written as xlsx, xls and ods for `bench/formats.py`, the way their writers lay it out.

- xlsx: SpreadsheetML written column-wise with a shared-strings table, as Excel and WPS save it (every
  text cell `t="s"`), numbers as number cells, a title row and a merged 团号 per group;
- xls: xlwt (an independent BIFF8 writer), 60,000 rows per sheet (the format holds 65,536);
- ods: OpenDocument content.xml written column-wise, as LibreOffice saves it.
Generating 1,000,000 rows through openpyxl or odfpy takes many minutes and gigabytes; the readers under
test do not care who wrote the bytes, only that they are what those applications write.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import polars as pl

HEADERS = [
    "团号", "团队类型", "组团社统一社会信用代码", "线路名称", "出发日期", "返回日期", "目的地", "客源地", "游客人数",
    "团队状态", "报送时间", "序号", "姓名", "性别", "出生日期", "证件类型", "证件号码", "国籍", "手机号码", "常住省份",
]  # fmt: skip
NUMERIC = {"游客人数", "序号"}
PER_GROUP = 30
XLS_SHEET_ROWS = 60_000
ORGANIZER = "91110105MA01ABCD26"  # a valid USCC: every row loads, none is quarantined
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


def roster(rows: int) -> pl.DataFrame:
    """`rows` tourists in groups of 30, every cell as text (numbers in `NUMERIC` columns)."""
    i = pl.int_range(0, rows, eager=True).alias("i")
    f = pl.DataFrame(i)
    birth = pl.date(1950, 1, 1) + pl.duration(days=(pl.col("i") * 7919) % 20000)
    body = pl.concat_str(pl.lit("110105"), birth.dt.strftime("%Y%m%d"), (pl.col("i") % 1000).cast(pl.String).str.pad_start(3, "0"))
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = pl.sum_horizontal(body.str.slice(k, 1).cast(pl.Int64) * w for k, w in enumerate(weights))
    doc = pl.concat_str(body, pl.lit("10X98765432").str.slice(total % 11, 1))
    name = pl.concat_str(
        pl.lit(_SURNAMES).str.slice(pl.col("i") % len(_SURNAMES), 1),
        pl.lit(_GIVEN).str.slice((pl.col("i") // 7) % len(_GIVEN), 1),
        pl.lit(_GIVEN).str.slice((pl.col("i") // 131) % len(_GIVEN), 1),
    )
    return f.select(
        pl.concat_str(pl.lit("BJ26"), (pl.col("i") // PER_GROUP).cast(pl.String).str.pad_start(6, "0")).alias("团号"),
        pl.lit("国内").alias("团队类型"), pl.lit(ORGANIZER).alias("组团社统一社会信用代码"),
        pl.lit("京津五日游").alias("线路名称"), pl.lit("2026-10-01").alias("出发日期"), pl.lit("2026-10-05").alias("返回日期"),
        pl.lit("北京市").alias("目的地"), pl.lit("北京市").alias("客源地"), pl.lit(str(PER_GROUP)).alias("游客人数"),
        pl.lit("已提交").alias("团队状态"), pl.lit("2026-09-20 08:00:00").alias("报送时间"),
        (pl.col("i") % PER_GROUP + 1).cast(pl.String).alias("序号"), name.alias("姓名"),
        pl.when(pl.col("i") % 2 == 0).then(pl.lit("男")).otherwise(pl.lit("女")).alias("性别"),
        birth.dt.strftime("%Y-%m-%d").alias("出生日期"), pl.lit("身份证").alias("证件类型"), doc.alias("证件号码"),
        pl.lit("中国").alias("国籍"), pl.concat_str(pl.lit("138"), (pl.col("i") % 100_000_000).cast(pl.String).str.pad_start(8, "0")).alias("手机号码"),
        pl.lit("北京市").alias("常住省份"),
    )  # fmt: skip


def _letters(n: int) -> list[str]:
    return [chr(ord("A") + k) for k in range(n)]


def write_xlsx(frame: pl.DataFrame, path: Path, title: str) -> Path:
    """Excel's layout: shared strings, `r` on every row and cell, the 团号 merged over each group."""
    texts = [c for c in frame.columns if c not in NUMERIC]
    # The header texts and the title first: their indexes are their positions.
    values = pl.concat([pl.Series(HEADERS), pl.Series([title]), *(frame.get_column(c) for c in texts)]).unique(maintain_order=True).alias("v")
    index = {v: k for k, v in enumerate([*HEADERS, title])}
    table = pl.DataFrame({"v": values, "k": pl.int_range(0, len(values), eager=True)})
    line = pl.int_range(3, 3 + frame.height, eager=True).cast(pl.String)
    cells = []
    for letter, name in zip(_letters(frame.width), frame.columns, strict=True):
        ref = pl.concat_str(pl.lit(f'<c r="{letter}'), pl.col("line"))
        if name in NUMERIC:
            cells.append(pl.concat_str(ref, pl.lit('"><v>'), pl.col(name), pl.lit("</v></c>")))
        else:
            key = pl.col(name).replace_strict(table["v"], table["k"]).cast(pl.String)
            cells.append(pl.concat_str(ref, pl.lit('" t="s"><v>'), key, pl.lit("</v></c>")))
    xml = frame.with_columns(line.alias("line")).select(
        pl.concat_str(pl.lit('<row r="'), pl.col("line"), pl.lit('">'), *cells, pl.lit("</row>")).alias("x")
    )
    letters = _letters(frame.width)
    head = f'<row r="1"><c r="A1" t="s"><v>{index[title]}</v></c></row><row r="2">'
    head += "".join(f'<c r="{letter}2" t="s"><v>{index[h]}</v></c>' for letter, h in zip(letters, HEADERS, strict=True)) + "</row>"
    groups = range(0, frame.height, PER_GROUP)
    merges = "".join(f'<mergeCell ref="A{3 + g}:A{min(g + PER_GROUP, frame.height) + 2}"/>' for g in groups)
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                   '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                   '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
        z.writestr("_rels/.rels", f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0" encoding="UTF-8"?><workbook {ns} xmlns:r="{rel}"><sheets><sheet name="团队名单" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as sst:
            sst.write(f'<?xml version="1.0" encoding="UTF-8"?><sst {ns} count="{len(values)}" uniqueCount="{len(values)}">'.encode())
            items = values.to_frame().select(pl.concat_str(pl.lit("<si><t>"), pl.col("v"), pl.lit("</t></si>")))
            for part in items.iter_slices(200_000):
                sst.write("".join(part.to_series().to_list()).encode())
            sst.write(b"</sst>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}><dimension ref="A1:{letters[-1]}{frame.height + 2}"/><sheetData>{head}'.encode())
            for chunk in xml.iter_slices(100_000):
                sheet.write("".join(chunk["x"].to_list()).encode())
            sheet.write(f'</sheetData><mergeCells count="{len(groups)}">{merges}</mergeCells></worksheet>'.encode())
    return path


def write_xls(frame: pl.DataFrame, path: Path, title: str) -> Path:
    """xlwt, 60,000 rows a sheet: numbers as number cells, text as text."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    numeric = [frame.columns.index(c) for c in NUMERIC]
    for part, start in enumerate(range(0, frame.height, XLS_SHEET_ROWS)):
        sheet = book.add_sheet(f"团队名单{part + 1}")
        sheet.write(0, 0, title)
        for c, h in enumerate(HEADERS):
            sheet.write(1, c, h)
        for r, row in enumerate(frame.slice(start, XLS_SHEET_ROWS).iter_rows(), start=2):
            write = sheet.row(r).write
            for c, value in enumerate(row):
                write(c, float(value) if c in numeric else value)
            if r % 1000 == 0:
                sheet.flush_row_data()
    book.save(str(path))
    return path


def write_ods(frame: pl.DataFrame, path: Path, title: str) -> Path:
    """content.xml as LibreOffice writes it: string cells `office:value-type="string"`, float cells."""
    cells = []
    for name in frame.columns:
        if name in NUMERIC:
            cells.append(pl.concat_str(pl.lit('<table:table-cell office:value-type="float" office:value="'), pl.col(name),
                                       pl.lit('"><text:p>'), pl.col(name), pl.lit("</text:p></table:table-cell>")))
        else:
            cells.append(pl.concat_str(pl.lit('<table:table-cell office:value-type="string"><text:p>'), pl.col(name),
                                       pl.lit("</text:p></table:table-cell>")))
    xml = frame.select(pl.concat_str(pl.lit("<table:table-row>"), *cells, pl.lit("</table:table-row>")).alias("x"))

    def text_row(values: list[str]) -> str:
        inner = "".join(f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>' for v in values)
        return f"<table:table-row>{inner}</table:table-row>"

    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                   '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                   '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
        with z.open("content.xml", "w", force_zip64=True) as content:
            content.write(f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns}><office:body><office:spreadsheet>'
                          f'<table:table table:name="团队名单">{text_row([title])}{text_row(HEADERS)}'.encode())
            for chunk in xml.iter_slices(100_000):
                content.write("".join(chunk["x"].to_list()).encode())
            content.write(b"</table:table></office:spreadsheet></office:body></office:document-content>")
    return path
