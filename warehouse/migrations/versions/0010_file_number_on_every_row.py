"""A file number on every stored row: `_file_no` and `lineage_file` in place of `_file`

Revision ID: 0010
Revises: 0009

Issue 19: every core row named the file it was read from by the name as given (a path, ~45 bytes in
the bench), written into COPY's text and stored on each of a load's rows: PostgreSQL's COPY of a
1 M-row roster took ~20 % longer with it, and the first load ~9 %. `lineage_file` numbers the names
a batch's rows cite (`file_no` from 1 within the batch) and each row's `_file_no` names its file by
that number; NULL where the row came from no file (a licensing fold). The rows stored so far keep
their names: each batch's distinct names (over every core table) are numbered in name order.

Frozen: this file describes the schema as it was at this revision. Never derive it from
warehouse.tables; a change to tables.py needs a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
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
    op.create_table(
        "lineage_file",
        sa.Column("batch_no", sa.BigInteger(), nullable=False),
        sa.Column("file_no", sa.Integer(), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("batch_no", "file_no"),
    )
    op.create_index("ix_lineage_file_file", "lineage_file", ["batch_no", "file"], unique=True)
    cited = " UNION ".join(
        f"SELECT _batch_no AS batch_no, _file AS file FROM {table} WHERE _file IS NOT NULL"  # noqa: S608 - names above
        for table in _ENTITY_TABLES
    )
    op.execute(
        "INSERT INTO lineage_file (batch_no, file_no, file)"
        f" SELECT batch_no, row_number() OVER (PARTITION BY batch_no ORDER BY file), file FROM ({cited}) AS cited"  # noqa: S608
    )
    for table in _ENTITY_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("_file_no", sa.Integer(), nullable=True))
        op.execute(
            f"UPDATE {table} SET _file_no = (SELECT f.file_no FROM lineage_file f"  # noqa: S608 - names above
            f" WHERE f.batch_no = {table}._batch_no AND f.file = {table}._file) WHERE _file IS NOT NULL"
        )
        with op.batch_alter_table(table) as batch:
            batch.drop_column("_file")


def downgrade() -> None:
    for table in _ENTITY_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("_file", sa.Text(), nullable=True))
        op.execute(
            f"UPDATE {table} SET _file = (SELECT f.file FROM lineage_file f"  # noqa: S608 - names above
            f" WHERE f.batch_no = {table}._batch_no AND f.file_no = {table}._file_no) WHERE _file_no IS NOT NULL"
        )
        with op.batch_alter_table(table) as batch:
            batch.drop_column("_file_no")
    op.drop_index("ix_lineage_file_file", table_name="lineage_file")
    op.drop_table("lineage_file")
