"""Alembic environment: always runs on the connection handed in by `warehouse.migrations.upgrade`."""

from __future__ import annotations

from alembic import context

from warehouse.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - offline SQL generation is not supported
    raise RuntimeError("run migrations through warehouse.migrations.upgrade(connection)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
