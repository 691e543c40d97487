"""The workbook's parts (`xlsxbook`): shared strings become the text calamine renders, whatever
shape the writer gave them: the common `<si><t>…</t></si>` cut out by position, the rest (rich text,
phonetic runs) by regular expressions, with the same result."""

from __future__ import annotations

import zipfile
from pathlib import Path

import polars as pl
import pytest

from connectors.files.xlsxbook import open_book, plain_strings
from connectors.files.xlsxstream import resolved, sheet_cells

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def workbook(folder: Path, strings: list[str], row: str, styles: str = "") -> Path:
    path = folder / "book.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", f'<workbook {NS} xmlns:r="{REL}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels",
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
                   f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
                   f'<Relationship Id="rId3" Type="{REL}/styles" Target="styles.xml"/></Relationships>')
        z.writestr("xl/sharedStrings.xml", f'<?xml version="1.0"?><sst {NS}>{"".join(strings)}</sst>')
        z.writestr("xl/styles.xml", f"<styleSheet {NS}>{styles}</styleSheet>")
        z.writestr("xl/worksheets/sheet1.xml", f'<worksheet {NS}><sheetData><row r="1">{row}</row></sheetData></worksheet>')
    return path


def texts(path: Path) -> list[str | None]:
    with zipfile.ZipFile(path) as archive:
        book = open_book(archive)
        cells = pl.concat(list(sheet_cells(archive, book, "xl/worksheets/sheet1.xml")))
        return resolved(cells, book).get_column("text").to_list()


PLAIN = ["<si><t>团号</t></si>", '<si><t xml:space="preserve"> 张 三 </t></si>', "<si><t>A&amp;B &lt;1&gt; &#x4E2D;</t></si>"]
OTHER = ["<si><r><rPr><b/></rPr><t>粗</t></r><r><t>体</t></r></si>", "<si><t>东京</t><rPh sb=\"0\" eb=\"2\"><t>とうきょう</t></rPh></si>"]


def shared_row(count: int) -> str:
    return "".join(f'<c r="{chr(65 + k)}1" t="s"><v>{k}</v></c>' for k in range(count))


def test_plain_shared_strings_are_cut_out_by_position_and_unescaped(tmp_path):
    assert texts(workbook(tmp_path, PLAIN, shared_row(3))) == ["团号", " 张 三 ", "A&B <1> 中"]


def test_rich_text_and_phonetic_runs_take_the_general_path_with_the_same_rules(tmp_path):
    assert texts(workbook(tmp_path, PLAIN + OTHER, shared_row(5))) == ["团号", " 张 三 ", "A&B <1> 中", "粗体", "东京"]


@pytest.mark.parametrize("items", [PLAIN + OTHER, ["<si><t/></si>"], ["<si><t>a</t><t>b</t></si>"]])
def test_plain_strings_declines_every_other_shape(items):
    assert plain_strings("".join(items).encode(), b"") is None


def test_an_empty_shared_string_is_an_empty_cell(tmp_path):
    assert texts(workbook(tmp_path, ["<si><t/></si>", "<si><t>x</t></si>"], shared_row(2))) == [None, "x"]
