"""The dev kit's commands of the `tourlink` CLI: `demo`, `sandbox up`, `connector new` and `connector check`.

`register` is declared in pyproject.toml under the `tourlink.cli` entry-point group, and `tourlink.cli`
calls every such hook: the CLI never imports the dev kit, and a production install without it simply
has no such commands. Names and behaviour are those of the commands before the kit moved (issue 14).
"""

from __future__ import annotations

from pathlib import Path

import typer

EXIT_NOT_READY = 4

sandbox_app = typer.Typer(help="Vendor emulators on loopback for the demo and for development.", no_args_is_help=True)
RegistryOption = typer.Option(None, "--registry", help="Folder of registry files (default connectors/sources).", file_okay=False)

connector_app = typer.Typer(help="Onboard a new vendor: scaffold a source from a sample, check readiness.", no_args_is_help=True)


def _headers(values: list[str] | None) -> dict[str, str]:
    headers = {}
    for value in values or []:
        key, sep, text = value.partition(":")
        if not sep:
            raise typer.BadParameter(f"--header {key!r}: use 'Name: value'")
        headers[key.strip()] = text.strip()
    return headers


def _credentials(values: list[str] | None) -> dict[str, str]:
    refs = {}
    for value in values or []:
        role, sep, ref = value.partition("=")
        if not sep:
            raise typer.BadParameter(f"--credential {role!r}: use ROLE=env:VAR")
        refs[role.strip()] = ref.strip()
    return refs


@connector_app.command("new")
def new_command(
    name: str = typer.Argument(..., help="Source name (lower-case, e.g. acme_tours)."),
    dialect: str = typer.Option(..., "--dialect", help="signed-json | oauth-cursor | legacy-xml | sftp-drop | gov-portal | rest"),
    sample: list[str] = typer.Option(..., "--sample", help="A response body, export (JSON, JSONL, XML, CSV, xlsx) or URL; once per stream."),
    header: list[str] = typer.Option(None, "--header", help="HTTP header for a URL sample, 'Name: value' (not stored)."),
    credential: list[str] = typer.Option(None, "--credential", help="ROLE=env:VAR: signs URL samples as the reader would; the reference goes in the registry file."),
    out: Path | None = typer.Option(None, "--out", help="Write under this folder instead of the repository.", file_okay=False),
    mapping: str | None = typer.Option(None, "--mapping", help="Mapping name (default: the source name)."),
    region: str | None = typer.Option(None, "--region", help="Owning province's division code, e.g. 440000."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
) -> None:
    """Write the registry file, a suggested mapping (confidence per line) and a conformance test."""
    from devkit.onboarding.sample import SampleError
    from devkit.onboarding.scaffold import ScaffoldError, scaffold

    try:
        result = scaffold(name, dialect, sample, out=out, headers=_headers(header), mapping_name=mapping, region=region, force=force,
                          credentials=_credentials(credential))
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
    live: bool | None = typer.Option(None, "--live/--offline", help="Read the vendor itself (default unless tagged `sandbox`) or only the recorded sample."),
) -> None:
    """Readiness report: mapped fields, missing required fields, open review lines, a live read of the
    vendor (or the recorded sample), the mapping's problems apart from the vendor's bad records,
    pagination and incremental settings, and the conformance kit against a sandbox. Exit 4 if not ready."""
    from connectors.http.errors import SourceError
    from connectors.registry import RegistryError, SecretError
    from devkit.onboarding.check import readiness, render

    try:
        report = readiness(name, root=root, conformance=not no_conformance, live=live)
    except (RegistryError, SecretError, SourceError, KeyError, ValueError) as exc:
        typer.echo(f"connector check {name}: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(render(report))
    if not report.ready:
        raise typer.Exit(EXIT_NOT_READY)


def demo_command(
    month: str = typer.Option("2026-10", "--month", help="Month of the sample data (YYYY-MM)."),
    fresh: bool = typer.Option(True, "--fresh/--keep", help="Start from an empty embedded warehouse."),
    scheduler: bool = typer.Option(
        False, "--scheduler", help="Run the nightly syncs through a real Airflow scheduler (needs PostgreSQL)."
    ),
) -> None:
    """The main job on bundled sandbox data, through Airflow: nightly sync of every sandbox source, the monthly DAG, indicators, failure reports."""
    from devkit.demo.job import run_demo

    run_demo(month=month, fresh=fresh, scheduler=scheduler)


@sandbox_app.command("up")
def sandbox_up(registry: Path | None = RegistryOption) -> None:
    """Start one sandbox per sandbox source on its registry port; print the credentials' env exports."""
    import shlex
    import time

    from connectors.registry import load_sources
    from devkit.sandbox import SANDBOXES, start_for

    started = []
    for source in load_sources(registry).values():
        if source.dialect in SANDBOXES and "sandbox" in source.tags:
            box = start_for(source, export_env=False)
            started.append(box)
            typer.echo(f"{source.name}: {source.dialect} at {getattr(box, 'url', source.base_url)}")
            for role, ref in source.credentials.items():
                if ref.startswith("env:") and role in getattr(box, "credentials", {}):
                    typer.echo(f"  export {ref[4:]}={shlex.quote(str(box.credentials[role]))}")
    typer.echo("sandboxes running; Ctrl-C stops them")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        for box in started:
            box.stop()


def register(app: typer.Typer) -> None:
    """The `tourlink.cli` entry point: add the dev kit's commands to the `tourlink` app."""
    app.command("demo")(demo_command)
    app.add_typer(sandbox_app, name="sandbox")
    app.add_typer(connector_app, name="connector")
