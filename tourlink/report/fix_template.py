"""The agency's correction workbook: its open failures in the platform's import template, to fix and send back.

One sheet per kind of source file (the raw rows' own Chinese headers, in their original order), one
row per source row (a 团队名单 row that failed as a member and as a group is one row), with:
- a leading `错误说明` column saying what is wrong and how to fix it (ignored on replay),
- the offending cells shaded, so the agency sees where to look,
- trailing `隔离编号` (the quarantine ids the row answers), `原文件` and `原行号` columns, hidden and
  ignored as data on replay: they link each corrected row back to the entries it resolves.
A hidden `_tourlink` sheet records the agency and export time. `replay` refuses other workbooks.

The raw values are NOT masked here: the agency must see and correct its own data, and masked values
would be loaded as data. Send it to the agency only. Strings go through `escape_formula` (Excel never
evaluates a cell we wrote); `read_fix_template` undoes the escape.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import sqlalchemy as sa
import xlsxwriter

from tourlink import schema
from tourlink.masking import escape_formula, mask_text, unescape_formula
from tourlink.report.failures import Scope, _scoped, failures_of
from warehouse import tables as t

EXPLAIN = "错误说明"
IDS = "隔离编号"
ORIGIN_FILE = "原文件"
ORIGIN_ROW = "原行号"
META_SHEET = "_tourlink"
GUIDE_SHEET = "填写说明"
FORMAT = "tourlink-fix-template/1"
IGNORED = {EXPLAIN, IDS, ORIGIN_FILE, ORIGIN_ROW}

GUIDE_ZH = [
    "填写说明",
    "1. 每个工作表对应一种导入模板，每行是一条未通过校验的数据，第一列“错误说明”写明了问题和修改方法，底色标出的单元格需要更正。",
    "2. 请直接在本表中更正数据，不要修改表头，不要删除隐藏列（隔离编号、原文件、原行号）。证件号码、手机号码等请以文本格式填写。",
    "3. 更正后请将本文件交回，由管理员执行重新导入（tourlink replay）；通过校验的记录将自动标记为“已修正”。",
    "4. 本文件含个人信息，仅限本旅行社使用，请勿外传。",
]


class NotAFixTemplate(ValueError):
    def __init__(self, file: str, reason: str):
        super().__init__(f"{file}: {reason}")
        self.reason_zh = f"{file} 不是由本平台导出的更正模板（{reason}）"


@dataclass
class TemplateRow:
    """One source row to correct, with the entries it answers."""

    file: str | None
    row: int | None
    raw: dict[str, Any]
    ids: list[int] = field(default_factory=list)
    explanations: list[str] = field(default_factory=list)
    bad_headers: set[str] = field(default_factory=set)


def _raw(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _headers_of(entity: str, field_name: str | None) -> set[str]:
    if not field_name:
        return set()
    try:
        return set(schema.entity(entity).field(field_name).headers)
    except KeyError:
        return {field_name}


def _header_key(header: str) -> str:
    """Headers as written (`*证件号码`, `证件号码(必填)`) compared bare."""
    return re.sub(r"[\s*＊]|[（(][^）)]*[)）]", "", header)


def collect_rows(conn: sa.Connection, agency: str, *, region: str | None = None) -> list[TemplateRow]:
    """The agency's open entries, one `TemplateRow` per source row (file, row, raw)."""
    rows: dict[tuple, TemplateRow] = {}
    entries = conn.execute(_scoped(Scope(region=region, agency=agency, statuses=("open",)))).all()
    q = t.quarantine
    raws: dict[int, str] = {}
    ids = [int(e.id) for e in entries]
    for start in range(0, len(ids), 1000):  # one query per thousand entries, not one per entry
        raws.update(conn.execute(sa.select(q.c.id, q.c.raw).where(q.c.id.in_(ids[start : start + 1000]))).tuples().all())
    for entry in entries:
        raw = _raw(raws.get(int(entry.id)) or "{}")
        key = (entry.file, entry.row, json.dumps(raw, sort_keys=True, ensure_ascii=False))
        tr = rows.setdefault(key, TemplateRow(entry.file, entry.row, raw))
        tr.ids.append(int(entry.id))
        for f in failures_of(entry):
            where = f"{f.field_zh}：" if f.field_zh else ""
            text = f"{where}{f.message or f.rule_zh}"
            if f.hint_zh and f.hint_zh != f.message:
                text += f"（{f.hint_zh}）"
            if text not in tr.explanations:
                tr.explanations.append(mask_text(text) or text)
            bare = {_header_key(h) for h in _headers_of(entry.entity, f.field)}
            tr.bad_headers |= {h for h in raw if _header_key(h) in bare}
    return list(rows.values())


