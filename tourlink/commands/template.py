"""`tourlink template NAME --out FILE.xlsx`: a blank import template for agencies, from the schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def template(
    name: Annotated[str | None, typer.Argument(help="模板名称：团队名单、旅行社信息…… 或映射名 roster_template")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="输出的 xlsx 文件")] = None,
    list_: Annotated[bool, typer.Option("--list", help="列出全部导入模板")] = False,
) -> None:
    """Write the blank import template NAME (headers, 填表说明, drop-down lists, text-formatted ID columns)."""
    from mappings.spec import templates
    from tourlink.report.import_template import UnknownTemplate, find_template, short_name, write_template

    if list_:
        for mapping in templates():
            typer.echo(f"{short_name(mapping)}\t{mapping.name}\t{mapping.description}")
        return
    if name is None or out is None:
        typer.echo("用法：tourlink template NAME --out FILE.xlsx（tourlink template --list 列出模板）", err=True)
        raise typer.Exit(2)
    if out.suffix.lower() != ".xlsx":
        typer.echo(f"{out}: 模板只能写成 .xlsx 文件", err=True)
        raise typer.Exit(2)
    try:
        mapping = find_template(name)
    except UnknownTemplate as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    columns = write_template(mapping, out)
    typer.echo(f"{mapping.description}：{len(columns)} 列 → {out}")


def register(app: typer.Typer) -> None:
    app.command("template")(template)
