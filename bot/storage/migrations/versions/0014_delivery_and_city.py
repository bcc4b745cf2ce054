"""A lawyer's answer shows how far it got (queued, sent, delivered, read, failed), and a case may name a city.

`relays.delivery` is the state the console shows; for WhatsApp it follows Twilio's status callbacks of the
message that carries the relay (`relays.message_sid`, `whatsapp_deliveries.relay_id`), with Twilio's error code
on failure. `cases.city` is the person's optional answer to "which city?" (a code from a short list), sealed.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("relays") as batch:
        batch.add_column(sa.Column("delivery", sa.String(16), nullable=True))
        batch.add_column(sa.Column("message_sid", sa.String(64), nullable=True))
        batch.add_column(sa.Column("error_code", sa.Integer, nullable=True))
    with op.batch_alter_table("whatsapp_deliveries") as batch:
        batch.add_column(sa.Column("relay_id", sa.Integer, nullable=True))
        batch.create_index("ix_whatsapp_deliveries_relay_id", ["relay_id"])
        batch.create_foreign_key("fk_whatsapp_deliveries_relay_id", "relays", ["relay_id"], ["id"], ondelete="SET NULL")
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("city", sa.Text, nullable=True))  # sealed (bot/storage/sealing.py)


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("city")
    with op.batch_alter_table("whatsapp_deliveries") as batch:
        batch.drop_constraint("fk_whatsapp_deliveries_relay_id", type_="foreignkey")
        batch.drop_index("ix_whatsapp_deliveries_relay_id")
        batch.drop_column("relay_id")
    with op.batch_alter_table("relays") as batch:
        batch.drop_column("error_code")
        batch.drop_column("message_sid")
        batch.drop_column("delivery")
