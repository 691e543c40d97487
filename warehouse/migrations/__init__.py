"""Alembic migrations of the warehouse schema, runnable from an installed package (no alembic.ini).

Alembic is imported only when a migration has to run: every process opens the warehouse, and
importing Alembic costs more than the rest of a one-file `tourlink import` (bench/startup.py). When
the stored revision already is the newest one the version files declare, `upgrade` reads one row.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = Path(__file__).parent
_DECLARED = re.compile(r"^(down_revision|revision)\s*(?::\s*[^=]+)?=\s*(?:['\"]([^'\"]+)['\"]|None)\s*$", re.M)


def config(connection: sa.Connection | None = None) -> Config:
    """The Alembic configuration, built in code so it works wherever the package is installed."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    cfg.set_main_option("version_locations", str(SCRIPT_LOCATION / "versions"))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config()).get_current_head()


def current(connection: sa.Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


@cache
def declared_head(versions: Path = SCRIPT_LOCATION / "versions") -> str | None:
    """The one revision no version file names as its `down_revision`, read from the files without
    Alembic; None whenever a file does not declare both plainly or the files do not end in one head
    (then Alembic decides).

    Why by hand and not `alembic.script.ScriptDirectory(...).get_current_head()`: that is the same
    answer (a test holds them equal) at a start-up cost every process pays, since every process opens
    the warehouse. Measured on this machine (load ~6): importing `alembic.script` costs 156–172 ms of
    CPU (50 Alembic modules and Mako) and reading the head 6–7 ms more; these regular expressions
    read the seven files in 0.8–0.9 ms. Alembic still runs every migration and decides every case
    this reading does not answer plainly.
    """
    revisions, parents = set(), set()
    for path in versions.glob("*.py"):
        found = {m[1]: m[2] for m in _DECLARED.finditer(path.read_text(encoding="utf-8"))}
        if "revision" not in found or "down_revision" not in found or not found["revision"]:
            return None
        revisions.add(found["revision"])
        parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _stored(connection: sa.Connection) -> list[str] | None:
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return [row[0] for row in connection.exec_driver_sql("SELECT version_num FROM alembic_version")]


def at_head(connection: sa.Connection) -> bool:
    """Whether the stored revision is the newest one the version files plainly declare (two reads,
    no Alembic, no lock): False also whenever Alembic must decide."""
    return (newest := declared_head()) is not None and _stored(connection) == [newest]


def upgrade(connection: sa.Connection, revision: str = "head") -> None:
    """Upgrade the schema on `connection` (inside its transaction) to `revision`."""
    if revision == "head" and at_head(connection):
        return
    from alembic import command

    command.upgrade(config(connection), revision)
