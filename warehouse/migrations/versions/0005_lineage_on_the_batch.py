"""Lineage on the batch row: entity tables lose `_source` and `_received_at`

Revision ID: 0005
Revises: 0004

Every row's `_batch_id` already names a `batch` row holding the source and the time the batch was
received (`started_at`, which is what `_received_at` held). Repeated on each of a million roster
rows they made a row a quarter wider and PostgreSQL's COPY about 20 % slower (issue 9).

Nothing is lost: a row whose `_batch_id` has no `batch` row (written by hand or by a fold before
this revision) first gets one, `committed`, with the row's source and time. The downgrade puts the
columns back from the batch rows.

Frozen: this file describes the schema as it was at this revision. Never derive it from
warehouse.tables; a change to tables.py needs a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ENTITY_TABLES = (
    "agency_statistics",
    "contract_tourist",
    "e_contract",
    "group_itinerary",
    "group_member",
    "group_staff",
    "guide",
    "guide_app_day",
    "key_agency",
    "key_city",
    "licensing_event",
    "tour_group",
    "travel_agency",
)


def upgrade() -> None:
    for table in _ENTITY_TABLES:
        op.execute(
            f"INSERT INTO batch (batch_id, source, status, started_at, finished_at)"  # noqa: S608 - names above
            f" SELECT t._batch_id, min(t._source), 'committed', min(t._received_at), min(t._received_at)"
            f" FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM batch b WHERE b.batch_id = t._batch_id)"
            f" GROUP BY t._batch_id"
        )
        with op.batch_alter_table(table) as batch:
            batch.drop_column("_source")
            batch.drop_column("_received_at")


def downgrade() -> None:
    for table in _ENTITY_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("_source", sa.Text(), nullable=True))
            batch.add_column(sa.Column("_received_at", sa.DateTime(), nullable=True))
        op.execute(
            f"UPDATE {table} SET"  # noqa: S608 - names above
            f" _source = (SELECT b.source FROM batch b WHERE b.batch_id = {table}._batch_id),"
            f" _received_at = (SELECT b.started_at FROM batch b WHERE b.batch_id = {table}._batch_id)"
        )
        with op.batch_alter_table(table) as batch:
            batch.alter_column("_source", existing_type=sa.Text(), nullable=False)
            batch.alter_column("_received_at", existing_type=sa.DateTime(), nullable=False)
