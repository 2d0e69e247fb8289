"""The common identity repository's identities and the multiple-identity detector's links.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smartborders.core.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cir_identity',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('system', sa.String(length=8), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('surname', sa.String(length=100), nullable=False),
    sa.Column('given_names', sa.String(length=100), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('nationality', sa.String(length=3), nullable=False),
    sa.Column('document_number', sa.String(length=24), nullable=True),
    sa.Column('document_state', sa.String(length=3), nullable=True),
    sa.Column('has_biometrics', sa.Boolean(), nullable=False),
    sa.Column('updated_at', smartborders.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cir_identity')),
    sa.UniqueConstraint('system', 'reference', name='uq_cir_identity_system_reference')
    )
    op.create_index('ix_cir_identity_birth_date', 'cir_identity', ['birth_date'], unique=False)
    op.create_index('ix_cir_identity_document', 'cir_identity', ['document_number', 'document_state'], unique=False)
    op.create_table('mid_link',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('a_system', sa.String(length=8), nullable=False),
    sa.Column('a_reference', sa.String(length=64), nullable=False),
    sa.Column('b_system', sa.String(length=8), nullable=False),
    sa.Column('b_reference', sa.String(length=64), nullable=False),
    sa.Column('colour', sa.String(length=8), nullable=False),
    sa.Column('same_biometrics', sa.Boolean(), nullable=False),
    sa.Column('identity', sa.String(length=10), nullable=False),
    sa.Column('same_document', sa.Boolean(), nullable=False),
    sa.Column('responsible', sa.String(length=64), nullable=False),
    sa.Column('created_at', smartborders.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', smartborders.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('verified_by', sa.String(length=64), nullable=True),
    sa.Column('verified_at', smartborders.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mid_link')),
    sa.UniqueConstraint('a_system', 'a_reference', 'b_system', 'b_reference', name='uq_mid_link_pair')
    )
    op.create_index('ix_mid_link_b', 'mid_link', ['b_system', 'b_reference'], unique=False)
    op.create_index('ix_mid_link_colour', 'mid_link', ['colour'], unique=False)
    op.create_table('mid_link_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('link_id', sa.Uuid(), nullable=False),
    sa.Column('at', smartborders.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('colour_from', sa.String(length=8), nullable=True),
    sa.Column('colour_to', sa.String(length=8), nullable=False),
    sa.Column('by', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['link_id'], ['mid_link.id'], name=op.f('fk_mid_link_event_link_id_mid_link'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mid_link_event'))
    )
    op.create_index(op.f('ix_mid_link_event_link_id'), 'mid_link_event', ['link_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_mid_link_event_link_id'), table_name='mid_link_event')
    op.drop_table('mid_link_event')
    op.drop_index('ix_mid_link_colour', table_name='mid_link')
    op.drop_index('ix_mid_link_b', table_name='mid_link')
    op.drop_table('mid_link')
    op.drop_index('ix_cir_identity_document', table_name='cir_identity')
    op.drop_index('ix_cir_identity_birth_date', table_name='cir_identity')
    op.drop_table('cir_identity')
