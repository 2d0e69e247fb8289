"""EES tables

Revision ID: 0001
Revises: 
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smartborders.core.db

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ees_crossing_point',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=2), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_ees_crossing_point'))
    )
    op.create_table('ees_idempotent_request',
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('operation', sa.String(length=32), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('created_at', smartborders.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_ees_idempotent_request'))
    )
    with op.batch_alter_table('ees_idempotent_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ees_idempotent_request_created_at'), ['created_at'], unique=False)

    op.create_table('ees_individual_file',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('surname', sa.String(length=100), nullable=False),
    sa.Column('given_names', sa.String(length=200), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('nationality', sa.String(length=3), nullable=False),
    sa.Column('other_nationalities', sa.String(length=64), nullable=False),
    sa.Column('visa_required', sa.Boolean(), nullable=False),
    sa.Column('nfp', sa.Boolean(), nullable=False),
    sa.Column('fingerprint_status', sa.String(length=24), nullable=False),
    sa.Column('fingerprint_exemption', sa.String(length=64), nullable=True),
    sa.Column('face_status', sa.String(length=24), nullable=False),
    sa.Column('created_at', smartborders.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', smartborders.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ees_individual_file'))
    )
    with op.batch_alter_table('ees_individual_file', schema=None) as batch_op:
        batch_op.create_index('ix_ees_file_identity', ['surname', 'birth_date', 'nationality', 'sex'], unique=False)

    op.create_table('ees_purge_run',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ran_at', smartborders.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('files', sa.Integer(), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('refusals', sa.Integer(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ees_purge_run'))
    )
    op.create_table('ees_sweep_run',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ran_at', smartborders.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('flagged', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ees_sweep_run'))
    )
    op.create_table('ees_biometric_sample',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('file_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('position', sa.String(length=16), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('captured_at', smartborders.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['ees_individual_file.id'], name=op.f('fk_ees_biometric_sample_file_id_ees_individual_file'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ees_biometric_sample'))
    )
    with op.batch_alter_table('ees_biometric_sample', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ees_biometric_sample_file_id'), ['file_id'], unique=False)

    op.create_table('ees_refusal_record',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('file_id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('refused_at', smartborders.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('refusal_date', sa.Date(), nullable=False),
    sa.Column('bcp', sa.String(length=16), nullable=False),
    sa.Column('authority', sa.String(length=64), nullable=False),
    sa.Column('reasons', sa.String(length=9), nullable=False),
    sa.Column('fallback', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['bcp'], ['ees_crossing_point.code'], name=op.f('fk_ees_refusal_record_bcp_ees_crossing_point')),
    sa.ForeignKeyConstraint(['file_id'], ['ees_individual_file.id'], name=op.f('fk_ees_refusal_record_file_id_ees_individual_file'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ees_refusal_record')),
    sa.UniqueConstraint('client_id', name=op.f('uq_ees_refusal_record_client_id'))
    )
    with op.batch_alter_table('ees_refusal_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ees_refusal_record_file_id'), ['file_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ees_refusal_record_refusal_date'), ['refusal_date'], unique=False)

    op.create_table('ees_travel_document',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('file_id', sa.Uuid(), nullable=False),
    sa.Column('document_type', sa.String(length=2), nullable=False),
    sa.Column('number', sa.String(length=24), nullable=False),
    sa.Column('issuing_state', sa.String(length=3), nullable=False),
    sa.Column('expiry_date', sa.Date(), nullable=True),
    sa.Column('first_used_at', smartborders.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['ees_individual_file.id'], name=op.f('fk_ees_travel_document_file_id_ees_individual_file'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ees_travel_document'))
    )
    with op.batch_alter_table('ees_travel_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ees_travel_document_file_id'), ['file_id'], unique=False)
        batch_op.create_index('ux_ees_document', ['number', 'issuing_state'], unique=True)

    op.create_table('ees_entry_exit_record',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('file_id', sa.Uuid(), nullable=False),
    sa.Column('entry_client_id', sa.String(length=64), nullable=False),
    sa.Column('entry_at', smartborders.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('entry_bcp', sa.String(length=16), nullable=False),
    sa.Column('entry_authority', sa.String(length=64), nullable=False),
    sa.Column('entry_from_stamp', sa.Boolean(), nullable=False),
    sa.Column('document_id', sa.Uuid(), nullable=True),
    sa.Column('family_member', sa.Boolean(), nullable=False),
    sa.Column('visa_sticker', sa.String(length=16), nullable=True),
    sa.Column('visa_issuing_state', sa.String(length=3), nullable=True),
    sa.Column('visa_type', sa.String(length=4), nullable=True),
    sa.Column('visa_entries', sa.Integer(), nullable=True),
    sa.Column('visa_duration_days', sa.Integer(), nullable=True),
    sa.Column('visa_valid_from', sa.Date(), nullable=True),
    sa.Column('visa_valid_until', sa.Date(), nullable=True),
    sa.Column('visa_ltv_states', sa.String(length=128), nullable=True),
    sa.Column('max_stay_days', sa.Integer(), nullable=True),
    sa.Column('authorised_until', sa.Date(), nullable=True),
    sa.Column('exit_client_id', sa.String(length=64), nullable=True),
    sa.Column('exit_at', smartborders.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('exit_date', sa.Date(), nullable=True),
    sa.Column('exit_bcp', sa.String(length=16), nullable=True),
    sa.Column('exit_authority', sa.String(length=64), nullable=True),
    sa.Column('overstay', sa.Boolean(), nullable=False),
    sa.Column('overstay_flagged_at', smartborders.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('fallback', sa.Boolean(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.CheckConstraint('exit_at IS NULL OR exit_at >= entry_at', name=op.f('ck_ees_entry_exit_record_exit_after_entry')),
    sa.ForeignKeyConstraint(['document_id'], ['ees_travel_document.id'], name=op.f('fk_ees_entry_exit_record_document_id_ees_travel_document')),
    sa.ForeignKeyConstraint(['entry_bcp'], ['ees_crossing_point.code'], name=op.f('fk_ees_entry_exit_record_entry_bcp_ees_crossing_point')),
    sa.ForeignKeyConstraint(['exit_bcp'], ['ees_crossing_point.code'], name=op.f('fk_ees_entry_exit_record_exit_bcp_ees_crossing_point')),
    sa.ForeignKeyConstraint(['file_id'], ['ees_individual_file.id'], name=op.f('fk_ees_entry_exit_record_file_id_ees_individual_file'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ees_entry_exit_record')),
    sa.UniqueConstraint('entry_client_id', name=op.f('uq_ees_entry_exit_record_entry_client_id')),
    sa.UniqueConstraint('exit_client_id', name=op.f('uq_ees_entry_exit_record_exit_client_id'))
    )
    with op.batch_alter_table('ees_entry_exit_record', schema=None) as batch_op:
        batch_op.create_index('ix_ees_record_entry_date', ['entry_date'], unique=False)
        batch_op.create_index('ix_ees_record_exit_date', ['exit_date'], unique=False)
        batch_op.create_index('ix_ees_record_file_entry', ['file_id', 'entry_date'], unique=False)
        batch_op.create_index('ix_ees_record_open_until', ['authorised_until'], unique=False, postgresql_where=sa.text('exit_at IS NULL'), sqlite_where=sa.text('exit_at IS NULL'))
        batch_op.create_index('ux_ees_record_one_open_per_file', ['file_id'], unique=True, postgresql_where=sa.text('exit_at IS NULL'), sqlite_where=sa.text('exit_at IS NULL'))

    op.create_table('ees_record_amendment',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('authority', sa.String(length=64), nullable=False),
    sa.Column('place', sa.String(length=100), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('new_visa_sticker', sa.String(length=16), nullable=True),
    sa.Column('extension_days', sa.Integer(), nullable=True),
    sa.Column('new_until', sa.Date(), nullable=True),
    sa.Column('cisa_20_2b', sa.Boolean(), nullable=False),
    sa.Column('territorial_state', sa.String(length=2), nullable=True),
    sa.Column('grounds', sa.String(length=200), nullable=True),
    sa.Column('created_at', smartborders.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['ees_entry_exit_record.id'], name=op.f('fk_ees_record_amendment_record_id_ees_entry_exit_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ees_record_amendment')),
    sa.UniqueConstraint('client_id', name=op.f('uq_ees_record_amendment_client_id'))
    )
    with op.batch_alter_table('ees_record_amendment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ees_record_amendment_record_id'), ['record_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ees_record_amendment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ees_record_amendment_record_id'))

    op.drop_table('ees_record_amendment')
    with op.batch_alter_table('ees_entry_exit_record', schema=None) as batch_op:
        batch_op.drop_index('ux_ees_record_one_open_per_file', postgresql_where=sa.text('exit_at IS NULL'), sqlite_where=sa.text('exit_at IS NULL'))
        batch_op.drop_index('ix_ees_record_open_until', postgresql_where=sa.text('exit_at IS NULL'), sqlite_where=sa.text('exit_at IS NULL'))
        batch_op.drop_index('ix_ees_record_file_entry')
        batch_op.drop_index('ix_ees_record_exit_date')
        batch_op.drop_index('ix_ees_record_entry_date')

    op.drop_table('ees_entry_exit_record')
    with op.batch_alter_table('ees_travel_document', schema=None) as batch_op:
        batch_op.drop_index('ux_ees_document')
        batch_op.drop_index(batch_op.f('ix_ees_travel_document_file_id'))

    op.drop_table('ees_travel_document')
    with op.batch_alter_table('ees_refusal_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ees_refusal_record_refusal_date'))
        batch_op.drop_index(batch_op.f('ix_ees_refusal_record_file_id'))

    op.drop_table('ees_refusal_record')
    with op.batch_alter_table('ees_biometric_sample', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ees_biometric_sample_file_id'))

    op.drop_table('ees_biometric_sample')
    op.drop_table('ees_sweep_run')
    op.drop_table('ees_purge_run')
    with op.batch_alter_table('ees_individual_file', schema=None) as batch_op:
        batch_op.drop_index('ix_ees_file_identity')

    op.drop_table('ees_individual_file')
    with op.batch_alter_table('ees_idempotent_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ees_idempotent_request_created_at'))

    op.drop_table('ees_idempotent_request')
    op.drop_table('ees_crossing_point')
