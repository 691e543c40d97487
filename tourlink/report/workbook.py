"""The failure report as an xlsx workbook: a summary sheet, every failure, then one sheet per rule.

Every string goes through `escape_formula` and is written with `write_string`; the workbook is
created with `strings_to_formulas`, `strings_to_urls` and `strings_to_numbers` off, so no cell a
source sent us can become a formula, a link or a mangled number (an 18-digit ID as 2.1E+17).
"""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import xlsxwriter

from tourlink.masking import escape_formula
from tourlink.report.failures import UNKNOWN_AGENCY_ZH, Failure, FailureReport, rule_text

COLUMNS = [
    ("旅行社名称", 24, lambda f: f.agency_name),
    ("统一社会信用代码", 21, lambda f: f.agency_uscc),
    ("来源", 10, lambda f: f.source),
    ("文件", 26, lambda f: f.file_name),
    ("行号", 7, lambda f: f.row),
    ("数据类别", 12, lambda f: f.entity_zh),
    ("字段", 14, lambda f: f.field_zh),
    ("问题值", 22, lambda f: f.value),
    ("规则", 20, lambda f: f.rule_zh),
    ("规则编号", 18, lambda f: f.rule),
    ("级别", 6, lambda f: f.severity_zh),
    ("修改建议", 40, lambda f: f.hint_zh),
    ("说明", 40, lambda f: f.message),
    ("状态", 8, lambda f: f.status_zh),
    ("日期", 11, lambda f: f.day),
    ("批次", 12, lambda f: f.batch_id),
    ("编号", 8, lambda f: f.quarantine_id),
]

_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def sheet_name(rule: str, taken: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of `[]:*?/\\`, unique (case-insensitive)."""
    base = _SHEET_BAD.sub("_", rule)[:31] or "rule"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f"~{n}"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def _write(ws, row: int, col: int, value: object, fmt=None) -> None:
    if value is None:
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_string(row, col, "是" if value else "否", fmt)
    elif isinstance(value, int | float):
        ws.write_number(row, col, value, fmt)
    else:
        ws.write_string(row, col, escape_formula(str(value)), fmt)


def _failures_sheet(wb, name: str, failures: list[Failure], title: str, header_fmt, title_fmt) -> None:
    ws = wb.add_worksheet(name)
    _write(ws, 0, 0, title, title_fmt)
    for c, (label, width, _get) in enumerate(COLUMNS):
        ws.set_column(c, c, width)
        _write(ws, 1, c, label, header_fmt)
    ordered = sorted(failures, key=lambda f: (f.agency_name, f.file or "", f.rule, f.row or 0, f.quarantine_id))
    for r, f in enumerate(ordered, start=2):
        for c, (_label, _width, get) in enumerate(COLUMNS):
            _write(ws, r, c, get(f))
    ws.freeze_panes(2, 0)
    if ordered:
        ws.autofilter(1, 0, 1 + len(ordered), len(COLUMNS) - 1)


def write_workbook(report: FailureReport, target: str | Path | BytesIO) -> None:
    """Write the workbook to a path or a binary buffer (the web view streams it)."""
    wb = xlsxwriter.Workbook(
        target if isinstance(target, BytesIO) else str(target),
        {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False, "in_memory": True},
    )
    header_fmt = wb.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    title_fmt = wb.add_format({"bold": True, "font_size": 13})
    scope = report.scope
    day = scope.day.isoformat() if scope.day else report.generated_at.date().isoformat()

    ws = wb.add_worksheet("汇总")
    ws.set_column(0, 0, 30)
    ws.set_column(1, 3, 14)
    r = 0
    _write(ws, r, 0, f"数据校验失败报告 · {scope.label_zh} · {day}", title_fmt)
    r += 1
    _write(ws, r, 0, "待处理记录")
    _write(ws, r, 1, report.entry_count)
    _write(ws, r, 2, "校验失败")
    _write(ws, r, 3, len(report.failures))
    if scope.batch_id:
        _write(ws, r, 4, "批次")
        _write(ws, r, 5, scope.batch_id)
    for title, counts in (("按规则统计", report.by_rule), ("按旅行社统计", report.by_agency), ("按来源统计", report.by_source)):
        r += 2
        _write(ws, r, 0, title, title_fmt)
        r += 1
        for c, label in enumerate(("名称", "编号", "失败次数", "涉及记录")):
            _write(ws, r, c, label, header_fmt)
        for count in counts:
            r += 1
            _write(ws, r, 0, count.label)
            _write(ws, r, 1, count.key)
            _write(ws, r, 2, count.failures)
            _write(ws, r, 3, count.entries)
    r += 2
    _write(ws, r, 0, f"近{len(report.trend_days)}日趋势（每日新增隔离记录）", title_fmt)
    r += 1
    _write(ws, r, 0, "规则、旅行社 / 日期", header_fmt)
    for c, d in enumerate(report.trend_days, start=1):
        _write(ws, r, c, d, header_fmt)
    names = {c.key: c.label for c in report.by_agency}
    rows = [("合计", report.trend_total)] + [(rule_text(k).name_zh + f"（{k}）", v) for k, v in report.trend_by_rule.items()]
    rows += [(f"{names.get(k) or UNKNOWN_AGENCY_ZH}（{k or '-'}）", v) for k, v in report.trend_by_agency.items()]
    for label, counts in rows:
        r += 1
        _write(ws, r, 0, label)
        for c, n in enumerate(counts, start=1):
            _write(ws, r, c, n)

    taken = {"汇总", "全部失败"}
    _failures_sheet(wb, "全部失败", report.failures, f"全部失败 · {scope.label_zh} · {day}", header_fmt, title_fmt)
    by_rule: dict[str, list[Failure]] = {}
    for f in report.failures:
        by_rule.setdefault(f.rule, []).append(f)
    for rule in sorted(by_rule):
        text = rule_text(rule)
        _failures_sheet(wb, sheet_name(rule, taken), by_rule[rule], f"{text.name_zh}（{rule}）", header_fmt, title_fmt)
    wb.close()
