"""Sheets of a workbook on the file record: `batch_file.sheets`

Revision ID: 0008
Revises: 0007

Issue 18 item 2: a workbook may carry a roster per sheet or a notes sheet first. The file import
records which sheets were read as which template and which were skipped and why, so the steward
can be told later (the CLI and the batch report read it), not only at import time.
`sheets` is JSON: {"read": [{"name", "template"}], "skipped": [{"name", "reason"}]}; NULL for a
file that is not a workbook (CSV, JSON Lines, Parquet) and for files loaded before this revision.

Frozen: this file describes the schema as it was at this revision. Never derive it from
warehouse.tables; a change to tables.py needs a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batch_file") as batch:
        batch.add_column(sa.Column("sheets", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("batch_file") as batch:
        batch.drop_column("sheets")
