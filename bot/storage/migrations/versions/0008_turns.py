"""Durable turns: what a re-decided message needs, how far its replies went out, who is handling it.

- messages: `payload`, `attachment`, `language_hint` (an unanswered message can be decided again after a
  crash exactly as it came), `parts_sent` (replies go out from the stored turn, marked part by part) and
  `lease_until` (one process handles a message at a time; a crashed one's lease simply expires).
- relays: `source_message_id`, unique: a message decided again never relays its text to the lawyer twice.
- whatsapp_deliveries: `reply_key` ("<message id>:<part>"), unique: replies are queued once per message.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("payload", sa.Text))
        batch.add_column(sa.Column("attachment", sa.String(16)))
        batch.add_column(sa.Column("language_hint", sa.String(16)))
        batch.add_column(sa.Column("parts_sent", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True)))
    with op.batch_alter_table("relays") as batch:
        batch.add_column(sa.Column("source_message_id", sa.Integer))
        batch.create_unique_constraint("uq_relays_source_message_id", ["source_message_id"])
    with op.batch_alter_table("whatsapp_deliveries") as batch:
        batch.add_column(sa.Column("reply_key", sa.String(32)))
        batch.create_unique_constraint("uq_whatsapp_deliveries_reply_key", ["reply_key"])


def downgrade() -> None:
    with op.batch_alter_table("whatsapp_deliveries") as batch:
        batch.drop_constraint("uq_whatsapp_deliveries_reply_key", type_="unique")
        batch.drop_column("reply_key")
    with op.batch_alter_table("relays") as batch:
        batch.drop_constraint("uq_relays_source_message_id", type_="unique")
        batch.drop_column("source_message_id")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("parts_sent")
        batch.drop_column("language_hint")
        batch.drop_column("attachment")
        batch.drop_column("payload")
