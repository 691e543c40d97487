"""The environment Airflow needs to run tourlink's DAGs, embedded or deployed.

`airflow.cfg` at the repository root holds the static settings; what depends on where things are
(the checkout, TOURLINK_HOME, the metadata database) and what must be the same in every component of
a deployment (secrets, the execution API's address) is set here, as AIRFLOW__SECTION__KEY variables:

- `airflow_environment()`: the embedded default (SQLite metadata under TOURLINK_HOME, this checkout's
  dags/), used by the demo, the tests and `tourlink airflow-env` (for `eval` in a shell);
- `metadata_urls()`: the PostgreSQL driver Airflow 3.3 needs for both its sync and async engines;
- `new_deployment_secrets()`: the settings every component of a new deployment must share, generated
  once (`tourlink airflow-env --new-deployment FILE` writes them, mode 0600, never committed).
"""

from __future__ import annotations

import os
import secrets
import shlex
from pathlib import Path

from tourlink import settings

REPO = Path(__file__).resolve().parent.parent

# Airflow builds an async engine beside the sync one: only psycopg (3) serves both from one URL.
_PG_DRIVERS = ("postgresql+psycopg2://", "postgresql+asyncpg://", "postgresql://", "postgres://")
PG_SCHEME = "postgresql+psycopg://"


def metadata_urls(url: str) -> dict[str, str]:
    """`sql_alchemy_conn` and `sql_alchemy_conn_async` for a metadata URL: a PostgreSQL URL of any
    driver becomes `postgresql+psycopg://` for both (psycopg2 and asyncpg are not installed);
    SQLite is left to Airflow (it derives `sqlite+aiosqlite` itself)."""
    for prefix in _PG_DRIVERS:
        if url.startswith(prefix):
            url = PG_SCHEME + url.removeprefix(prefix)
            break
    if not url.startswith(PG_SCHEME):
        return {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url}
    return {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": url}


def airflow_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) plus the variables Airflow reads; a metadata URL
    already in `base` is kept, with its driver set for both engines."""
    env = dict(os.environ if base is None else base)
    home = Path(env.get("TOURLINK_HOME") or settings.home()).resolve() / "airflow"
    (home / "logs").mkdir(parents=True, exist_ok=True)
    env.setdefault("AIRFLOW_HOME", str(REPO))
    env.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
    env.update(metadata_urls(env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN") or f"sqlite:///{home / 'airflow.db'}"))
    env.setdefault("AIRFLOW__LOGGING__BASE_LOG_FOLDER", str(home / "logs"))
    env.setdefault("TOURLINK_HOME", str(home.parent))
    return env


def new_deployment_secrets() -> dict[str, str]:
    """Fresh secrets every component of one deployment must share. Left to chance, each component
    generates its own `jwt_secret` (every task is then rejected: `Invalid auth token`) and
    connections holding source credentials are stored unencrypted (no `fernet_key`)."""
    from cryptography.fernet import Fernet

    return {
        # Signs the tokens the scheduler gives tasks and the API server checks.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
        # Encrypts connection passwords and extras (source credentials) in the metadata database.
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        # Signs the API server's UI sessions and its requests to the workers' log servers.
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(48),
        # Database and object store passwords of the compose deployment (deploy/docker-compose.yml).
        "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
        "S3_ACCESS_KEY_ID": "tourlink-" + secrets.token_hex(6),
        "S3_SECRET_ACCESS_KEY": secrets.token_urlsafe(30),
    }


def write_secrets_file(path: Path, values: dict[str, str]) -> Path:
    """Write `values` as an env file readable only by its owner; an existing file is never overwritten
    (regenerating a deployment's fernet key would make its stored connections unreadable)."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("# tourlink deployment secrets: keep out of version control, share with every Airflow component\n")
        out.writelines(f"{key}={value}\n" for key, value in values.items())
    return path


def shell_exports(env: dict[str, str], keys: list[str] | None = None) -> str:
    """`export KEY=value` lines (shell-quoted) for `eval "$(tourlink airflow-env)"`."""
    chosen = keys if keys is not None else sorted(k for k in env if k.startswith("AIRFLOW") or k.startswith("TOURLINK_"))
    return "".join(f"export {key}={shlex.quote(env[key])}\n" for key in chosen if key in env)
