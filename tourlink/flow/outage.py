"""The warehouse failing under a batch (a connection cut mid-load, a database gone): one clear outcome.

A batch is ONE transaction, so a failure before its commit leaves nothing and a re-run is safe (rows
merge by natural key; files a committed batch holds are skipped). What the operator must be told is
which database (host:port/name, never the password), whether this batch was committed, and that
re-running is safe: `WarehouseFailed.line()`, which `tourlink import` and `tourlink sync` print.
Whether the batch was committed is not guessed: after a failure the batch's row is read back over a
fresh connection (a cut during COMMIT itself could have landed), and when even that is impossible the
line says it could not be checked.
"""

from __future__ import annotations

import sys
from typing import Any

import sqlalchemy as sa


def database_errors() -> tuple[type[BaseException], ...]:
    """SQLAlchemy's and the driver's own errors (the COPY path, `warehouse.bulk`, raises them unwrapped).

    Evaluated where an exception is matched, not at import: psycopg costs ~0.1 s of start-up and is
    imported only by a PostgreSQL warehouse, so when it is not loaded none of its errors can be raised.
    """
    errors: list[type[BaseException]] = [sa.exc.DBAPIError]
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None:
        errors.append(psycopg.Error)
    return tuple(errors)


def database_name(url: str | sa.URL) -> str:
    """`host:port/name` of a server URL, the file of an SQLite one: never the user or the password."""
    u = sa.make_url(url)
    if u.get_backend_name() == "sqlite":
        return f"sqlite:{u.database or ':memory:'}"
    port = u.port or {"postgresql": 5432}.get(u.get_backend_name(), "")
    return f"{u.host or 'localhost'}:{port}/{u.database or ''}"


class WarehouseFailed(Exception):
    """The warehouse failed while a batch was read, merged or committed."""

    def __init__(self, database: str, *, lost: bool, committed: bool | None, reason: str, batch_id: str | None = None):
        self.database, self.lost, self.committed, self.reason, self.batch_id = database, lost, committed, reason, batch_id
        super().__init__(self.line())

    def line(self) -> str:
        """One line, English then Chinese, as the CLI's other errors."""
        what = "the connection to the warehouse was lost" if self.lost else "the warehouse failed"
        what_zh = "与数据库的连接中断" if self.lost else "数据库出错"
        if self.committed is True:
            outcome = f"batch {self.batch_id} was committed before the failure; re-running is safe"
            outcome_zh = f"批次 {self.batch_id} 已提交；可安全重新运行"
        elif self.committed is False:
            outcome = "nothing of this batch was committed; re-running it is safe"
            outcome_zh = "本批次未提交任何数据，可安全重新运行"
        else:
            outcome = "whether this batch was committed could not be checked; re-running it is safe either way"
            outcome_zh = "无法确认本批次是否已提交；重新运行均安全"
        return (f"error: {what} ({self.database}: {self.reason}); {outcome}"
                f" / 错误：{what_zh}（{self.database}）；{outcome_zh}")


def _reason(exc: BaseException) -> str:
    """The driver's first line (`terminating connection due to administrator command`), no SQL."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return (text[0] if text else type(orig).__name__)[:200]


def _is_lost(exc: BaseException) -> bool:
    """A connection that broke (cut, server gone, unreachable), not a statement the database refused."""
    if getattr(exc, "connection_invalidated", False) or isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return False
    return isinstance(getattr(exc, "orig", None) or exc, psycopg.OperationalError | psycopg.InterfaceError)


def _batch_status(url: str, batch_id: str) -> str | None:
    """The batch row's status read over a fresh connection; raises when the database is unreachable."""
    from warehouse import tables
    from warehouse.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            query = sa.select(tables.batch.c.status).where(tables.batch.c.batch_id == batch_id)
            return conn.execute(query).scalar()
    finally:
        engine.dispose()


def failure(url: str, exc: BaseException, batch_id: str | None = None) -> WarehouseFailed:
    """`exc`, raised by the warehouse at `url` under batch `batch_id` (None: no batch opened yet), as
    the outcome to tell: committed or not is read back from the batch's own row."""
    committed: bool | None = False
    if batch_id is not None:
        try:
            committed = _batch_status(url, batch_id) == "committed"
        except database_errors():
            committed = None
    return WarehouseFailed(database_name(url), lost=_is_lost(exc), committed=committed, reason=_reason(exc),
                           batch_id=batch_id)


def as_failure(warehouse: Any, exc: BaseException, batch_id: str | None = None) -> WarehouseFailed:
    """`failure` for a `warehouse.load.Warehouse`, or for the configured one when there is none yet."""
    if isinstance(exc, WarehouseFailed):
        return exc
    if warehouse is not None:
        url = warehouse.url
    else:
        from tourlink import settings

        url = settings.warehouse_url()
    return failure(url, exc, batch_id)
