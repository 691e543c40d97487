"""_row_hash on every entity table: a re-load skips rows whose content hash is already stored

Revision ID: 0004
Revises: 0003

Frozen: this file describes the schema as it was at this revision. Never derive it from
warehouse.tables; a change to tables.py needs a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Rows stored before this revision get NULL, which matches no hash: their next load compares them
# in SQL as before and stores their hash.
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
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("_row_hash", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for table in _ENTITY_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("_row_hash")
