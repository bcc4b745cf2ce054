"""A relay counts the delivery attempts that ended (sent, retry scheduled, given up), besides those begun.

Telegram has no idempotency key, so a relay's send and its "sent" mark cannot be one step: a process killed
between them leaves the relay pending, and once its lease ends it is sent again (at least once, never lost). An
attempt begun (`attempts`) but never ended (`attempts_ended`) is such a cut-off attempt: its recipient may have
the message already. Rows written before this revision ended every attempt they began.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("relays") as batch:
        batch.add_column(sa.Column("attempts_ended", sa.Integer, nullable=False, server_default="0"))
    op.execute("UPDATE relays SET attempts_ended = attempts")


def downgrade() -> None:
    with op.batch_alter_table("relays") as batch:
        batch.drop_column("attempts_ended")
