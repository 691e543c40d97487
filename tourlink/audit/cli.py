"""The CLI's side of scoping and the audit log: who runs the command, what they may read, what they did.

Commands call `operator()` once, `scoped_region()` for the region they read, and `done()` after the
action; a refused request is logged (`outcome="denied"`) before the command exits with code 2.
"""

from __future__ import annotations

from typing import Any, NoReturn

import sqlalchemy as sa
import typer

from tourlink.audit.log import Event, record
from tourlink.identity import NotAuthorised, Operator, cli_operator


def _warehouse_engine() -> sa.Engine:
    from tourlink.report.publish import default_engine

    return default_engine()


def _record(engine: sa.Engine | None, event: Event) -> None:
    """Append to `engine`'s audit log; a warehouse whose schema predates the log is upgraded first
    (the quick commands use a plain engine and skip the migration check)."""
    if engine is None:
        record(_warehouse_engine(), event)
        return
    try:
        record(engine, event)
    except sa.exc.DBAPIError:
        record(_warehouse_engine(), event)


def operator() -> Operator:
    """This process's operator, or exit 2 with the reason (an unlisted OS account)."""
    try:
        return cli_operator()
    except NotAuthorised as exc:
        typer.echo(f"{exc} ({exc.reason_zh})", err=True)
        raise typer.Exit(2) from None
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _event(op: Operator, action: str, **fields: Any) -> Event:
    return Event(actor=op.username, role=op.role, channel="cli", origin=op.origin, action=action, **fields)


def done(op: Operator, action: str, *, engine: sa.Engine | None = None, **fields: Any) -> None:
    """Log an action that happened (`fields`: region, target, rows, unmasked, detail)."""
    _record(engine, _event(op, action, **fields))


def refuse(op: Operator, action: str, exc: NotAuthorised, *, engine: sa.Engine | None = None, **fields: Any) -> NoReturn:
    """Log a refused request, tell the operator why, exit 2."""
    _record(engine, _event(op, action, outcome="denied", detail={"reason": str(exc)}, **fields))
    typer.echo(f"{exc} ({exc.reason_zh})", err=True)
    raise typer.Exit(2)


def scoped_region(op: Operator, action: str, requested: str | None, *, engine: sa.Engine | None = None) -> str | None:
    """The region the command may read (see `Operator.region_for`); a refusal is logged and exits 2."""
    try:
        return op.region_for(requested)
    except NotAuthorised as exc:
        refuse(op, action, exc, engine=engine, region=requested)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def require_admin(op: Operator, action: str, what_zh: str, *, engine: sa.Engine | None = None) -> None:
    try:
        op.require_admin(what_zh)
    except NotAuthorised as exc:
        refuse(op, action, exc, engine=engine, region=op.region)
