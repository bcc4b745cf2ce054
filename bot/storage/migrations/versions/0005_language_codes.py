"""Language columns wide enough for any language tag (Dari is "prs"), not only two-letter codes.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# (table, column, nullable); lawyers.languages holds several codes ("kk,ru").
COLUMNS = (
    ("contacts", "language", True),
    ("messages", "language", True),
    ("whatsapp_deliveries", "language", False),
    ("cases", "language", False),
)
CODE = 16
CODES = 64


def upgrade() -> None:
    for table, column, nullable in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.String(CODE), existing_type=sa.String(2), existing_nullable=nullable)
    with op.batch_alter_table("lawyers") as batch:
        batch.alter_column("languages", type_=sa.String(CODES), existing_type=sa.String(16), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("lawyers") as batch:
        batch.alter_column("languages", type_=sa.String(16), existing_type=sa.String(CODES), existing_nullable=False)
    for table, column, nullable in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.String(2), existing_type=sa.String(CODE), existing_nullable=nullable)
