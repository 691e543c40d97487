"""`tourlink drift [SOURCE]`: the schema drift findings of the sources' syncs (issue 20 item 6).

A steward sees the findings of the sources of their region (the registry's `region`); an
administrator sees every source's. Findings name fields, never values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

KIND_ZH = {"vanished": "字段消失", "renamed": "疑似改名", "added": "新增字段"}


def drift_command(
    source: Annotated[str | None, typer.Argument(help="Only this source's findings.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable list on stdout.")] = False,
    registry: Annotated[Path | None, typer.Option("--registry", file_okay=False,
                                                  help="Folder of registry files (default $TOURLINK_SOURCES).")] = None,
) -> None:
    """List what the syncs found: fields that vanished or were renamed, fields that were added."""
    from tourlink.audit.cli import _warehouse_engine, done, operator, scoped_region
    from tourlink.flow import load_sources
    from tourlink.report.failures import region_prefix
    from warehouse.drift import findings

    op = operator()
    engine = _warehouse_engine()
    region = scoped_region(op, "drift", None, engine=engine)
    known = load_sources(registry)
    if region is None:
        allowed = None if source is None else [source]
    else:
        allowed = [n for n, s in known.items() if (region_prefix(s.region) or "").startswith(region)]
        allowed = [n for n in allowed if source is None or n == source]
    rows = findings(engine, allowed)
    done(op, "drift", engine=engine, region=region, target=source, rows=len(rows))
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, default=str))
        return
    if not rows:
        typer.echo("没有字段变化记录 (no schema drift found)")
        return
    for r in rows:
        change = f"{r['field']} → {r['renamed_to']}" if r["renamed_to"] else r["field"]
        fills = f"  映射 {r['fills'].replace('|', ', ')}" if r["fills"] else ""
        typer.echo(f"{r['detected_at']:%Y-%m-%d %H:%M}  {r['source']:<22} {r['stream']:<14} {KIND_ZH.get(r['kind'], r['kind'])}  "
                   f"{change}{fills}  告警 {r['alerted'] or '-'}")


def register(app: typer.Typer) -> None:
    app.command("drift")(drift_command)
