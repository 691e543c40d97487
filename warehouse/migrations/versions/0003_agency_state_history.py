"""agency_state_history: licensing state of each agency over time

Revision ID: 0003
Revises: 0002

Frozen: this file describes the schema as it was at this revision. Never derive it from
warehouse.tables; a change to tables.py needs a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agency_state_history',
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('unit_type', sa.String(length=16), nullable=False),
    sa.Column('parent_uscc', sa.String(length=18), nullable=True),
    sa.Column('licence_no', sa.Text(), nullable=True),
    sa.Column('division_code', sa.String(length=6), nullable=True),
    sa.Column('business_scope', sa.Text(), nullable=True),
    sa.Column('outbound_granted_date', sa.Date(), nullable=True),
    sa.Column('established_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_date', sa.Date(), nullable=True),
    sa.Column('legal_rep', sa.Text(), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('derived_from', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('uscc', 'valid_from')
    )
    op.create_index(op.f('ix_agency_state_history_parent_uscc'), 'agency_state_history', ['parent_uscc'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_agency_state_history_parent_uscc'), table_name='agency_state_history')
    op.drop_table('agency_state_history')
