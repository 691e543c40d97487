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


class SchemaAhead(RuntimeError):
    """The warehouse is at a revision these version files do not know: a newer tourlink upgraded
    it (a deployment rolled back, or workers of two releases side by side). Nothing is changed."""

    def __init__(self, stored: list[str], head: str | None):
        self.stored, self.head = stored, head
        super().__init__(
            f"the warehouse's schema is at revision {', '.join(stored)}, which this tourlink (newest revision {head})"
            " does not know: a newer tourlink upgraded it. Run that release on every component, or downgrade"
            " the warehouse with it before going back to this one"
        )
        self.reason_zh = (
            f"数据仓库的表结构版本为 {', '.join(stored)}，比当前 tourlink（最高版本 {head}）更新：请在所有组件上使用升级它的"
            "那个版本，或先用该版本将数据仓库降级后再回退"
        )


def declared_revisions(versions: Path = SCRIPT_LOCATION / "versions") -> set[str]:
    """Every revision the version files declare plainly, read without Alembic."""
    return set(_declarations(versions) or {})


def _refuse_unknown(connection: sa.Connection) -> None:
    """`SchemaAhead` when the stored revision is one the version files do not declare."""
    if unknown := [r for r in _stored(connection) or [] if r not in declared_revisions()]:
        raise SchemaAhead(unknown, declared_head())


def pending(connection: sa.Connection) -> list[tuple[str, str]]:
    """The revisions an upgrade would apply, oldest first: (revision, the first line of its docstring)."""
    from alembic.script import ScriptDirectory

    _refuse_unknown(connection)
    scripts = ScriptDirectory.from_config(config())
    stored = current(connection)
    steps = scripts.iterate_revisions(scripts.get_current_head(), stored)  # newest first, `stored` excluded
    return [(step.revision, _title(step.doc)) for step in reversed(list(steps))]


def downgrade(connection: sa.Connection, revision: str) -> list[tuple[str, str]]:
    """Take the schema on `connection` (inside its transaction) back to `revision`, a revision the
    version files declare and older than the stored one; the revisions undone, newest first. A
    revision that is not one, or not older, raises `ValueError` and changes nothing."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.script.revision import RevisionError

    _refuse_unknown(connection)
    stored = current(connection)
    if revision not in declared_revisions():
        raise ValueError(f"{revision!r} is not a revision of this tourlink: {', '.join(sorted(declared_revisions()))}")
    scripts = ScriptDirectory.from_config(config())
    try:
        steps = list(scripts.iterate_revisions(stored, revision)) if stored else []
    except RevisionError:  # `revision` comes after the stored one
        steps = []
    undone = [(step.revision, _title(step.doc)) for step in steps]
    if not undone:
        raise ValueError(f"the warehouse is at {stored or 'no revision'}: {revision} is not older")
    command.downgrade(config(connection), revision)
    return undone


def _title(doc: str | None) -> str:
    lines = (doc or "").strip().splitlines()
    return lines[0] if lines else ""


def current(connection: sa.Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


@cache
def _declarations(versions: Path = SCRIPT_LOCATION / "versions") -> dict[str, str | None] | None:
    """revision -> down_revision of every version file, read without Alembic; None when a file
    does not declare both plainly (then Alembic decides)."""
    declared: dict[str, str | None] = {}
    for path in versions.glob("*.py"):
        found = {m[1]: m[2] for m in _DECLARED.finditer(path.read_text(encoding="utf-8"))}
        if "revision" not in found or "down_revision" not in found or not found["revision"]:
            return None
        declared[found["revision"]] = found["down_revision"]
    return declared


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
    declared = _declarations(versions)
    if declared is None:
        return None
    heads = set(declared) - set(declared.values())
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
    _refuse_unknown(connection)
    from alembic import command

    command.upgrade(config(connection), revision)
