"""Console sessions may live in Redis: "sign out everywhere" becomes a counter on the account.

`staff.session_epoch` is raised to end every session of an account; each session remembers the value it
began under (`staff_sessions.epoch` here, the same field in Redis) and stops opening once they differ.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("session_epoch", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("staff_sessions") as batch:
        batch.add_column(sa.Column("epoch", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("staff_sessions") as batch:
        batch.drop_column("epoch")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("session_epoch")
