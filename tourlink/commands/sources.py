"""`tourlink sync`, `sources list` and `sources check`: the source registry's commands (`sandbox up` is the
dev kit's, `devkit.cli`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer

EXIT_SOURCE_FAILED = 3

sources_app = typer.Typer(help="The source registry (connectors/sources/*.yaml).", no_args_is_help=True)

RegistryOption = typer.Option(None, "--registry", help="Folder of registry files (default $TOURLINK_SOURCES, else connectors/sources).", file_okay=False)


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:  # naive times are Beijing time, as everywhere on the platform
        from zoneinfo import ZoneInfo

        moment = moment.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    return moment.astimezone(UTC)


def _hint(exc: BaseException) -> str:
    """What an operator can do about a refused body: which setting bounds it; nothing was loaded."""
    from connectors.http.errors import BodyTooLarge

    if not isinstance(exc, BodyTooLarge):
        return ""
    return ("; the bound is the source's `options.max_body_bytes` in its registry file; nothing of this sync was"
            " loaded / 响应体超过上限，本次同步未入库任何数据；可在数据源登记文件的 options.max_body_bytes 调高上限")


def sync_command(
    source: str = typer.Argument(..., help="Source name (a registry file)."),
    full_refresh: bool = typer.Option(False, "--full-refresh", help="Ignore the watermark and read everything."),
    since: str | None = typer.Option(None, "--since", help="Backfill from this time (ISO 8601; naive = Asia/Shanghai)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable summary on stdout."),
    registry: Path | None = RegistryOption,
) -> None:
    """Sync one source into the warehouse as one batch, watermark included."""
    from tourlink.commands.files import fail_on_warehouse
    from tourlink.flow import SOURCE_ERRORS, WarehouseFailed, database_errors, get_source, sync

    try:
        config = get_source(source, registry)
        result = sync(config, full_refresh=full_refresh, since=_since(since))
    except (WarehouseFailed, *database_errors()) as exc:
        fail_on_warehouse(exc)
    except SOURCE_ERRORS as exc:
        typer.echo(f"sync {source} failed: {exc}{_hint(exc)}", err=True)
        raise typer.Exit(EXIT_SOURCE_FAILED) from None
    if as_json:
        typer.echo(result.to_json())
        return
    typer.echo(f"{result.source}: batch {result.batch_id}, {result.pages} pages, {result.requests} requests")
    if result.pushback:
        now, configured = result.in_flight or (None, None)
        typer.echo(f"  the vendor asked {result.pushback} times to slow down (rate limited or overloaded);"
                   f" {now} of {configured} requests in flight at the end / 接口限流或繁忙，已降低并发")  # fmt: skip
    for stream, count in result.streams.items():
        typer.echo(f"  stream {stream}: {count} records")
    for entity, counts in result.entities.items():
        if entity == "files":  # a drop folder: what happened to each file
            for outcome in counts:
                typer.echo(f"  {outcome['remote']}: {outcome['status']}")
            continue
        typer.echo(f"  {entity}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@sources_app.command("list")
def list_command(as_json: bool = typer.Option(False, "--json"), registry: Path | None = RegistryOption) -> None:
    """Every registered source: dialect, base URL, streams, schedule, region, owner."""
    from tourlink.flow import load_sources

    sources = load_sources(registry)
    rows = [{"name": s.name, "dialect": s.dialect, "base_url": s.base_url, "streams": list(s.streams), "mapping": s.mapping,
             "schedule": s.schedule, "region": s.region, "owner": s.owner, "tags": list(s.tags)} for s in sources.values()]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(f"{r['name']:<24} {r['dialect']:<13} {r['base_url']:<28} {','.join(r['streams']):<18} {r['schedule'] or '-':<12} {r['region'] or '-'}")


@sources_app.command("check")
def check_command(source: str, registry: Path | None = RegistryOption) -> None:
    """Credentials and reachability: one authenticated request per stream, nothing loaded."""
    from tourlink.flow import SOURCE_ERRORS, check

    try:
        seen = check(source, registry)
    except SOURCE_ERRORS as exc:
        typer.echo(f"{source}: NOT OK: {exc}", err=True)
        raise typer.Exit(EXIT_SOURCE_FAILED) from None
    typer.echo(f"{source}: OK ({', '.join(f'{k}: reachable' for k in seen)})")


def register(app: typer.Typer) -> None:
    app.command("sync")(sync_command)
    app.add_typer(sources_app, name="sources")
