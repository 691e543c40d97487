"""Blank import templates: written from the schemas, read back by an independent reader (openpyxl)."""

from __future__ import annotations

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from connectors.files.table import NOTE_ROW
from mappings.detection import detect_mapping
from mappings.spec import templates
from tourlink import schema
from tourlink.report.import_template import UnknownTemplate, find_template, template_columns, write_template

TEMPLATE_NAMES = [m.name for m in templates()]


def _sheet(path):
    return openpyxl.load_workbook(path).worksheets[0]


def _number_format(sheet, index: int) -> str:
    """The number format Excel applies to new cells of column `index` (1-based)."""
    for dim in sheet.column_dimensions.values():
        if dim.min <= index <= dim.max:
            return dim.number_format
    return "General"


def _validation_lists(sheet) -> dict[str, list[str]]:
    """Column letter -> the labels of its drop-down list."""
    out = {}
    for dv in sheet.data_validations.dataValidation:
        assert dv.type == "list"
        letter = str(dv.sqref).split(":")[0].rstrip("0123456789")
        out[letter] = dv.formula1.strip('"').split(",")
    return out


def test_the_six_templates_of_the_platform_are_there():
    assert {m.description for m in templates()} == {
        "旅行社信息导入模板", "团队名单导入模板", "电子合同导入模板", "导游信息导入模板", "导游APP使用导入模板", "旅行社统计导入模板",
    }


@pytest.mark.parametrize("name", ["团队名单", "团队名单导入模板", "roster_template"])
def test_a_template_is_found_by_its_chinese_or_its_mapping_name(name):
    assert find_template(name).name == "roster_template"


def test_an_unknown_name_lists_the_templates():
    with pytest.raises(UnknownTemplate, match="团队名单（roster_template）"):
        find_template("团队")


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_the_header_row_is_what_the_template_mapping_detects(tmp_path, name):
    mapping = find_template(name)
    write_template(mapping, tmp_path / "t.xlsx")
    sheet = _sheet(tmp_path / "t.xlsx")

    headers = [c.value for c in sheet[2]]
    assert headers == [c.header for c in template_columns(mapping)]
    assert len(set(headers)) == len(headers)
    assert detect_mapping(headers).name == name
    # every field of every entity the template fills has a column, unless the mapping sets it to a constant
    fields = {(e, f.name) for e, rule in mapping.rules.items() for f in rule.entity.fields
              if not (f.name in rule.fields and rule.fields[f.name].source is None)}
    by_header = {f.header for _, rule in mapping.rules.items() for f in rule.entity.fields}
    assert all(schema.entity(e).field(f).header in headers or f in {"guide_card_no", "service_from", "service_to"}
               for e, f in fields)
    if name in ("roster_template", "contract_template"):  # receipt stamps: optional, blank = received
        assert "更新时间" in headers and ("报送时间" in headers) == (name == "roster_template")
    assert set(headers) <= by_header | {r.source for rule in mapping.rules.values() for r in rule.fields.values()}


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_the_notes_row_comes_first_and_reads_as_a_note(tmp_path, name):
    write_template(find_template(name), tmp_path / "t.xlsx")
    note = _sheet(tmp_path / "t.xlsx")["A1"].value

    import re

    assert note.startswith("填表说明：") and re.match(NOTE_ROW, note)


def test_roster_code_fields_offer_their_chinese_labels(tmp_path):
    write_template(find_template("团队名单"), tmp_path / "t.xlsx")
    sheet = _sheet(tmp_path / "t.xlsx")
    letters = {c.value: get_column_letter(c.column) for c in sheet[2]}
    lists = _validation_lists(sheet)

    labels = {k: [v[0] for v in schema.code_lists()[k].labels.values()] for k in ("gender", "doc_type", "group_type")}
    assert lists[letters["性别"]] == labels["gender"] == ["男", "女"]
    assert lists[letters["证件类型"]] == labels["doc_type"]
    assert lists[letters["团队类型"]] == labels["group_type"]
    assert letters["团队状态"] in lists
    assert letters["姓名"] not in lists and letters["目的地"] not in lists  # free text; a list of countries
    (dv,) = [d for d in sheet.data_validations.dataValidation if str(d.sqref).startswith(letters["性别"])]
    assert str(dv.sqref) == f"{letters['性别']}3:{letters['性别']}5002"  # every data row, not the header


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_every_single_valued_code_field_has_a_list(tmp_path, name):
    mapping = find_template(name)
    write_template(mapping, tmp_path / "t.xlsx")
    sheet = _sheet(tmp_path / "t.xlsx")
    lists = _validation_lists(sheet)

    for index, column in enumerate(template_columns(mapping), start=1):
        coded = column.field.codes in schema.code_lists() and column.field.type == "str"
        if coded or column.field.type == "bool":
            assert get_column_letter(index) in lists, column.header
    if name == "guide_app_template":
        assert lists["C"] == ["是", "否"]  # 是否开启


@pytest.mark.parametrize(("name", "ids"), [
    ("roster_template", ["证件号码", "组团社统一社会信用代码", "地接社统一社会信用代码", "手机号码", "团号", "领队证号"]),
    ("agency_template", ["统一社会信用代码", "许可证编号", "所在地区划代码", "联系电话"]),
    ("contract_template", ["合同编号", "证件号码", "旅行社统一社会信用代码", "手机号码"]),
    ("guide_template", ["导游证号", "身份证号", "手机号码", "领队备案旅行社"]),
    ("agency_statistics_template", ["统一社会信用代码", "统计期"]),
])
def test_identifier_columns_are_text_and_numbers_are_not(tmp_path, name, ids):
    write_template(find_template(name), tmp_path / "t.xlsx")
    sheet = _sheet(tmp_path / "t.xlsx")
    formats = {c.value: _number_format(sheet, c.column) for c in sheet[2]}

    assert all(formats[h] == "@" for h in ids), formats
    assert all(formats[h] == "General" for h in formats if h in {"游客人数", "序号", "出发日期", "出境组织人次", "姓名"})
