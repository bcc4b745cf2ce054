"""Replies kept with the message they answer until a channel has sent them.

A platform that delivers a message again after a failed send gets the same replies, not silence.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("turn", sa.Text))
        batch.add_column(sa.Column("answered_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("answered_at")
        batch.drop_column("turn")
