"""`tourlink import`, `validate`, `db upgrade` and `demo`: the spine's commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from tourlink.flow.merge import BatchResult

EXIT_UNREADABLE = 2
EXIT_WAREHOUSE_FAILED = 4  # the database failed under the batch (a cut connection): nothing half-written


def fail_on_warehouse(exc: BaseException) -> None:
    """Exit 4 with the one line `tourlink.flow.outage` makes of a warehouse failure: which database
    (never its password), whether the batch was committed, and that a re-run is safe."""
    from tourlink.flow import as_failure

    typer.echo(as_failure(None, exc).line(), err=True)
    raise typer.Exit(EXIT_WAREHOUSE_FAILED) from None


def _print_json(payload: object) -> None:
    typer.echo(json.dumps(payload, ensure_ascii=False, default=str))


def _counts_table(result, title: str):  # noqa: ANN001, ANN202 - rich objects imported lazily
    from rich.table import Table

    from tourlink import schema

    table = Table(title=title)
    for column in ("实体 entity", "读取 read", "入库 loaded", "未变 unchanged", "隔离 quarantined"):
        table.add_column(column, justify="right" if "entity" not in column else "left")
    for name, c in result.entities.items():
        label = f"{schema.entity(name).label} {name}"
        table.add_row(label, f"{c.read:,}", f"{c.loaded:,}", f"{c.unchanged:,}", f"{c.quarantined:,}")
    return table


def _check_entity_and_mapping(entity: str | None, mapping: str | None) -> None:
    """Reject an unknown `--entity` or `--mapping` as a usage error (exit 2) before any file is read."""
    import yaml

    from mappings.engine import load_mapping
    from tourlink import schema

    if entity is not None and entity not in schema.entities():
        known = "、".join(schema.entities())
        raise typer.BadParameter(f"unknown entity {entity!r} / 未知实体；应为：{known}", param_hint="--entity")
    if mapping is not None:
        try:
            load_mapping(mapping)
        except (KeyError, ValueError, OSError, yaml.YAMLError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            raise typer.BadParameter(f"{message} / 无法加载映射", param_hint="--mapping") from None


def import_command(
    paths: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="Files of one batch, in any order."),
    entity: str | None = typer.Option(None, "--entity", help="Canonical entity, when headers alone cannot tell."),
    mapping: str | None = typer.Option(None, "--mapping", help="Mapping name or YAML path (default: detected)."),
    source: str = typer.Option("files", "--source", help="Source name recorded as lineage."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable summary on stdout, no progress bars."),
    force: bool = typer.Option(
        False, "--force", help="Re-read, re-validate and re-merge files a committed batch already holds (same SHA-256)."
    ),
) -> None:
    """Import files as one batch: good rows merge into the warehouse, bad rows go to quarantine.

    A file whose exact bytes a committed batch already holds is skipped (its rows could only be
    unchanged); `--force` imports it again."""
    from tourlink.flow import UnreadableInput, WarehouseFailed, database_errors, import_files

    _check_entity_and_mapping(entity, mapping)
    try:
        result = import_files(
            paths, source=source, entity=entity, mapping=mapping, progress=sys.stderr.isatty() and not as_json,
            skip_loaded=not force,
        )
    except (WarehouseFailed, *database_errors()) as exc:
        fail_on_warehouse(exc)
    except UnreadableInput as exc:
        typer.echo(f"error: cannot read {exc.file}: {exc.reason}\n错误：无法读取文件 {exc.file}：{exc.reason_zh}", err=True)
        typer.echo("nothing of this batch was loaded / 本批次未入库任何数据", err=True)
        raise typer.Exit(EXIT_UNREADABLE) from None
    if as_json:
        summary = result.to_json()
        _print_json({k: summary[k] for k in ("batch_id", "files", "entities", "skipped", "sheets", "quarantine_entries")})
        return
    from rich.console import Console  # only for the table: ~35 ms of start-up a `--json` run does not pay

    console = Console()
    if result.batch_id is not None:
        console.print(_counts_table(result, f"batch {result.batch_id}"))
    for item in result.skipped:
        console.print(
            f"{item['file']}: already loaded by batch {item['batch_id']} (same SHA-256), skipped; `--force` re-imports it"
            " / 内容与该批次已导入的文件相同，已跳过；如需重新导入请加 --force",
            markup=False, highlight=False, soft_wrap=True,
        )
    for sheet in result.sheets:
        if not sheet["read"]:
            console.print(f"{sheet['file']}: 工作表“{sheet['sheet']}”未导入：{sheet['reason']}",
                          markup=False, highlight=False, soft_wrap=True)
    _quarantine_hint(console, result)


def _quarantine_hint(console: Any, result: BatchResult) -> None:
    """Where the batch's rejected rows are: the entries it opened, and those of an earlier batch
    that already held the same row with the same rules (a file imported again), which stay there."""
    quarantined = sum(c.quarantined for c in result.entities.values())
    if not quarantined:
        return
    lines = [f"{quarantined:,} rows quarantined / 条记录被隔离:"]
    for batch_id, entries in result.quarantine_entries.items():
        if batch_id == result.batch_id:
            lines.append(f"  {entries:,} new entries: `tourlink quarantine list --batch {batch_id}`")
        else:
            lines.append(f"  {entries:,} already open from batch {batch_id} (same row, same rules / 同一行、同样的问题，"
                         f"沿用原隔离记录): `tourlink quarantine list --batch {batch_id}`")
    console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)


def validate_command(
    paths: list[Path] = typer.Argument(..., exists=True, dir_okay=False),
    entity: str | None = typer.Option(None, "--entity"),
    mapping: str | None = typer.Option(None, "--mapping"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Run every check of `import` without writing anything; exit 1 when some row would be quarantined."""
    from tourlink.flow import UnreadableInput, validate_files
    from tourlink.masking import mask_issue

    _check_entity_and_mapping(entity, mapping)
    try:
        result = validate_files(paths, entity=entity, mapping=mapping)
    except UnreadableInput as exc:
        typer.echo(f"error: cannot read {exc.file}: {exc.reason}\n错误：无法读取文件 {exc.file}：{exc.reason_zh}", err=True)
        raise typer.Exit(EXIT_UNREADABLE) from None
    failures = [
        {
            "file": item["file"],
            "row": item["row"],
            "entity": item["entity"],
            "rules": [mask_issue(r, entity=item["entity"]) for r in item["rules"]],
        }
        for item in result.failures
    ]
    rejected = sum(c.quarantined for c in result.entities.values())
    if as_json:
        _print_json({"files": result.files, "entities": {k: vars(v) for k, v in result.entities.items()}, "failures": failures})
    else:
        for item in failures:
            for rule in item["rules"]:
                typer.echo(
                    f"{item['file']}:{item['row']} [{item['entity']}] {rule['severity']} {rule['rule']} "
                    f"{rule.get('field') or ''} {rule['message']}"
                )
        typer.echo(f"{rejected:,} rows would be quarantined")
    if rejected:
        raise typer.Exit(1)


