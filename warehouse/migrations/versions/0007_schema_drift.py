"""Schema drift: `source_field` (the fields each sync received) and `drift_finding`

Revision ID: 0007
Revises: 0006

Issue 20 item 6: each sync of a source records the fields it received per stream (a `sighting`),
compares them with its mapping and the stream's last sightings, and records what vanished, was
renamed or was added (tourlink/drift/, warehouse/drift.py).

Frozen: this file describes the schema as it was at this revision. Never derive it from
warehouse.tables; a change to tables.py needs a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_field",
        sa.Column("sighting", sa.String(36), primary_key=True),
        sa.Column("stream", sa.Text, primary_key=True),
        sa.Column("field", sa.Text, primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("seen_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_source_field_source_stream_seen_at", "source_field", ["source", "stream", "seen_at"])
    op.create_table(
        "drift_finding",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("sighting", sa.String(36), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("stream", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("renamed_to", sa.Text),
        sa.Column("fills", sa.Text),
        sa.Column("detected_at", sa.DateTime, nullable=False),
        sa.Column("alerted", sa.Text),
    )
    op.create_index("ix_drift_finding_source_detected_at", "drift_finding", ["source", "detected_at"])


def downgrade() -> None:
    op.drop_index("ix_drift_finding_source_detected_at", table_name="drift_finding")
    op.drop_table("drift_finding")
    op.drop_index("ix_source_field_source_stream_seen_at", table_name="source_field")
    op.drop_table("source_field")
