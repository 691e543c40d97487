"""A batch number on every stored row: `_batch_no` in place of `_batch_id`

Revision ID: 0009
Revises: 0008

Issue 19: every core row named the batch that loaded it by the batch's 36-character UUID, written
into COPY's text and parsed by PostgreSQL for each of a load's rows (~7 % of a 1 M-row first load)
and stored ~37 bytes wide on every row. `batch.batch_no` numbers the batches (unique; on PostgreSQL
drawn from the sequence `batch_no_seq`, on SQLite one above the highest, under the batch's write
lock), and each row's `_batch_no` names its batch by that number. The batches stored so far are
numbered in the order they started; every row gets its batch's number (revision 0005 gave every
`_batch_id` a batch row). `batch_id` stays the batch's name everywhere else (quarantine, findings,
files, the CLI).

Frozen: this file describes the schema as it was at this revision. Never derive it from
warehouse.tables; a change to tables.py needs a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
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
_SEQUENCE = "batch_no_seq"


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    with op.batch_alter_table("batch") as batch:
        batch.add_column(sa.Column("batch_no", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE batch SET batch_no = numbered.n FROM ("
        " SELECT batch_id, row_number() OVER (ORDER BY started_at, batch_id) AS n FROM batch"
        ") AS numbered WHERE numbered.batch_id = batch.batch_id"
    )
    with op.batch_alter_table("batch") as batch:
        batch.alter_column("batch_no", existing_type=sa.BigInteger(), nullable=False)
        batch.create_index("ix_batch_batch_no", ["batch_no"], unique=True)
    if _postgresql():
        op.execute(f"CREATE SEQUENCE {_SEQUENCE} OWNED BY batch.batch_no")
        op.execute(f"SELECT setval('{_SEQUENCE}', (SELECT coalesce(max(batch_no), 0) + 1 FROM batch), false)")
    for table in _ENTITY_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("_batch_no", sa.BigInteger(), nullable=True))
        op.execute(
            f"UPDATE {table} SET _batch_no = (SELECT b.batch_no FROM batch b WHERE b.batch_id = {table}._batch_id)"  # noqa: S608 - names above
        )
        with op.batch_alter_table(table) as batch:
            batch.alter_column("_batch_no", existing_type=sa.BigInteger(), nullable=False)
            batch.drop_column("_batch_id")


def downgrade() -> None:
    for table in _ENTITY_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("_batch_id", sa.String(36), nullable=True))
        op.execute(
            f"UPDATE {table} SET _batch_id = (SELECT b.batch_id FROM batch b WHERE b.batch_no = {table}._batch_no)"  # noqa: S608 - names above
        )
        with op.batch_alter_table(table) as batch:
            batch.alter_column("_batch_id", existing_type=sa.String(36), nullable=False)
            batch.drop_column("_batch_no")
    if _postgresql():
        op.execute(f"DROP SEQUENCE {_SEQUENCE}")
    with op.batch_alter_table("batch") as batch:
        batch.drop_index("ix_batch_batch_no")
        batch.drop_column("batch_no")
