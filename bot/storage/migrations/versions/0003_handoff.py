"""The lawyer handoff: lawyers, cases, relayed messages, lawyer message ids, notes, the audit trail.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OPEN_CASE = sa.text("status <> 'closed'")


def upgrade() -> None:
    op.create_table(
        "lawyers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("telegram_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("languages", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("current_case_id", sa.Integer),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("telegram_id", name="uq_lawyers_telegram_id"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("contact_id", sa.Integer, sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("topic", sa.String(64)),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(1), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("lawyer_id", sa.Integer, sa.ForeignKey("lawyers.id")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True)),
        sa.Column("lawyer_active_at", sa.DateTime(timezone=True)),
        sa.Column("announced_at", sa.DateTime(timezone=True)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("outcome", sa.Text),
        sa.Column("rating", sa.Integer),
    )
    op.create_index(
        "uq_cases_open_contact",
        "cases",
        ["contact_id"],
        unique=True,
        sqlite_where=OPEN_CASE,
        postgresql_where=OPEN_CASE,
    )
    op.create_index("ix_cases_status_created_at", "cases", ["status", "created_at"])
    op.create_table(
        "relays",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("lawyer_id", sa.Integer, sa.ForeignKey("lawyers.id")),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_relays_case_id", "relays", ["case_id"])
    op.create_index("ix_relays_status_next_attempt_at", "relays", ["status", "next_attempt_at"])
    op.create_table(
        "lawyer_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("chat_id", "message_id", name="uq_lawyer_messages_chat_message"),
    )
    op.create_index("ix_lawyer_messages_case_id", "lawyer_messages", ["case_id"])
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("lawyer_id", sa.Integer, sa.ForeignKey("lawyers.id"), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_case_notes_case_id", "case_notes", ["case_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(16), nullable=False),
        sa.Column("lawyer_id", sa.Integer, sa.ForeignKey("lawyers.id")),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("case_id", sa.Integer),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_case_id", "audit_log", ["case_id"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("case_notes")
    op.drop_table("lawyer_messages")
    op.drop_table("relays")
    op.drop_table("cases")
    op.drop_table("lawyers")
