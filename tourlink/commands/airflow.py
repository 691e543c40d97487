"""`tourlink airflow-env`: the environment Airflow needs for this checkout, or a new deployment's secrets.

`eval "$(tourlink airflow-env)"` before `airflow ...` runs Airflow on tourlink's embedded default;
`tourlink airflow-env --new-deployment deploy/secrets.env` generates what every component of a
deployment must share (docs/deployment.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# What `airflow_environment` decides; printed in this order.
EXPORTED = [
    "AIRFLOW_HOME", "AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC", "AIRFLOW__LOGGING__BASE_LOG_FOLDER", "TOURLINK_HOME",
]


def airflow_env(
    new_deployment: Annotated[
        Path | None,
        typer.Option("--new-deployment", help="write fresh shared secrets (jwt_secret, fernet_key, …) to this env file, mode 0600"),
    ] = None,
) -> None:
    """Print `export` lines of the Airflow environment (for eval), or write a new deployment's secrets."""
    from tourlink.airflow_env import airflow_environment, new_deployment_secrets, shell_exports, write_secrets_file

    if new_deployment is None:
        typer.echo(shell_exports(airflow_environment(), EXPORTED), nl=False)
        return
    try:
        written = write_secrets_file(new_deployment, new_deployment_secrets())
    except FileExistsError:
        typer.echo(f"{new_deployment}: exists; not overwritten (a new fernet key would make stored connections unreadable)", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {written} (mode 0600): pass it to every Airflow component (env_file), never commit it")


def register(app: typer.Typer) -> None:
    app.command("airflow-env")(airflow_env)
