"""Blank import templates (SPEC section 5) for agencies without an ERP, written from the schemas.

Why generated: the headers, code lists and notes come from `tourlink/schemas/*.yaml` and the template
mappings in `mappings/templates/`, so a blank template always matches what `tourlink import` detects.
The sheet holds a 填表说明 row (the readers skip a row starting with it), the header row, then room
for data rows with:
- a drop-down list of the Chinese labels on every single-valued code field (性别, 证件类型, 团队状态 …)
  and 是/否 on yes/no fields,
- identifier columns (证件号码, 统一社会信用代码, 手机号码 …) formatted as text, so Excel keeps
  leading zeros and never turns an 18-digit ID into `2.10102E+17`,
- a comment on each header saying whether it is required and which values it takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import xlsxwriter

from mappings.conversion import RECEIVED_AT
from mappings.normalise import normalise_header
from mappings.spec import Mapping, templates
from tourlink import schema

NOTES_ROW = 0
HEADER_ROW = 1
DATA_ROWS = 5000  # rows below the header that carry the drop-down lists and text formats
BOOL_LABELS = ("是", "否")
_REQUIRED_ZH = {"R": "必填", "C": "条件必填", "O": "选填"}


@dataclass(frozen=True)
class Column:
    """One column of a blank template: its header and the schema field it fills."""

    header: str
    field: schema.Field

    @property
    def choices(self) -> tuple[str, ...]:
        """The labels offered in a drop-down list (none for free text and multi-valued fields)."""
        if self.field.type == "bool":
            return BOOL_LABELS
        if self.field.type in ("list", "set") or not self.field.codes:
            return ()
        codes = schema.code_lists().get(self.field.codes)
        return tuple(codes.label(v) for v in codes.values) if codes else ()

    @property
    def stamped(self) -> bool:
        """A time the platform stamps on receipt when the cell is left blank (报送时间/更新时间)."""
        return self.field.default == RECEIVED_AT and self.field.default_when is None

    @property
    def required(self) -> bool:
        """The agency must fill it in (a receipt stamp may be left blank)."""
        return self.field.required == "R" and not self.stamped

    @property
    def is_identifier(self) -> bool:
        """An identifier or code typed as text (IDs, credit codes, phone numbers, card numbers)."""
        return self.field.type == "str" and self.field.norm == "code"


class UnknownTemplate(LookupError):
    """NAME is neither a template's Chinese name nor its mapping name (the message lists them)."""


def short_name(mapping: Mapping) -> str:
    """The Chinese name agencies use: `团队名单` for 团队名单导入模板."""
    return mapping.description.removesuffix("导入模板")


def find_template(name: str) -> Mapping:
    """The import template named by its Chinese name (`团队名单`, `团队名单导入模板`) or mapping name."""
    wanted = name.strip()
    for mapping in templates():
        if wanted in (mapping.name, mapping.description, short_name(mapping)):
            return mapping
    known = "、".join(f"{short_name(m)}（{m.name}）" for m in templates())
    raise UnknownTemplate(f"未知的导入模板 {name!r}；可用：{known}")


def template_columns(mapping: Mapping) -> list[Column]:
    """The template's columns in schema order, each header once (a group column shared by several
    entities, such as 团号, appears once). Constants (领队 role) need no column. The times the platform
    stamps on receipt (`default: $received_at`, 报送时间/更新时间) are optional columns: blank = received."""
    columns: list[Column] = []
    seen: set[str] = set()
    for rule in mapping.rules.values():
        for f in rule.entity.fields:
            explicit = rule.fields.get(f.name)
            if explicit is not None and explicit.source is None:
                continue
            header = explicit.source if explicit is not None else f.header
            key = normalise_header(header)
            if key not in seen:
                seen.add(key)
                columns.append(Column(header, f))
    return columns


def _notes(mapping: Mapping, columns: list[Column]) -> str:
    required = "、".join(c.header for c in columns if c.required)
    stamped = "、".join(c.header for c in columns if c.stamped)
    multi = "、".join(c.header for c in columns if c.field.type in ("list", "set"))
    parts = [
        f"填表说明：{mapping.description}，每行一条记录，从表头下一行开始填写，请勿修改表头。",
        f"必填列：{required}。",
        "日期写作 2026-10-03；证件号码等编号列已设为文本格式，请勿改为数字。",
        "带下拉框的列请从列表中选择。",
    ]
    if multi:
        parts.append(f"{multi}可填多个，用顿号（、）分隔。")
    if stamped:
        parts.append(f"{stamped}可留空，留空时取平台接收文件的时间。")
    return "".join(parts)


def _comment(column: Column) -> str:
    f = column.field
    if column.stamped:
        return "选填；留空则为平台接收时间；格式 2026-10-03 09:30:00"
    text = _REQUIRED_ZH[f.required]
    if f.codes and not column.choices:
        codes = schema.code_lists().get(f.codes)
        text += "；可选：" + "、".join(codes.label(v) for v in codes.values) if codes else ""
    if f.max_len:
        text += f"；最长 {f.max_len} 位"
    return text


def write_template(mapping: Mapping, out: Path) -> list[Column]:
    """Write the blank template of `mapping` to `out` (xlsx); returns its columns."""
    columns = template_columns(mapping)
    out.parent.mkdir(parents=True, exist_ok=True)
    with xlsxwriter.Workbook(str(out)) as book:
        sheet = book.add_worksheet(short_name(mapping))
        text = book.add_format({"num_format": "@"})
        header_format = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "num_format": "@"})
        required_format = book.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1, "num_format": "@"})
        notes_format = book.add_format({"text_wrap": True, "valign": "top", "font_color": "#7F6000"})
        last_row = HEADER_ROW + DATA_ROWS
        sheet.merge_range(NOTES_ROW, 0, NOTES_ROW, max(len(columns) - 1, 1), _notes(mapping, columns), notes_format)
        sheet.set_row(NOTES_ROW, 60)
        for index, column in enumerate(columns):
            style = required_format if column.required else header_format
            sheet.write_string(HEADER_ROW, index, column.header, style)
            sheet.write_comment(HEADER_ROW, index, _comment(column))
            width = max(10, 2 * len(column.header) + 2)
            if column.is_identifier:
                sheet.set_column(index, index, max(width, 22), text)
            else:
                sheet.set_column(index, index, width)
            if column.choices:
                sheet.data_validation(HEADER_ROW + 1, index, last_row, index, {
                    "validate": "list",
                    "source": list(column.choices),
                    "error_title": column.header,
                    "error_message": "请从下拉列表中选择：" + "、".join(column.choices),
                })
        sheet.freeze_panes(HEADER_ROW + 1, 0)
    return columns
