"""The same template upload written by independent writers: openpyxl (xlsx), xlwt (xls), odfpy
(ods), pyxlsbwriter (xlsb). Each writes a title row, the header, data rows with real date and number cells, one
column merged vertically over a group's rows and a 合计 row, the way agencies' sheets look."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

Row = Sequence[object]


def write_openpyxl(path: Path, title: str, headers: Sequence[str], rows: Sequence[Row], merge: int | None,
                   sheets: Sequence[tuple[str, Sequence[Row]]] = ()) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    first = book.active
    for name, extra in sheets:
        sheet = book.create_sheet(name, 0) if first.title != name else first
        for r in extra:
            sheet.append(list(r))
    sheet = first
    sheet.title = "团队名单"
    sheet.append([title])
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    sheet.append(["合计", *[None] * (len(headers) - 1)])
    if merge is not None:
        letter = openpyxl.utils.get_column_letter(merge + 1)
        sheet.merge_cells(f"{letter}3:{letter}{2 + len(rows)}")
    book.save(path)


def write_xlwt(path: Path, title: str, headers: Sequence[str], rows: Sequence[Row], merge: int | None) -> None:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("团队名单")
    dates = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    stamps = xlwt.easyxf(num_format_str="YYYY-MM-DD HH:MM:SS")
    sheet.write(0, 0, title)
    for c, h in enumerate(headers):
        sheet.write(1, c, h)
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row):
            if merge is not None and c == merge and r > 2:
                continue
            if merge is not None and c == merge:
                sheet.write_merge(2, 1 + len(rows), c, c, value)
            elif isinstance(value, datetime):
                sheet.write(r, c, value, stamps)
            elif isinstance(value, date):
                sheet.write(r, c, value, dates)
            elif value is not None:
                sheet.write(r, c, float(value) if isinstance(value, int) else value)
    sheet.write(2 + len(rows), 0, "合计")
    book.save(str(path))


def write_odfpy(path: Path, title: str, headers: Sequence[str], rows: Sequence[Row], merge: int | None) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import CoveredTableCell, Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="团队名单")

    def cell(value: object, **extra: object) -> TableCell:
        if value is None:
            return TableCell(**extra)
        if isinstance(value, datetime):
            made = TableCell(valuetype="date", datevalue=value.strftime("%Y-%m-%dT%H:%M:%S"), **extra)
        elif isinstance(value, date):
            made = TableCell(valuetype="date", datevalue=value.isoformat(), **extra)
        elif isinstance(value, int | float):
            made = TableCell(valuetype="float", value=str(value), **extra)
        else:
            made = TableCell(valuetype="string", **extra)
        made.addElement(P(text=str(value)))
        return made

    def add(values: Sequence[object], covered: int | None = None, span: int | None = None) -> None:
        row = TableRow()
        for c, value in enumerate(values):
            if covered is not None and c == covered:
                row.addElement(CoveredTableCell())
            elif span is not None and c == merge:
                row.addElement(cell(value, numberrowsspanned=span))
            else:
                row.addElement(cell(value))
        table.addElement(row)

    add([title])
    add(list(headers))
    for r, row in enumerate(rows):
        add(list(row), covered=merge if merge is not None and r > 0 else None,
            span=len(rows) if merge is not None and r == 0 else None)
    add(["合计"])
    doc.spreadsheet.addElement(table)
    doc.save(str(path))


def write_pyxlsbwriter(path: Path, title: str, headers: Sequence[str], rows: Sequence[Row], merge: int | None) -> None:
    """Excel binary (xlsb) by pyxlsbwriter: shared strings, number and date cells; it writes no
    merged ranges, so the merged column is repeated in each row (what a filled merge reads as)."""
    from pyxlsbwriter import XlsbWriter

    width = len(headers)

    def padded(row: Row) -> list[object]:  # the writer takes rectangular rows only
        return [*row, *[None] * (width - len(row))]

    with XlsbWriter(str(path)) as book:
        book.add_sheet("团队名单")
        book.write_sheet([padded([title]), list(headers), *(padded(r) for r in rows), padded(["合计"])])
