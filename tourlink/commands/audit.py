"""`tourlink audit` (query the audit log) and `tourlink audit verify` (check its hash chain).

A steward sees the events of their own region; an administrator every event and may verify the
chain. Reading the log is itself logged.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

audit_app = typer.Typer(help="操作日志：谁在何时从何处对哪个地区做了什么 (audit log).", invoke_without_command=True)

ACTION_ZH = {
    "login": "登录", "login_failed": "登录失败", "logout": "退出", "view_page": "查看页面", "view_entries": "查看记录",
    "view_entry": "查看记录详情", "download": "下载", "export": "导出更正模板", "waive": "豁免", "replay": "重新导入",
    "report": "生成报告", "quarantine_list": "列出隔离记录", "quarantine_show": "查看隔离记录", "publish": "发布指标",
    "indicators": "查看指标", "incentive": "查看引客入辽", "findings": "查看比对结果", "findings_store": "写入比对结果",
    "retention": "数据保留清理", "audit_view": "查看操作日志", "audit_verify": "校验操作日志",
}  # fmt: skip
OUTCOME_ZH = {"ok": "成功", "denied": "拒绝", "failed": "失败"}
CHANNEL_ZH = {"web": "网页", "cli": "命令行", "airflow": "调度"}


def _day_bound(text: str | None, option: str, *, end: bool) -> datetime | None:
    """A YYYY-MM-DD (Asia/Shanghai) day as its naive UTC start (or, for `--until`, its end)."""
    from datetime import date

    from warehouse.regions import end_of_day_utc, shanghai_midnight_utc

    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"应为 YYYY-MM-DD: {text!r}", param_hint=option) from None
    return end_of_day_utc(day) if end else shanghai_midnight_utc(day)


def _month_bounds(text: str) -> tuple[datetime, datetime]:
    from warehouse.regions import Month

    try:
        month = Month.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--month") from exc
    return month.lo, month.hi


@audit_app.callback()
def audit(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option("--user", help="只看该用户")] = None,
    action: Annotated[str | None, typer.Option("--action", help="只看该操作，如 login、export、waive")] = None,
    region: Annotated[str | None, typer.Option("--region", help="只看该地区（含下级）")] = None,
    since: Annotated[str | None, typer.Option("--since", help="起始日期 YYYY-MM-DD（北京时间）")] = None,
    until: Annotated[str | None, typer.Option("--until", help="截止日期 YYYY-MM-DD（含当日）")] = None,
    month: Annotated[str | None, typer.Option("--month", help="月份 YYYY-MM")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="只显示最近 N 条")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="每行一个 JSON 对象")] = False,
) -> None:
    """列出操作日志（按用户、操作、地区、时间筛选）。"""
    if ctx.invoked_subcommand is not None:
        return
    from tourlink.audit import query
    from tourlink.audit.cli import _warehouse_engine, done, operator, scoped_region

    op = operator()
    engine = _warehouse_engine()
    scope = scoped_region(op, "audit_view", region, engine=engine)
    start, end = _day_bound(since, "--since", end=False), _day_bound(until, "--until", end=True)
    if month:
        start, end = _month_bounds(month)
    events = query(engine, actor=user, action=action, region=scope, since=start, until=end, limit=limit)
    done(op, "audit_view", engine=engine, region=scope, rows=len(events),
         detail={k: v for k, v in {"user": user, "action": action, "since": since, "until": until, "month": month}.items() if v})
    if as_json:
        for e in events:
            typer.echo(json.dumps({**e, "at": e["at"].isoformat() + "Z"}, ensure_ascii=False, default=str))
        return
    _print_table(events)


def _print_table(events: list[dict]) -> None:
    from datetime import UTC

    from rich.console import Console
    from rich.table import Table

    from tourlink.identity import ROLE_ZH
    from warehouse.regions import SHANGHAI

    table = Table(title=f"操作日志（{len(events)} 条）")
    for col in ("编号", "时间（北京）", "用户", "角色", "渠道", "来源", "操作", "地区", "对象", "行数", "含明文证件", "结果"):
        table.add_column(col)
    for e in events:
        at = e["at"].replace(tzinfo=UTC).astimezone(SHANGHAI)
        table.add_row(
            str(e["id"]), f"{at:%Y-%m-%d %H:%M:%S}", e["actor"], ROLE_ZH.get(e["role"] or "", e["role"] or ""),
            CHANNEL_ZH.get(e["channel"], e["channel"]), e["origin"] or "", ACTION_ZH.get(e["action"], e["action"]),
            e["region"] or "全国", e["target"] or "", "" if e["rows"] is None else str(e["rows"]),
            "是" if e["unmasked"] else "否", OUTCOME_ZH.get(e["outcome"], e["outcome"]),
        )
    Console(width=200).print(table)


@audit_app.command("verify")
def verify(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """校验操作日志的哈希链：发现被改动或删除的记录时退出码为 1（仅平台管理员）。"""
    from tourlink.audit import verify as check
    from tourlink.audit.cli import _warehouse_engine, done, operator, require_admin

    op = operator()
    engine = _warehouse_engine()
    require_admin(op, "audit_verify", "校验操作日志", engine=engine)
    result = check(engine)
    done(op, "audit_verify", engine=engine, rows=result.rows, outcome="ok" if result.ok else "failed",
         detail={"head_id": result.head_id, "head_hash": result.head_hash, "breaks": [b.id for b in result.breaks]})
    if as_json:
        typer.echo(json.dumps({"ok": result.ok, "rows": result.rows, "head_id": result.head_id, "head_hash": result.head_hash,
                               "breaks": [b.__dict__ for b in result.breaks]}, ensure_ascii=False))
    else:
        for b in result.breaks:
            typer.echo(b.message_zh)
        typer.echo(("完整" if result.ok else "已被篡改") + f"：共 {result.rows} 条，最新第 {result.head_id} 条，哈希 {result.head_hash}")
    if not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
