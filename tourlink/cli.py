"""The `tourlink` command: every job runs from here without Airflow.

Each command group lives in `tourlink/commands/<topic>.py` and exposes `register(app)`. Command
modules import heavy libraries (polars, Great Expectations, pandas) inside the command functions, so
quick commands such as `tourlink indicators` start fast. Other installed packages add command groups
through the `tourlink.cli` entry-point group (a `register(app)` each): the dev kit's `demo`,
`sandbox up` and `connector new|check` (`devkit.cli`), so this module never imports the dev kit.

Start-up (issue 19, `bench/startup.py`): a one-file `tourlink import` is mostly imports. Two costs of
this module are cut: the cyclic collector walked the ~900 freshly imported modules' objects ~270
times (0.11–0.23 s of a 1.2 s run; `START_GC_THRESHOLD` makes it ~20 young collections), and the
plugin scan (`importlib.metadata` over every installed distribution, ~14 ms once pydantic has
imported it) runs only when the command asked for is not a built-in one; then typer builds only that
command (~25 ms for all of them). Text and path parameters are coerced without pydantic, which typer
would import for them (65–100 ms, `tourlink.cli_params`).
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import typer

from tourlink.cli_params import install as install_plain_params
from tourlink.commands import airflow as airflow_commands
from tourlink.commands import audit as audit_commands
from tourlink.commands import drift as drift_commands
from tourlink.commands import files as files_commands
from tourlink.commands import indicators as indicator_commands
from tourlink.commands import report as report_commands
from tourlink.commands import retention as retention_commands
from tourlink.commands import sources as source_commands
from tourlink.commands import template as template_commands

# Collect young objects every 50,000 allocations, not 700: what a command imports (polars, pyarrow,
# SQLAlchemy, the tables) is long-lived, not garbage; a long job keeps a bounded young generation.
START_GC_THRESHOLD = (50_000, 20, 20)
gc.set_threshold(*START_GC_THRESHOLD)
install_plain_params()  # text and path parameters coerced without importing pydantic (tourlink/cli_params.py)

app = typer.Typer(
    name="tourlink",
    help="tourlink: 全国旅游监管服务平台 data-exchange middleware (import, sync, validate, report, indicators).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

files_commands.register(app)
indicator_commands.register(app)
report_commands.register(app)
source_commands.register(app)
airflow_commands.register(app)
audit_commands.register(app)
retention_commands.register(app)
template_commands.register(app)
drift_commands.register(app)


@app.callback()
def _start() -> None:
    """Every command runs with the PII log filter installed (issue 20)."""
    from tourlink.log_masking import install_masking_everywhere

    install_masking_everywhere()


PLUGIN_GROUP = "tourlink.cli"


def builtin_commands(typer_app: typer.Typer) -> set[str]:
    """The names of the commands and groups registered on `typer_app` (without building them)."""
    names = {_name(c) for c in typer_app.registered_commands}
    names |= {g.name or g.typer_instance.info.name for g in typer_app.registered_groups}
    return {n for n in names if isinstance(n, str)}


def needs_plugins(argv: list[str], builtins: set[str]) -> bool:
    """Whether this process must scan the `tourlink.cli` entry points: always, unless it is the
    `tourlink` script asked for a built-in command (then no plugin command can be the one run;
    `tourlink --help` and plugin commands still see every plugin)."""
    return not (len(argv) > 1 and Path(argv[0]).name == "tourlink" and argv[1] in builtins)


def narrow_to(typer_app: typer.Typer, name: str) -> None:
    """Keep only the command or group `name` on `typer_app`: typer builds (inspects the signature
    and type hints of) every registered command before it runs one, ~25 ms for all of them."""
    typer_app.registered_commands = [c for c in typer_app.registered_commands if _name(c) == name]
    typer_app.registered_groups = [g for g in typer_app.registered_groups if (g.name or g.typer_instance.info.name) == name]


def _name(command: typer.models.CommandInfo) -> str | None:
    return command.name or (command.callback.__name__.replace("_", "-") if command.callback else None)


def load_plugins(typer_app: typer.Typer) -> None:
    """Let every installed `tourlink.cli` entry point add its commands to `typer_app`."""
    from importlib.metadata import entry_points

    for plugin in entry_points(group=PLUGIN_GROUP):
        plugin.load()(typer_app)


BUILTIN_COMMANDS = builtin_commands(app)  # before any plugin adds its own
if needs_plugins(sys.argv, BUILTIN_COMMANDS):
    load_plugins(app)
else:  # the `tourlink` script running a built-in command: it is the only one typer has to build
    narrow_to(app, sys.argv[1])


EXIT_SCHEMA_AHEAD = 5


def main() -> None:
    try:
        app()
    except Exception as exc:  # an exit is SystemExit: this path imports nothing on a normal run
        from warehouse.migrations import SchemaAhead

        if not isinstance(exc, SchemaAhead):
            raise
        typer.echo(f"error: {exc}\n错误：{exc.reason_zh}", err=True)
        raise SystemExit(EXIT_SCHEMA_AHEAD) from None


if __name__ == "__main__":
    main()
