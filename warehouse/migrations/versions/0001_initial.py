"""initial schema: core entity tables, batches, quarantine, findings, watermarks, snapshots

Revision ID: 0001
Revises: 

Frozen: this file describes the schema as it was at this revision. Never derive it from
warehouse.tables; a change to tables.py needs a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agency_statistics',
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('period', sa.Text(), nullable=False),
    sa.Column('outbound_organised_pax', sa.BigInteger(), nullable=True),
    sa.Column('domestic_organised_pax', sa.BigInteger(), nullable=True),
    sa.Column('domestic_received_pax', sa.BigInteger(), nullable=True),
    sa.Column('branch_count', sa.BigInteger(), nullable=True),
    sa.Column('outlet_count', sa.BigInteger(), nullable=True),
    sa.Column('_source', sa.Text(), nullable=False),
    sa.Column('_batch_id', sa.String(length=36), nullable=False),
    sa.Column('_file', sa.Text(), nullable=True),
    sa.Column('_row', sa.BigInteger(), nullable=True),
    sa.Column('_received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('uscc', 'period'),
    comment='旅行社统计报表'
    )
    op.create_table('batch',
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=True),
    sa.Column('timings', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('batch_id')
    )
    op.create_table('contract_tourist',
    sa.Column('contract_code', sa.Text(), nullable=False),
    sa.Column('seq_no', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('gender', sa.Text(), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('doc_type', sa.Text(), nullable=True),
    sa.Column('doc_no', sa.Text(), nullable=True),
    sa.Column('nationality', sa.Text(), nullable=True),
    sa.Column('mobile', sa.Text(), nullable=True),
    sa.Column('_source', sa.Text(), nullable=False),
    sa.Column('_batch_id', sa.String(length=36), nullable=False),
    sa.Column('_file', sa.Text(), nullable=True),
    sa.Column('_row', sa.BigInteger(), nullable=True),
    sa.Column('_received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('contract_code', 'seq_no'),
    comment='合同游客'
    )
    op.create_table('e_contract',
    sa.Column('contract_code', sa.Text(), nullable=False),
    sa.Column('agency_uscc', sa.String(length=18), nullable=True),
    sa.Column('contract_type', sa.Text(), nullable=True),
    sa.Column('group_code', sa.Text(), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('tourist_count', sa.BigInteger(), nullable=True),
    sa.Column('price_total', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('registered_at', sa.DateTime(), nullable=True),
    sa.Column('signed_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('_source', sa.Text(), nullable=False),
    sa.Column('_batch_id', sa.String(length=36), nullable=False),
    sa.Column('_file', sa.Text(), nullable=True),
    sa.Column('_row', sa.BigInteger(), nullable=True),
    sa.Column('_received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('contract_code'),
    comment='旅游电子合同'
    )
    op.create_table('finding',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=True),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('natural_key', sa.Text(), nullable=True),
    sa.Column('agency_uscc', sa.String(length=18), nullable=True),
    sa.Column('month', sa.String(length=7), nullable=True),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('severity', sa.String(length=8), nullable=False),
    sa.Column('field', sa.String(length=40), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_finding_agency_uscc'), 'finding', ['agency_uscc'], unique=False)
    op.create_index(op.f('ix_finding_batch_id'), 'finding', ['batch_id'], unique=False)
    op.create_table('group_itinerary',
    sa.Column('organizer_uscc', sa.String(length=18), nullable=False),
    sa.Column('group_code', sa.Text(), nullable=False),
    sa.Column('day_no', sa.BigInteger(), nullable=False),
    sa.Column('date', sa.Date(), nullable=True),
    sa.Column('province_code', sa.String(length=2), nullable=True),
    sa.Column('country', sa.Text(), nullable=True),
    sa.Column('city', sa.Text(), nullable=True),
    sa.Column('_source', sa.Text(), nullable=False),
    sa.Column('_batch_id', sa.String(length=36), nullable=False),
    sa.Column('_file', sa.Text(), nullable=True),
    sa.Column('_row', sa.BigInteger(), nullable=True),
    sa.Column('_received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('organizer_uscc', 'group_code', 'day_no'),
    comment='行程'
    )
    op.create_table('group_member',
    sa.Column('organizer_uscc', sa.String(length=18), nullable=False),
    sa.Column('group_code', sa.Text(), nullable=False),
    sa.Column('seq_no', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('name_pinyin', sa.Text(), nullable=True),
    sa.Column('gender', sa.Text(), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('doc_type', sa.Text(), nullable=True),
    sa.Column('doc_no', sa.Text(), nullable=True),
    sa.Column('nationality', sa.Text(), nullable=True),
    sa.Column('mobile', sa.Text(), nullable=True),
    sa.Column('residence_province', sa.String(length=2), nullable=True),
    sa.Column('_source', sa.Text(), nullable=False),
    sa.Column('_batch_id', sa.String(length=36), nullable=False),
    sa.Column('_file', sa.Text(), nullable=True),
    sa.Column('_row', sa.BigInteger(), nullable=True),
    sa.Column('_received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('organizer_uscc', 'group_code', 'seq_no'),
    comment='团队游客名单'
    )
    op.create_table('group_staff',
    sa.Column('organizer_uscc', sa.String(length=18), nullable=False),
    sa.Column('group_code', sa.Text(), nullable=False),
    sa.Column('guide_card_no', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=True),
    sa.Column('service_from', sa.Date(), nullable=True),
    sa.Column('service_to', sa.Date(), nullable=True),
    sa.Column('_source', sa.Text(), nullable=False),
    sa.Column('_batch_id', sa.String(length=36), nullable=False),
    sa.Column('_file', sa.Text(), nullable=True),
    sa.Column('_row', sa.BigInteger(), nullable=True),
    sa.Column('_received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('organizer_uscc', 'group_code', 'guide_card_no'),
    comment='团队导游/领队'
    )
    op.create_table('guide',
    sa.Column('guide_card_no', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('id_number', sa.String(length=18), nullable=True),
    sa.Column('gender', sa.Text(), nullable=True),
    sa.Column('mobile', sa.Text(), nullable=True),
    sa.Column('card_valid_to', sa.Date(), nullable=True),
    sa.Column('leader_agency_uscc', sa.String(length=18), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('_source', sa.Text(), nullable=False),
    sa.Column('_batch_id', sa.String(length=36), nullable=False),
    sa.Column('_file', sa.Text(), nullable=True),
    sa.Column('_row', sa.BigInteger(), nullable=True),
    sa.Column('_received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('guide_card_no'),
    comment='导游与领队'
    )
    op.create_table('guide_app_day',
    sa.Column('guide_card_no', sa.Text(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('opened', sa.Boolean(), nullable=True),
    sa.Column('_source', sa.Text(), nullable=False),
    sa.Column('_batch_id', sa.String(length=36), nullable=False),
    sa.Column('_file', sa.Text(), nullable=True),
    sa.Column('_row', sa.BigInteger(), nullable=True),
    sa.Column('_received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('guide_card_no', 'date'),
    comment='全国导游之家APP使用'
    )
    op.create_table('indicator_snapshot',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('month', 'version')
    )
    op.create_table('key_agency',
    sa.Column('year', sa.BigInteger(), nullable=False),
    sa.Column('rank', sa.BigInteger(), nullable=True),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('_source', sa.Text(), nullable=False),
    sa.Column('_batch_id', sa.String(length=36), nullable=False),
    sa.Column('_file', sa.Text(), nullable=True),
    sa.Column('_row', sa.BigInteger(), nullable=True),
    sa.Column('_received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('year', 'uscc'),
    comment='重点企业'
    )
    op.create_table('key_city',
    sa.Column('year', sa.BigInteger(), nullable=False),
    sa.Column('city_code', sa.String(length=4), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('_source', sa.Text(), nullable=False),
    sa.Column('_batch_id', sa.String(length=36), nullable=False),
    sa.Column('_file', sa.Text(), nullable=True),
    sa.Column('_row', sa.BigInteger(), nullable=True),
    sa.Column('_received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('year', 'city_code'),
    comment='重点城市'
    )
    op.create_table('licensing_event',
    sa.Column('source_system', sa.Text(), nullable=False),
    sa.Column('case_no', sa.Text(), nullable=False),
    sa.Column('event_type', sa.Text(), nullable=False),
    sa.Column('subject_uscc', sa.String(length=18), nullable=True),
    sa.Column('subject_name', sa.Text(), nullable=True),
    sa.Column('parent_uscc', sa.String(length=18), nullable=True),
    sa.Column('licence_no', sa.Text(), nullable=True),
    sa.Column('division_code', sa.String(length=6), nullable=True),
    sa.Column('decision', sa.Text(), nullable=True),
    sa.Column('effective_date', sa.Date(), nullable=True),
    sa.Column('authority_division_code', sa.String(length=6), nullable=True),
    sa.Column('changed_fields', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=True),
    sa.Column('_source', sa.Text(), nullable=False),
    sa.Column('_batch_id', sa.String(length=36), nullable=False),
    sa.Column('_file', sa.Text(), nullable=True),
    sa.Column('_row', sa.BigInteger(), nullable=True),
    sa.Column('_received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('source_system', 'case_no', 'event_type'),
    comment='许可与备案事项'
    )
    op.create_table('quarantine',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('file', sa.Text(), nullable=True),
    sa.Column('row', sa.BigInteger(), nullable=True),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('natural_key', sa.Text(), nullable=True),
    sa.Column('agency_uscc', sa.String(length=18), nullable=True),
    sa.Column('division_code', sa.String(length=6), nullable=True),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('resolved_by_batch', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_quarantine_agency_uscc'), 'quarantine', ['agency_uscc'], unique=False)
    op.create_index(op.f('ix_quarantine_batch_id'), 'quarantine', ['batch_id'], unique=False)
    op.create_index('ix_quarantine_entity_key_status', 'quarantine', ['entity', 'natural_key', 'status'], unique=False)
    op.create_table('tour_group',
    sa.Column('group_code', sa.Text(), nullable=False),
    sa.Column('organizer_uscc', sa.String(length=18), nullable=False),
    sa.Column('group_type', sa.Text(), nullable=True),
    sa.Column('receiving_uscc', sa.String(length=18), nullable=True),
    sa.Column('route_name', sa.Text(), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('destinations', sa.Text(), nullable=True),
    sa.Column('exit_port', sa.Text(), nullable=True),
    sa.Column('entry_port', sa.Text(), nullable=True),
    sa.Column('source_province', sa.String(length=2), nullable=True),
    sa.Column('tourist_count', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('_source', sa.Text(), nullable=False),
    sa.Column('_batch_id', sa.String(length=36), nullable=False),
    sa.Column('_file', sa.Text(), nullable=True),
    sa.Column('_row', sa.BigInteger(), nullable=True),
    sa.Column('_received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('group_code', 'organizer_uscc'),
    comment='团队'
    )
    op.create_table('travel_agency',
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('unit_type', sa.Text(), nullable=True),
    sa.Column('parent_uscc', sa.String(length=18), nullable=True),
    sa.Column('licence_no', sa.Text(), nullable=True),
    sa.Column('division_code', sa.String(length=6), nullable=True),
    sa.Column('business_scope', sa.Text(), nullable=True),
    sa.Column('outbound_granted_date', sa.Date(), nullable=True),
    sa.Column('established_date', sa.Date(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('status_date', sa.Date(), nullable=True),
    sa.Column('legal_rep', sa.Text(), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('deposit_amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('insurance_end_date', sa.Date(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('_source', sa.Text(), nullable=False),
    sa.Column('_batch_id', sa.String(length=36), nullable=False),
    sa.Column('_file', sa.Text(), nullable=True),
    sa.Column('_row', sa.BigInteger(), nullable=True),
    sa.Column('_received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('uscc'),
    comment='旅行社'
    )
    op.create_table('watermark',
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('stream', sa.Text(), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream')
    )
    op.create_table('batch_file',
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('file', sa.Text(), nullable=False),
    sa.Column('landing_path', sa.Text(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.batch_id'], ),
    sa.PrimaryKeyConstraint('batch_id', 'sha256')
    )


def downgrade() -> None:
    op.drop_table('batch_file')
    op.drop_table('watermark')
    op.drop_table('travel_agency')
    op.drop_table('tour_group')
    op.drop_index('ix_quarantine_entity_key_status', table_name='quarantine')
    op.drop_index(op.f('ix_quarantine_batch_id'), table_name='quarantine')
    op.drop_index(op.f('ix_quarantine_agency_uscc'), table_name='quarantine')
    op.drop_table('quarantine')
    op.drop_table('licensing_event')
    op.drop_table('key_city')
    op.drop_table('key_agency')
    op.drop_table('indicator_snapshot')
    op.drop_table('guide_app_day')
    op.drop_table('guide')
    op.drop_table('group_staff')
    op.drop_table('group_member')
    op.drop_table('group_itinerary')
    op.drop_index(op.f('ix_finding_batch_id'), table_name='finding')
    op.drop_index(op.f('ix_finding_agency_uscc'), table_name='finding')
    op.drop_table('finding')
    op.drop_table('e_contract')
    op.drop_table('contract_tourist')
    op.drop_table('batch')
    op.drop_table('agency_statistics')
