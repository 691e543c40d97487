"""tourlink/cli.py: the start-up cuts (collector threshold, plugin scan only when it can matter)."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from tourlink import cli

TOURLINK = Path(sys.executable).parent / "tourlink"


def test_the_builtin_commands_are_named_without_building_the_app():
    names = cli.BUILTIN_COMMANDS
    assert {"import", "validate", "db", "sync", "sources", "quarantine", "schema-docs"} <= names
    assert "demo" not in names  # the dev kit's, a plugin
    assert "demo" in cli.builtin_commands(cli.app)  # this process scanned the plugins (pytest)


def test_plugins_are_scanned_unless_the_script_runs_a_builtin_command():
    builtins = {"import", "db"}
    assert not cli.needs_plugins(["/venv/bin/tourlink", "import", "x.xlsx"], builtins)
    assert cli.needs_plugins(["/venv/bin/tourlink", "demo"], builtins)
    assert cli.needs_plugins(["/venv/bin/tourlink", "--help"], builtins)
    assert cli.needs_plugins(["/venv/bin/tourlink"], builtins)
    assert cli.needs_plugins(["pytest", "import"], builtins)  # not the script: every plugin


def _small_app():
    import typer

    app = typer.Typer()
    app.callback()(lambda: None)
    app.command("import")(lambda: print("imported"))
    app.command("validate")(lambda: print("validated"))
    db = typer.Typer()
    db.command("upgrade")(lambda: print("upgraded"))
    db.command("check")(lambda: print("checked"))
    app.add_typer(db, name="db")
    return app


def test_narrowing_keeps_the_one_command_or_group_and_the_callback():
    from typer.testing import CliRunner

    app = _small_app()
    cli.narrow_to(app, "import")
    assert cli.builtin_commands(app) == {"import"}
    assert CliRunner().invoke(app, ["import"]).stdout == "imported\n"  # still a group: named, not implied
    assert CliRunner().invoke(app, ["validate"]).exit_code == 2
    app = _small_app()
    cli.narrow_to(app, "db")
    assert cli.builtin_commands(app) == {"db"}
    assert CliRunner().invoke(app, ["db", "upgrade"]).stdout == "upgraded\n"


def test_the_collector_collects_young_objects_rarely():
    assert gc.get_threshold() == cli.START_GC_THRESHOLD
    assert gc.isenabled()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TOURLINK), *args], capture_output=True, text=True, timeout=120)


def test_the_script_lists_and_runs_plugin_commands_and_runs_builtin_ones():
    listed = _run("--help")
    assert listed.returncode == 0 and "demo" in listed.stdout and "import" in listed.stdout
    plugin = _run("demo", "--help")
    assert plugin.returncode == 0, plugin.stderr
    builtin = _run("db", "--help")
    assert builtin.returncode == 0 and "upgrade" in builtin.stdout
