"""`tourlink connector new` and `tourlink connector check`: onboarding a new vendor (docs/onboarding.md)."""

from __future__ import annotations

from pathlib import Path

import typer

EXIT_NOT_READY = 4

connector_app = typer.Typer(help="Onboard a new vendor: scaffold a source from a sample, check readiness.", no_args_is_help=True)


def _headers(values: list[str] | None) -> dict[str, str]:
    headers = {}
    for value in values or []:
        key, sep, text = value.partition(":")
        if not sep:
            raise typer.BadParameter(f"--header {key!r}: use 'Name: value'")
        headers[key.strip()] = text.strip()
    return headers


@connector_app.command("new")
def new_command(
    name: str = typer.Argument(..., help="Source name (lower-case, e.g. acme_tours)."),
    dialect: str = typer.Option(..., "--dialect", help="signed-json | oauth-cursor | legacy-xml | sftp-drop | gov-portal | rest"),
    sample: list[str] = typer.Option(..., "--sample", help="A response body, export (JSON, JSONL, XML, CSV, xlsx) or URL; once per stream."),
    header: list[str] = typer.Option(None, "--header", help="HTTP header for a URL sample, 'Name: value' (not stored)."),
    out: Path | None = typer.Option(None, "--out", help="Write under this folder instead of the repository.", file_okay=False),
    mapping: str | None = typer.Option(None, "--mapping", help="Mapping name (default: the source name)."),
    region: str | None = typer.Option(None, "--region", help="Owning province's division code, e.g. 440000."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
) -> None:
    """Write the registry file, a suggested mapping (confidence per line) and a conformance test."""
    from connectors.onboarding.sample import SampleError
    from connectors.onboarding.scaffold import ScaffoldError, scaffold

    try:
        result = scaffold(name, dialect, sample, out=out, headers=_headers(header), mapping_name=mapping, region=region, force=force)
    except (ScaffoldError, SampleError) as exc:
        typer.echo(f"connector new {name}: {exc}", err=True)
        raise typer.Exit(2) from None
    s = result.suggestion
    fields = sum(len(e.fields) for e in s.entities.values())
    sure = sum(1 for e in s.entities.values() for f in e.fields.values() if f.confidence >= 0.8)
    typer.echo(f"wrote {result.registry}")
    typer.echo(f"wrote {result.mapping}: {', '.join(s.entities)}; {fields} fields, {sure} with confidence >= 0.8")
    typer.echo(f"wrote {result.test} (+ {len(result.samples)} recorded sample(s))")
    typer.echo(f"review: {len(s.unmatched)} unmapped columns, {len(s.missing)} required fields without a source, {len(s.review)} lines to finish")
    for item in [*s.missing, *s.review]:
        typer.echo(f"  - {item}")


@connector_app.command("check")
def check_command(
    name: str = typer.Argument(..., help="Source name (a registry file)."),
    root: Path | None = typer.Option(None, "--root", help="Folder holding connectors/, mappings/, tests/ (default the repository).", file_okay=False),
    no_conformance: bool = typer.Option(False, "--no-conformance", help="Skip the conformance kit (sample dry run only)."),
) -> None:
    """Readiness report: mapped fields, missing required fields, sample rows that would be quarantined,
    pagination and incremental settings, and the conformance kit against the sandbox. Exit 4 if not ready."""
    from connectors.http.errors import SourceError
    from connectors.onboarding.check import readiness, render
    from connectors.registry import RegistryError, SecretError

    try:
        report = readiness(name, root=root, conformance=not no_conformance)
    except (RegistryError, SecretError, SourceError, KeyError, ValueError) as exc:
        typer.echo(f"connector check {name}: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(render(report))
    if not report.ready:
        raise typer.Exit(EXIT_NOT_READY)


def register(app: typer.Typer) -> None:
    app.add_typer(connector_app, name="connector")
