"""`tourlink report`, `quarantine list|export|waive`, `replay`, `web`: the stewards' desk (issue 7).

Heavy imports happen inside the commands. Every command reads the configured warehouse
(`TOURLINK_WAREHOUSE_URL`, else the embedded SQLite under `TOURLINK_HOME`).

Scope (issue 20): the operator and their region come from the stewards file (`tourlink.identity`);
`--region` can only narrow a steward's own region. Every command is written to the audit log.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

quarantine_app = typer.Typer(help="隔离区：查看、导出更正模板、豁免 (quarantine entries).", no_args_is_help=True)

RegionOpt = Annotated[
    str | None, typer.Option("--region", help="2/4/6-digit division code within your own region (default: yours)")
]
BatchOpt = Annotated[str | None, typer.Option("--batch", help="only entries of this batch id")]


def _fail(message: str, code: int = 2) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _engine():
    from tourlink.report.publish import default_engine

    return default_engine()


def _statuses(status: str) -> tuple[str, ...]:
    from tourlink.report.failures import STATUSES

    if status == "all":
        return STATUSES
    parts = tuple(s.strip() for s in status.split(",") if s.strip())
    bad = [s for s in parts if s not in STATUSES]
    if bad:
        _fail(f"unknown status {bad}: use open, resolved, waived, a comma list, or all")
    return parts


_FILES_SHOWN = 10


def _rule(rule: str | None) -> str | None:
    """A rule id as the catalogue has it (`ric_checksum` works too); an unknown one is refused."""
    if rule is None:
        return None
    from validators.catalogue import catalogue

    known = catalogue()
    if rule.strip().upper() not in known:
        _fail(f"unknown rule {rule!r}: known rules are {', '.join(sorted(known))}")
    return rule.strip().upper()


def _scope(region: str | None, **kwargs):
    from tourlink.report.failures import Scope

    try:
        return Scope(region=region, **kwargs)
    except ValueError as exc:
        _fail(str(exc))


def report(
    out: Annotated[Path, typer.Option("--out", help="folder for the HTML and xlsx files")],
    batch: BatchOpt = None,
    region: RegionOpt = None,
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (Asia/Shanghai): entries quarantined that day")] = None,
    status: Annotated[str, typer.Option("--status", help="open (default), resolved, waived, a comma list, or all")] = "open",
    month: Annotated[
        str | None, typer.Option("--month", help="YYYY-MM of the indicator page (default: the report day's month)")
    ] = None,
    indicators: Annotated[
        bool, typer.Option("--indicators/--no-indicators", help="also write the indicator page (★ bars, 6-month line)")
    ] = True,
    data_docs: Annotated[
        bool, typer.Option("--data-docs/--no-data-docs", help="build today's GX Data Docs if missing and link them")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print the written paths as JSON")] = False,
) -> None:
    """Write the stewards' failure report (HTML + xlsx) for a region and day: Chinese labels, masked
    identifiers, formula-safe cells, grouped by agency, file and rule; plus the month's indicator page
    (PNG charts in HTML) and a link to the validators' GX Data Docs for engineers."""
    from datetime import UTC, datetime

    from tourlink.audit.cli import done, operator, scoped_region
    from tourlink.report.failures import SHANGHAI
    from tourlink.report.publish import ensure_data_docs, publish_report

    op = operator()
    engine = _engine()
    region = scoped_region(op, "report", region, engine=engine)
    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        _fail(f"--date must be YYYY-MM-DD, got {day!r}")
    if month is not None:
        try:
            datetime.strptime(month, "%Y-%m")
        except ValueError:
            _fail(f"--month must be YYYY-MM, got {month!r}")
    scope = _scope(region, batch_id=batch, day=when, statuses=_statuses(status))
    if indicators and month is None:
        month = f"{when or datetime.now(UTC).astimezone(SHANGHAI).date():%Y-%m}"
    docs = ensure_data_docs() if data_docs else None
    files = publish_report(engine, scope, out, month=month if indicators else None, data_docs=docs)
    done(op, "report", engine=engine, region=scope.region, target=str(files.html), rows=files.report.entry_count,
         detail={"xlsx": str(files.xlsx), "indicators": str(files.indicators) if files.indicators else None,
                 "status": list(scope.statuses), "day": when.isoformat() if when else None})
    if as_json:
        typer.echo(json.dumps(files.to_json(), ensure_ascii=False))
    else:
        typer.echo(f"{files.report.entry_count} entries, {len(files.report.failures)} failures ({scope.label_zh})")
        typer.echo(f"HTML: {files.html}")
        typer.echo(f"xlsx: {files.xlsx}")
        if files.indicators:
            typer.echo(f"indicators: {files.indicators}")
        if files.data_docs:
            typer.echo(f"GX Data Docs: {files.data_docs}")


