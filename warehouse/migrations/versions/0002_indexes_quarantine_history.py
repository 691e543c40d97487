"""indexes for indicator queries and resume, quarantine_history

Revision ID: 0002
Revises: 0001

Frozen: this file describes the schema as it was at this revision. Never derive it from
warehouse.tables; a change to tables.py needs a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quarantine_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('quarantine_id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('batch_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['quarantine_id'], ['quarantine.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_quarantine_history_quarantine_id'), 'quarantine_history', ['quarantine_id'], unique=False)
    op.create_index('ix_batch_status', 'batch', ['status'], unique=False)
    op.create_index('ix_batch_file_sha256', 'batch_file', ['sha256'], unique=False)
    op.create_index('ix_e_contract_agency_uscc_group_code', 'e_contract', ['agency_uscc', 'group_code'], unique=False)
    op.create_index('ix_e_contract_registered_at', 'e_contract', ['registered_at'], unique=False)
    op.create_index('ix_e_contract_signed_at', 'e_contract', ['signed_at'], unique=False)
    op.create_index('ix_group_staff_guide_card_no', 'group_staff', ['guide_card_no'], unique=False)
    op.create_index('ix_licensing_event_subject_uscc_effective_date', 'licensing_event', ['subject_uscc', 'effective_date'], unique=False)
    op.create_index('ix_tour_group_receiving_uscc', 'tour_group', ['receiving_uscc'], unique=False)
    op.create_index('ix_tour_group_start_date', 'tour_group', ['start_date'], unique=False)
    op.create_index('ix_tour_group_submitted_at', 'tour_group', ['submitted_at'], unique=False)
    op.create_index('ix_travel_agency_division_code', 'travel_agency', ['division_code'], unique=False)
    op.create_index('ix_travel_agency_parent_uscc', 'travel_agency', ['parent_uscc'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_travel_agency_parent_uscc', table_name='travel_agency')
    op.drop_index('ix_travel_agency_division_code', table_name='travel_agency')
    op.drop_index('ix_tour_group_submitted_at', table_name='tour_group')
    op.drop_index('ix_tour_group_start_date', table_name='tour_group')
    op.drop_index('ix_tour_group_receiving_uscc', table_name='tour_group')
    op.drop_index('ix_licensing_event_subject_uscc_effective_date', table_name='licensing_event')
    op.drop_index('ix_group_staff_guide_card_no', table_name='group_staff')
    op.drop_index('ix_e_contract_signed_at', table_name='e_contract')
    op.drop_index('ix_e_contract_registered_at', table_name='e_contract')
    op.drop_index('ix_e_contract_agency_uscc_group_code', table_name='e_contract')
    op.drop_index('ix_batch_file_sha256', table_name='batch_file')
    op.drop_index('ix_batch_status', table_name='batch')
    op.drop_index(op.f('ix_quarantine_history_quarantine_id'), table_name='quarantine_history')
    op.drop_table('quarantine_history')
