"""Indexes the retention purge needs: records by document, family members' records by exit date.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ees_entry_exit_record", schema=None) as batch_op:
        batch_op.create_index("ix_ees_record_document", ["document_id"], unique=False)
        batch_op.create_index("ix_ees_record_family_exit", ["exit_date"], unique=False,
                              postgresql_where=sa.text("family_member"), sqlite_where=sa.text("family_member"))


def downgrade() -> None:
    with op.batch_alter_table("ees_entry_exit_record", schema=None) as batch_op:
        batch_op.drop_index("ix_ees_record_family_exit", postgresql_where=sa.text("family_member"),
                            sqlite_where=sa.text("family_member"))
        batch_op.drop_index("ix_ees_record_document")
