"""A case counts its announcement attempts begun and ended, as a relay counts its delivery attempts (0015).

Telegram has no idempotency key, so an announcement's send and its "announced" mark cannot be one step: a process
killed between them (or anywhere while the sends are in flight) leaves the lease to expire, and the next sweep
announces the case again. An attempt begun (`announce_attempts`, counted with the lease) and never ended
(`announce_attempts_ended`, counted with the outcome) is such a cut-off attempt: the lawyers may have the
announcement already. Rows written before this revision count nothing: no attempt shows as cut off.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("announce_attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("announce_attempts_ended", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("announce_attempts_ended")
        batch.drop_column("announce_attempts")
