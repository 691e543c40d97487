"""Start-up (issue 19, `bench/startup.py`): what a `tourlink` process imports is what its command needs.

Each probe runs the installed `tourlink` script in a fresh interpreter, as a person runs it, and lists
which of the watched modules were imported by the time it exits. A module here imported again at the
top of some module on the path fails the test: each one costs a one-file import 10–100 ms of its ≤ 1 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cli.rosters import Member, write_roster

TOURLINK = str(Path(sys.executable).parent / "tourlink")

PROBE = """
import atexit, json, runpy, sys
watched = {watched!r}
atexit.register(lambda: print("IMPORTED", json.dumps(sorted(m for m in watched if m in sys.modules)), file=sys.stderr))
sys.argv = [{tourlink!r}, *{args!r}]
runpy.run_path({tourlink!r}, run_name="__main__")
"""

# Nothing but typer and rich (its help screen): every library of the load path stays unimported.
NOT_FOR_HELP = ("polars", "pyarrow", "numpy", "lxml", "sqlalchemy", "pydantic", "yaml", "python_calamine",
                "charset_normalizer", "alembic", "psycopg", "tourlink.flow", "warehouse", "connectors.files")  # fmt: skip

# What a one-file xlsx import into an existing SQLite warehouse never needs: the other formats' readers
# (CSV: charset_normalizer, pyarrow.csv; Parquet: pyarrow.parquet with pyarrow.fs), pyarrow.compute
# (`pl.from_arrow`'s chunk recombination), the PostgreSQL dialect and driver, Alembic (no migration to
# run), rich's console (a `--json` run prints no table), the sync side of the flow; pydantic, which typer
# imports to coerce parameters (`tourlink.cli_params`).
NOT_FOR_AN_XLSX_IMPORT = ("pydantic", "pyarrow.compute", "pyarrow.csv", "pyarrow.parquet", "pyarrow.fs", "charset_normalizer",
                          "sqlalchemy.dialects.postgresql", "psycopg", "alembic", "rich.console",
                          "tourlink.flow.sources", "connectors.registry", "connectors.files.delimited")  # fmt: skip


def imported(args: list[str], watched: tuple[str, ...], env: dict[str, str]) -> list[str]:
    """The modules of `watched` that `tourlink ARGS` has imported when it exits (successfully)."""
    code = PROBE.format(watched=watched, tourlink=TOURLINK, args=args)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    line = next(line for line in run.stderr.splitlines() if line.startswith("IMPORTED "))
    return json.loads(line.removeprefix("IMPORTED "))


def test_tourlink_help_imports_no_library_of_the_load_path(tmp_path):
    env = {**os.environ, "TOURLINK_HOME": str(tmp_path)}
    assert imported(["--help"], NOT_FOR_HELP, env) == []


def test_a_one_file_xlsx_import_imports_only_what_reading_an_xlsx_and_sqlite_need(tmp_path):
    env = {**os.environ, "TOURLINK_HOME": str(tmp_path / "home")}
    env.pop("TOURLINK_WAREHOUSE_URL", None)
    roster = write_roster(tmp_path / "团队名单.xlsx", "91210102MA0U123450", "TD2610001",
                          [Member("王伟", "M", "1975-01-01", "210102197501011234")])
    first = subprocess.run([TOURLINK, "import", "--json", str(roster)], capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]  # the warehouse now exists: no migration to run
    assert imported(["import", "--json", "--force", str(roster)], NOT_FOR_AN_XLSX_IMPORT, env) == []
