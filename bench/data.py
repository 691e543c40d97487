"""The bench's inputs: N canonical `group_member` rows as CSV (and the `tour_group` CSV they belong to),
and the first of them as the 团队名单 xlsx import template. Column-wise, deterministic: the same N, the
same bytes (every run of every contender reads the same files)."""

from __future__ import annotations

from pathlib import Path

PER_GROUP = 30
COLUMNS = [
    "organizer_uscc", "group_code", "seq_no", "name", "name_pinyin", "gender", "birth_date",
    "doc_type", "doc_no", "nationality", "mobile", "residence_province",
]  # fmt: skip


def generate(rows: int, out: Path) -> tuple[Path, Path]:
    """Canonical CSVs: `group_member` (the measured file) and the `tour_group`s it belongs to."""
    import polars as pl

    i = pl.int_range(0, rows, eager=True)
    birth = pl.date(1950, 1, 1) + pl.duration(days=(i * 7919) % 20000)
    frame = pl.DataFrame({"i": i}).select(
        organizer_uscc=pl.lit("91110000MA01ABCD2Q"),
        group_code=pl.format("T{}", (pl.col("i") // PER_GROUP).cast(pl.String).str.pad_start(8, "0")),
        seq_no=pl.col("i") % PER_GROUP + 1,
        name=pl.format("游客{}", pl.col("i")),
        name_pinyin=pl.format("YOUKE {}", pl.col("i")),
        gender=pl.when(pl.col("i") % 2 == 1).then(pl.lit("M")).otherwise(pl.lit("F")),  # 17th ID digit odd = male
        birth_date=birth.dt.strftime("%Y-%m-%d"),
        doc_type=pl.lit("CN_RIC"),
        doc_no=_ric(pl.col("i"), birth),
        nationality=pl.lit("CHN"),
        mobile=pl.format("138{}", (pl.col("i") % 100_000_000).cast(pl.String).str.pad_start(8, "0")),
        residence_province=pl.lit("11"),
    )
    members = out / f"group_member_{rows}.csv"
    frame.write_csv(members)
    groups = (
        frame.select("organizer_uscc", "group_code")
        .unique(maintain_order=True)
        .with_columns(
            group_type=pl.lit("DOMESTIC"),
            start_date=pl.lit("2026-10-01"),
            end_date=pl.lit("2026-10-05"),
            destinations=pl.lit("110000"),
            tourist_count=pl.lit(PER_GROUP),
            status=pl.lit("SUBMITTED"),
            submitted_at=pl.lit("2026-09-20 08:00:00"),
            updated_at=pl.lit("2026-09-20 08:00:00"),
        )
    )
    tour_groups = out / f"tour_group_{rows}.csv"
    groups.write_csv(tour_groups)
    return members, tour_groups


def _ric(i, birth):  # noqa: ANN001, ANN202 - polars expressions
    """A valid resident ID (GB 11643 check digit), column-wise."""
    import polars as pl

    body = pl.concat_str(
        pl.lit("110105"), birth.dt.strftime("%Y%m%d"), (i % 1000).cast(pl.String).str.pad_start(3, "0")
    )
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = pl.sum_horizontal(body.str.slice(k, 1).cast(pl.Int64) * w for k, w in enumerate(weights))
    check = pl.lit("10X98765432").str.slice(total % 11, 1)
    return pl.concat_str(body, check)


ROSTER_HEADERS = [
    "团号", "团队类型", "组团社统一社会信用代码", "地接社统一社会信用代码", "线路名称", "出发日期", "返回日期", "目的地",
    "出境口岸", "入境口岸", "客源地", "游客人数", "团队状态", "报送时间", "序号", "姓名", "姓名拼音", "性别", "出生日期",
    "证件类型", "证件号码", "国籍", "手机号码", "常住省份", "领队证号",
]  # fmt: skip
_XLSX_PARTS = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>",
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>",
    "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="团队名单" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>",
}


def generate_xlsx(members_csv: Path, rows: int, out: Path) -> Path:
    """The first `rows` roster rows as the 团队名单 import template (SPEC §5): one tourist per row, the
    group's columns repeated, Chinese labels, a title row above the header, IDs as text cells.

    Written as SpreadsheetML directly, column-wise (xlsxwriter's per-cell API needs ~10 min per
    million rows on this machine); the reader under test is calamine, as for any uploaded file.
    """
    import zipfile

    import polars as pl

    m = pl.read_csv(members_csv, n_rows=rows, infer_schema=False)
    frame = m.select(
        pl.col("group_code"), pl.lit("国内").alias("group_type"), pl.col("organizer_uscc"),
        pl.lit(None, pl.String).alias("receiving"), pl.lit("京津五日游").alias("route"),
        pl.lit("2026-10-01").alias("start"), pl.lit("2026-10-05").alias("end"), pl.lit("110000").alias("dest"),
        pl.lit(None, pl.String).alias("exit"), pl.lit(None, pl.String).alias("entry"), pl.lit("11").alias("from"),
        pl.lit(str(PER_GROUP)).alias("count"), pl.lit("已提交").alias("status"),
        pl.lit("2026-09-20 08:00:00").alias("submitted"), pl.col("seq_no"), pl.col("name"), pl.col("name_pinyin"),
        pl.when(pl.col("gender") == "M").then(pl.lit("男")).otherwise(pl.lit("女")).alias("gender"),
        pl.col("birth_date"), pl.lit("身份证").alias("doc_type"), pl.col("doc_no"), pl.lit("中国").alias("nat"),
        pl.col("mobile"), pl.col("residence_province"), pl.lit(None, pl.String).alias("leader"),
    )  # fmt: skip
    numeric = {"count", "seq_no"}
    letters = [chr(ord("A") + k) for k in range(len(frame.columns))]
    line = pl.int_range(3, 3 + frame.height).cast(pl.String)  # row 1: title, row 2: header
    cells = []
    for letter, name in zip(letters, frame.columns, strict=True):
        ref = pl.concat_str(pl.lit(f'<c r="{letter}'), line)
        if name in numeric:
            cell = pl.concat_str(ref, pl.lit('"><v>'), pl.col(name), pl.lit("</v></c>"))
        else:
            cell = pl.concat_str(ref, pl.lit('" t="inlineStr"><is><t>'), pl.col(name), pl.lit("</t></is></c>"))
        cells.append(cell.fill_null(""))
    xml_rows = frame.select(pl.concat_str(pl.lit('<row r="'), line, pl.lit('">'), *cells, pl.lit("</row>")).alias("x"))

    def text_row(number: int, values: list[str]) -> str:
        inner = "".join(
            f'<c r="{letter}{number}" t="inlineStr"><is><t>{v}</t></is></c>'
            for letter, v in zip(letters, values, strict=False)
        )
        return f'<row r="{number}">{inner}</row>'

    path = out / f"团队名单_{rows}.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, text in _XLSX_PARTS.items():
            z.writestr(name, text)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            head += '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            head += text_row(1, ["北京示范国际旅行社有限公司 团队名单（2026-10）"]) + text_row(2, ROSTER_HEADERS)
            sheet.write(head.encode())
            for chunk in xml_rows.iter_slices(100_000):
                sheet.write(("\n".join(chunk["x"].to_list()) + "\n").encode())
            sheet.write(b"</sheetData></worksheet>")
    return path
