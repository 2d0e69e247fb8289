"""Fingerprint pre-selection features beside the templates (1:N identification).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sbms_template") as batch:
        batch.add_column(sa.Column("feature", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sbms_template") as batch:
        batch.drop_column("feature")