def db_upgrade_command() -> None:
    """Create or upgrade the warehouse schema (Alembic) at TOURLINK_WAREHOUSE_URL."""
    from warehouse import migrations
    from warehouse.load import Warehouse

    wh = Warehouse(upgrade=False)  # read what is stored before upgrading it
    with wh.engine.connect() as conn:
        stored, steps = migrations.current(conn), migrations.pending(conn)
    wh.upgrade()
    where = wh.engine.url.render_as_string(hide_password=True)
    if not steps:
        typer.echo(f"warehouse at {where} was already at the latest revision ({stored})")
        return
    typer.echo(f"warehouse at {where} upgraded from {stored or 'an empty database'} to {steps[-1][0]}:")
    for revision, title in steps:
        typer.echo(f"  {revision}  {title}")


def db_downgrade_command(
    revision: str = typer.Argument(..., help="The revision to go back to: the newest one of the release you go back to."),
) -> None:
    """Take the warehouse schema back to REVISION, before running an older release (one transaction)."""
    from warehouse.load import Warehouse

    wh = Warehouse(upgrade=False)  # opening it as every command does would upgrade it first
    try:
        undone = wh.downgrade(revision)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_UNREADABLE) from None
    finally:
        wh.engine.dispose()
    typer.echo(f"warehouse at {wh.engine.url.render_as_string(hide_password=True)} downgraded to {revision}, undoing:")
    for undone_revision, title in undone:
        typer.echo(f"  {undone_revision}  {title}")


def schema_docs_command(
    out: Path | None = typer.Option(None, "--out", dir_okay=False, help="Write the Markdown here (default: stdout)."),
) -> None:
    """The canonical field reference (every entity, Chinese headers, rules, code lists), from the schemas."""
    from tourlink.schema import reference_markdown

    text = reference_markdown()
    if out is None:
        typer.echo(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")
    typer.echo(f"field reference written to {out}", err=True)


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("validate")(validate_command)
    db = typer.Typer(help="Warehouse schema.", no_args_is_help=True)
    db.command("upgrade")(db_upgrade_command)
    db.command("downgrade")(db_downgrade_command)
    app.add_typer(db, name="db")
    app.command("schema-docs")(schema_docs_command)
