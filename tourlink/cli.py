"""The `tourlink` command: every job runs from here without Airflow.

Each command group lives in `tourlink/commands/<topic>.py` and exposes `register(app)`. Command
modules import heavy libraries (polars, Great Expectations, pandas) inside the command functions, so
quick commands such as `tourlink indicators` start fast. Other installed packages add command groups
through the `tourlink.cli` entry-point group (a `register(app)` each): the dev kit's `demo`,
`sandbox up` and `connector new|check` (`devkit.cli`), so this module never imports the dev kit.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from tourlink.commands import airflow as airflow_commands
from tourlink.commands import audit as audit_commands
from tourlink.commands import drift as drift_commands
from tourlink.commands import files as files_commands
from tourlink.commands import indicators as indicator_commands
from tourlink.commands import report as report_commands
from tourlink.commands import retention as retention_commands
from tourlink.commands import sources as source_commands
from tourlink.commands import template as template_commands

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
for plugin in entry_points(group=PLUGIN_GROUP):
    plugin.load()(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
