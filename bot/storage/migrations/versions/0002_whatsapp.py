"""WhatsApp: the 24-hour window per contact, and the outbox with Twilio's delivery statuses.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_windows",
        sa.Column("contact_id", sa.Integer, sa.ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "whatsapp_deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("contact_id", sa.Integer, sa.ForeignKey("contacts.id", ondelete="CASCADE")),
        sa.Column("recipient", sa.String(128)),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("body", sa.Text),
        sa.Column("content_sid", sa.String(64)),
        sa.Column("content_variables", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message_sid", sa.String(64)),
        sa.Column("error_code", sa.Integer),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("message_sid", name="uq_whatsapp_deliveries_message_sid"),
    )
    op.create_index("ix_whatsapp_deliveries_contact_id", "whatsapp_deliveries", ["contact_id"])
    op.create_index("ix_whatsapp_deliveries_created_at", "whatsapp_deliveries", ["created_at"])
    op.create_index("ix_whatsapp_deliveries_recipient_status", "whatsapp_deliveries", ["recipient", "status"])


def downgrade() -> None:
    op.drop_table("whatsapp_deliveries")
    op.drop_table("whatsapp_windows")