@quarantine_app.command("list")
def quarantine_list(
    batch: BatchOpt = None,
    status: Annotated[str, typer.Option("--status", help="open (default), resolved, waived, a comma list, or all")] = "open",
    region: RegionOpt = None,
    agency: Annotated[str | None, typer.Option("--agency", help="only this agency's USCC")] = None,
    file: Annotated[str | None, typer.Option("--file", help="only rows of this file (as listed, or its path)")] = None,
    rule: Annotated[str | None, typer.Option("--rule", help="only entries failing this rule, e.g. RIC_CHECKSUM")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """List quarantine entries (values of personal fields masked)."""
    from tourlink.audit.cli import done, operator, scoped_region
    from tourlink.report.stewardship import files_with_entries, list_entries

    op = operator()
    engine = _engine()
    rule = _rule(rule)
    scope = _scope(scoped_region(op, "quarantine_list", region, engine=engine), batch_id=batch,
                   statuses=_statuses(status), agency=agency, file=file, rule=rule)
    with engine.connect() as conn:
        entries = list_entries(conn, scope)
        elsewhere = files_with_entries(conn, scope) if file and not entries else []
    done(op, "quarantine_list", engine=engine, region=scope.region, rows=len(entries),
         detail={"status": list(scope.statuses), "agency": agency, "batch": batch, "file": file, "rule": scope.rule})
    if elsewhere:  # a mistyped name: say which files the same filters do find
        shown = ", ".join(elsewhere[:_FILES_SHOWN]) + (f" (and {len(elsewhere) - _FILES_SHOWN} more)" if len(elsewhere) > _FILES_SHOWN else "")
        typer.echo(f"no entries of {file!r}; entries are in: {shown} / 该文件没有记录", err=True)
    if as_json:
        for e in entries:
            typer.echo(json.dumps(e, ensure_ascii=False, default=str))
        return
    for e in entries:
        rules = ", ".join(f"{r.get('rule')}({r.get('field') or '-'})" for r in e["rules"])
        typer.echo(f"#{e['id']}\t{e['status']}\t{e['entity']}\t{e['file']}:{e['row']}\t{e['agency_uscc'] or '-'}\t{rules}")
    typer.echo(f"{len(entries)} entries", err=True)


@quarantine_app.command("show")
def quarantine_show(
    entry_id: Annotated[int, typer.Argument(metavar="ID", help="quarantine entry id")],
    region: RegionOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One entry: its rules (values masked), status and every status change (who, when, why, batch)."""
    from tourlink.audit.cli import done, operator, refuse, scoped_region
    from tourlink.identity import NotAuthorised
    from tourlink.report.failures import STATUSES
    from tourlink.report.stewardship import EntryError, OutsideRegion, check_region, history, list_entries

    op = operator()
    engine = _engine()
    scope = _scope(scoped_region(op, "quarantine_show", region, engine=engine), statuses=STATUSES)
    try:
        with engine.connect() as conn:
            check_region(conn, entry_id, scope.region)
            entry = next(e for e in list_entries(conn, scope) if e["id"] == entry_id)
            entry["history"] = history(conn, entry_id)
    except OutsideRegion as exc:
        refuse(op, "quarantine_show", NotAuthorised(str(exc), exc.reason_zh), engine=engine, region=scope.region,
               target=f"#{entry_id}")
    except EntryError as exc:
        _fail(f"{exc} ({exc.reason_zh})", code=1)
    done(op, "quarantine_show", engine=engine, region=scope.region, target=f"#{entry_id}", rows=1)
    if as_json:
        typer.echo(json.dumps(entry, ensure_ascii=False, default=str))
        return
    typer.echo(f"#{entry['id']} {entry['entity']} {entry['file']}:{entry['row']} {entry['agency_uscc'] or '-'}")
    for r in entry["rules"]:
        typer.echo(f"  {r.get('rule')} {r.get('field') or '-'}: {r.get('message') or ''}")
    typer.echo(f"status: {entry['status']}" + (f" ({entry['status_reason']})" if entry["status_reason"] else ""))
    typer.echo("  open (quarantined by batch " + str(entry["batch_id"]) + ")")
    for h in entry["history"]:
        by = f" by {h['actor']}" if h["actor"] else ""
        batch = f" batch {h['batch_id']}" if h["batch_id"] else ""
        typer.echo(f"  {h['at']:%Y-%m-%d %H:%M:%S} UTC {h['status']}{by}{batch}: {h['reason'] or ''}")


@quarantine_app.command("export")
def quarantine_export(
    agency: Annotated[str, typer.Option("--agency", help="the agency's USCC")],
    out: Annotated[Path, typer.Option("--out", help="xlsx file to write")],
    region: RegionOpt = None,
) -> None:
    """Write an agency's open failures as a correction workbook in its import template (unmasked: send
    it to that agency only); `tourlink replay` loads it back once corrected."""
    from tourlink.audit.cli import done, operator, scoped_region
    from tourlink.report.fix_template import collect_rows, write_fix_template
    from tourlink.report.private_files import private_dir, private_file

    op = operator()
    engine = _engine()
    region = scoped_region(op, "export", region, engine=engine)
    _scope(region)  # validates the region code
    uscc = agency.strip().upper()
    with engine.connect() as conn:
        rows = collect_rows(conn, uscc, region=region)
    if not rows:
        done(op, "export", engine=engine, region=region, target=uscc, rows=0, outcome="failed")
        _fail(f"agency {agency} has no open quarantine entries" + (f" in region {region}" if region else ""), code=1)
    private_dir(out.parent)
    n = write_fix_template(rows, uscc, out)
    private_file(out)
    done(op, "export", engine=engine, region=region, target=f"{uscc} → {out}", rows=n, unmasked=True,
         detail={"entries": sum(len(r.ids) for r in rows)})
    typer.echo(f"{n} rows to correct ({sum(len(r.ids) for r in rows)} entries): {out}")


@quarantine_app.command("waive")
def quarantine_waive(
    entry_id: Annotated[int, typer.Argument(metavar="ID", help="quarantine entry id")],
    reason: Annotated[str, typer.Option("--reason", help="why this entry needs no correction (kept in history)")],
) -> None:
    """Mark an open entry `waived` with a reason; the entry and its history are kept. The actor is the
    operator from the stewards file (a steward waives only their region's entries)."""
    from tourlink.audit.cli import done, operator, refuse
    from tourlink.identity import NotAuthorised
    from tourlink.report.stewardship import EntryError, OutsideRegion, waive

    op = operator()
    engine = _engine()
    try:
        with engine.begin() as conn:
            waive(conn, entry_id, reason, actor=op.username, region=op.region)
    except OutsideRegion as exc:
        refuse(op, "waive", NotAuthorised(str(exc), exc.reason_zh), engine=engine, region=op.region, target=f"#{entry_id}")
    except EntryError as exc:
        _fail(f"{exc} ({exc.reason_zh})", code=1)
    done(op, "waive", engine=engine, region=op.region, target=f"#{entry_id}", rows=1, detail={"reason": reason})
    typer.echo(f"#{entry_id} waived")


def replay(
    file: Annotated[Path, typer.Argument(help="a corrected workbook from `tourlink quarantine export`")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Re-validate and load the corrected rows as one batch (source `replay`); the entries they fix
    become `resolved`, rows that fail again stay in quarantine with their new reasons."""
    from tourlink.audit.cli import done, operator, refuse
    from tourlink.flow import UnreadableInput
    from tourlink.identity import NotAuthorised, agency_division
    from tourlink.report.fix_template import NotAFixTemplate, read_fix_template
    from tourlink.report.replay import replay as run

    if not file.is_file():
        _fail(f"{file}: no such file")
    op = operator()
    engine = _engine()
    try:
        agency = read_fix_template(file).agency
        if op.region is not None:
            with engine.connect() as conn:
                division = agency_division(conn, agency)
            if not (division or "").startswith(op.region):
                refuse(op, "replay", NotAuthorised(f"agency {agency} is outside region {op.region}",
                                                   f"该旅行社（{agency}）不在您管辖的地区"), engine=engine,
                       region=op.region, target=f"{agency} ← {file}")
        result = run(file, engine=engine)
    except NotAFixTemplate as exc:
        _fail(f"{exc} ({exc.reason_zh})")
    except UnreadableInput as exc:
        _fail(f"{exc} ({exc.reason_zh})")
    except Exception as exc:  # ForeignAgencyRows and the like carry a Chinese reason
        reason = getattr(exc, "reason_zh", None)
        if reason is None:
            raise
        _fail(f"{exc} ({reason})")
    done(op, "replay", engine=engine, region=op.region, target=f"{agency} ← {file}",
         rows=sum(c["read"] for c in result.entities.values()),
         detail={"batch": result.batch_id, "resolved": len(result.resolved), "still_open": len(result.still_open)})
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    typer.echo(f"batch {result.batch_id}: {len(result.resolved)} entries resolved, {len(result.still_open)} still open")
    for entity, c in result.entities.items():
        typer.echo(f"  {entity}: read {c['read']}, loaded {c['loaded']}, unchanged {c['unchanged']}, quarantined {c['quarantined']}")


def web(
    host: Annotated[str, typer.Option("--host", help="listen address; loopback by default")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8787,
    users: Annotated[Path | None, typer.Option("--users", help="stewards YAML (default $TOURLINK_HOME/stewards.yaml)")] = None,
) -> None:
    """Serve the stewards' web view (browse, filter, download, waive), scoped to each steward's region."""
    import uvicorn

    from tourlink.log_masking import install_masking_everywhere
    from tourlink.web.app import create_app
    from tourlink.web.stewards import default_users_path, load_stewards

    path = users or default_users_path()
    if not path.is_file():
        _fail(f"{path}: no stewards file; see `python -m tourlink.web.stewards --help`")
    app = create_app(engine=_engine(), stewards=load_stewards(path))
    # X-Forwarded-* are trusted by the app only from `login.trusted_proxies` (tourlink.web.sessions)
    config = uvicorn.Config(app, host=host, port=port, log_level="info", proxy_headers=False)  # sets up uvicorn's loggers
    install_masking_everywhere()  # so mask their handlers too
    uvicorn.Server(config).run()


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.add_typer(quarantine_app, name="quarantine")
    app.command("replay")(replay)
    app.command("web")(web)
