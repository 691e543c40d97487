"""`tourlink retention run`: remove identity numbers past their retention (dry run unless `--apply`)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

retention_app = typer.Typer(help="数据保留：到期后清除落地文件与隔离原始行中的证件号码 (retention).", no_args_is_help=True)


@retention_app.command("run")
def run(
    apply: Annotated[bool, typer.Option("--apply", help="实际执行（缺省只列出将处理的内容）")] = False,
    days: Annotated[int | None, typer.Option("--days", help="保留天数（缺省 TOURLINK_RETENTION_DAYS）", min=0)] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List (or with --apply, encrypt / redact) landing files and quarantine raw rows past retention."""
    from tourlink import settings
    from tourlink.audit.cli import _warehouse_engine, done, operator, require_admin
    from tourlink.retention import run as retain

    op = operator()
    engine = _warehouse_engine()
    require_admin(op, "retention", "执行数据保留清理", engine=engine)
    try:
        days = settings.retention_days() if days is None else days
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    key_file = settings.retention_key_file()
    key = key_file.read_bytes().strip() if key_file else None
    result = retain(engine, settings.landing_dir(), days=days, key=key, apply=apply)
    summary = result.to_json()
    done(op, "retention", engine=engine, rows=summary["quarantine_rows"] + len(summary["landing_files"]),
         detail={k: v for k, v in summary.items() if k != "landing_files"})
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
        return
    verb = "已处理" if apply else "将处理（试运行，加 --apply 执行）"
    typer.echo(f"保留 {days} 天：{verb} 落地文件 {len(summary['landing_files'])} 个 {summary['landing']}，"
               f"隔离原始行 {summary['quarantine_rows']} 条")


def register(app: typer.Typer) -> None:
    app.add_typer(retention_app, name="retention")
