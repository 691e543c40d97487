"""The audit log: `audit_event`, append-only in the database; a restatement's reason

Revision ID: 0006
Revises: 0005

`indicator_snapshot.reason` records why a month's figures were published again (issue 20 item 7).

Who did what, when, from where, to which scope (issue 20). Rows are chained by SHA-256 in code
(tourlink/audit/chain.py); here the database itself refuses to change them: on PostgreSQL a
plpgsql trigger raises on UPDATE, DELETE and TRUNCATE, on SQLite BEFORE UPDATE / DELETE triggers
abort. Someone with the rights to drop the trigger can still edit a row, which `tourlink audit
verify` then detects by the broken chain.

Frozen: this file describes the schema as it was at this revision. Never derive it from
warehouse.tables; a change to tables.py needs a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_REFUSE = "audit_event is append-only"


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("role", sa.String(16)),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("origin", sa.Text),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("region", sa.String(6)),
        sa.Column("target", sa.Text),
        sa.Column("rows", sa.BigInteger),
        sa.Column("unmasked", sa.Boolean, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_event_actor_at", "audit_event", ["actor", "at"])
    op.create_index("ix_audit_event_at", "audit_event", ["at"])
    with op.batch_alter_table("indicator_snapshot") as batch:
        batch.add_column(sa.Column("reason", sa.Text))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS"
            f" $$ BEGIN RAISE EXCEPTION '{_REFUSE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event"
            " FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event"
            " FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event"
                f" BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    op.drop_index("ix_audit_event_at", table_name="audit_event")
    op.drop_index("ix_audit_event_actor_at", table_name="audit_event")
    op.drop_table("audit_event")
    with op.batch_alter_table("indicator_snapshot") as batch:
        batch.drop_column("reason")