def _sheet_title(file: str | None, taken: set[str]) -> str:
    stem = Path(re.split(r"[\\/]", file or "")[-1]).stem if file else "数据"
    base = re.sub(r"[\[\]:*?/\\']", "_", stem)[:28] or "数据"
    name, n = base, 2
    while name.lower() in taken or name in (META_SHEET, GUIDE_SHEET):
        name, n = f"{base[:26]}~{n}", n + 1
    taken.add(name.lower())
    return name


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def write_fix_template(rows: list[TemplateRow], agency: str, target: Path) -> int:
    """Write the correction workbook; returns the number of rows to correct."""
    wb = xlsxwriter.Workbook(str(target), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False})
    text = wb.add_format({"num_format": "@"})
    head = wb.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1, "num_format": "@"})
    explain = wb.add_format({"text_wrap": True, "font_color": "#9C0006", "num_format": "@"})
    bad = wb.add_format({"bg_color": "#FFC7CE", "num_format": "@"})
    # rows of the same header set (the same template) share a sheet
    by_headers: dict[tuple[str, ...], list[TemplateRow]] = {}
    for r in sorted(rows, key=lambda r: (r.file or "", r.row or 0)):
        by_headers.setdefault(tuple(r.raw), []).append(r)
    taken: set[str] = set()
    for headers, group in by_headers.items():
        ws = wb.add_worksheet(_sheet_title(group[0].file, taken))
        columns = [EXPLAIN, *headers, IDS, ORIGIN_FILE, ORIGIN_ROW]
        for c, h in enumerate(columns):
            ws.write_string(0, c, escape_formula(h), head)
        ws.set_column(0, 0, 48, explain)
        ws.set_column(1, len(headers), 16, text)
        ws.set_column(len(headers) + 1, len(headers) + 3, 12, text, {"hidden": True})
        for i, r in enumerate(group, start=1):
            ws.write_string(i, 0, escape_formula("；".join(r.explanations)), explain)
            for c, h in enumerate(headers, start=1):
                value = _cell(r.raw.get(h))
                fmt = bad if h in r.bad_headers else text
                if value is None:
                    ws.write_blank(i, c, None, fmt)
                else:
                    ws.write_string(i, c, escape_formula(value), fmt)
            ws.write_string(i, len(headers) + 1, ",".join(str(x) for x in r.ids))
            ws.write_string(i, len(headers) + 2, escape_formula(r.file or ""))
            ws.write_string(i, len(headers) + 3, str(r.row or ""))
        ws.freeze_panes(1, 1)
    guide = wb.add_worksheet(GUIDE_SHEET)
    guide.set_column(0, 0, 120)
    for i, line in enumerate(GUIDE_ZH):
        guide.write_string(i, 0, line)
    meta = wb.add_worksheet(META_SHEET)
    for i, (k, v) in enumerate((("format", FORMAT), ("agency", agency), ("exported_at", datetime.now(UTC).isoformat()))):
        meta.write_string(i, 0, k)
        meta.write_string(i, 1, v)
    meta.hide()
    wb.close()
    return len(rows)


@dataclass
class CorrectedSheet:
    """One sheet of a returned correction workbook: the template's columns and the corrected rows."""

    title: str
    headers: list[str]
    rows: list[tuple[int, list[Any], list[int]]]  # (sheet row number, cells, quarantine ids)


@dataclass
class CorrectedWorkbook:
    agency: str
    sheets: list[CorrectedSheet]


def read_fix_template(path: Path) -> CorrectedWorkbook:
    """Read a returned correction workbook: the data columns (cell types kept, so a numeric ID cell is
    still caught by `EXCEL_NUMERIC_ID`), the hidden ids, and the agency it was exported for."""
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise NotAFixTemplate(path.name, f"cannot open: {exc}") from exc
    try:
        if META_SHEET not in wb.sheetnames:
            raise NotAFixTemplate(path.name, "no _tourlink sheet")
        meta = {r[0]: r[1] for r in wb[META_SHEET].iter_rows(values_only=True) if r and r[0]}
        if meta.get("format") != FORMAT or not meta.get("agency"):
            raise NotAFixTemplate(path.name, f"unknown format {meta.get('format')!r}")
        sheets = []
        for title in wb.sheetnames:
            if title in (META_SHEET, GUIDE_SHEET):
                continue
            it = wb[title].iter_rows(values_only=True)
            header = [unescape_formula(h) if h is not None else None for h in next(it, ())]
            if IDS not in header:
                raise NotAFixTemplate(path.name, f"sheet {title} has no {IDS} column")
            keep = [i for i, h in enumerate(header) if h is not None and h not in IGNORED]
            id_col = header.index(IDS)
            rows = []
            for n, values in enumerate(it, start=2):
                values = list(values) + [None] * (len(header) - len(values))
                cells = [unescape_formula(values[i]) for i in keep]
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in cells):
                    continue
                ids = [int(x) for x in re.findall(r"\d+", str(values[id_col] or ""))]
                rows.append((n, cells, ids))
            sheets.append(CorrectedSheet(title, [header[i] for i in keep], rows))
        return CorrectedWorkbook(str(meta["agency"]), sheets)
    finally:
        wb.close()


def write_import_file(sheet: CorrectedSheet, target: Path) -> None:
    """One sheet as a plain import-template xlsx, each row at its own row number (so the row numbers
    a replay's failures name are the ones the agency sees in its corrected workbook)."""
    wb = xlsxwriter.Workbook(str(target), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False})
    ws = wb.add_worksheet(sheet.title[:31])
    for c, h in enumerate(sheet.headers):
        ws.write_string(0, c, h)
    for n, cells, _ids in sheet.rows:
        for c, v in enumerate(cells):
            if v is None:
                continue
            if isinstance(v, bool):
                ws.write_boolean(n - 1, c, v)
            elif isinstance(v, int | float):
                ws.write_number(n - 1, c, v)  # kept a number: the reader flags numeric ID cells
            elif isinstance(v, datetime):
                ws.write_datetime(n - 1, c, v, wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}))
            else:
                ws.write_string(n - 1, c, str(v))
    wb.close()
