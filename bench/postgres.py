"""The bench's PostgreSQL: throwaway schemas, the CHECKPOINT before each contender, and the ceiling
(`psql \\copy` of the clean CSV into a bare table)."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

from data import COLUMNS

DEFAULT_PG = os.environ.get("TOURLINK_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


class Scratch:
    """A throwaway schema on the bench's PostgreSQL, dropped afterwards."""

    def __init__(self, base: str):
        import sqlalchemy as sa

        self.base = sa.make_url(base)
        self.name = f"bench_{uuid.uuid4().hex[:8]}"
        self.engine = sa.create_engine(self.base)
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f'create schema "{self.name}"')

    @property
    def url(self) -> str:
        return self.base.update_query_dict({"options": f"-csearch_path={self.name}"}).render_as_string(False)

    @property
    def libpq(self) -> str:
        u = self.base
        return f"postgresql://{u.username or 'postgres'}:{u.password or 'bench'}@{u.host or '127.0.0.1'}:{u.port or 5432}/{u.database}"

    def settle(self) -> None:
        """Checkpoint now, so the WAL a contender wrote is flushed before the next one starts rather
        than in the middle of its run: every contender starts from the same server state (needs a
        superuser or `pg_checkpoint`; without them the runs just carry that noise)."""
        import sqlalchemy as sa

        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("CHECKPOINT")
        except sa.exc.DBAPIError:
            pass

    def drop_schemas(self, *names: str) -> None:
        with self.engine.begin() as conn:
            for name in names:
                conn.exec_driver_sql(f'drop schema if exists "{name}" cascade')

    def drop(self) -> None:
        self.drop_schemas(self.name)
        self.engine.dispose()


def psql_copy(csv: Path, scratch: Scratch) -> dict:
    """The ceiling: `psql \\copy` of the clean CSV into a bare table (no key, no index), a new table each run."""
    table = f"bare_member_{uuid.uuid4().hex[:6]}"
    ddl = ", ".join(f"{c} {'bigint' if c == 'seq_no' else 'date' if c == 'birth_date' else 'text'}" for c in COLUMNS)
    env = {**os.environ, "PGOPTIONS": f"-csearch_path={scratch.name}"}
    dsn = scratch.libpq.replace("+psycopg", "")
    subprocess.run(
        ["psql", "-q", dsn, "-c", f"SET search_path={scratch.name}; CREATE TABLE {table} ({ddl});"], check=True, env=env
    )
    started = time.perf_counter()
    proc = subprocess.Popen(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", dsn, "-c", f"\\copy {table} FROM '{csv}' CSV HEADER"], env=env
    )
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak memory
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        return {"error": f"psql \\copy failed ({os.waitstatus_to_exitcode(status)})"}
    subprocess.run(["psql", "-q", dsn, "-c", f"DROP TABLE {scratch.name}.{table}"], check=True, env=env)
    return {"seconds": seconds, "maxrss_kb": usage.ru_maxrss}
