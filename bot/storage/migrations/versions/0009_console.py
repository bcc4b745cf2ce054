"""The web console: staff accounts, their server-side sessions, and web-only lawyers.

A lawyer may now work only on the web, so `lawyers.telegram_id` becomes nullable (still unique when set).
A staff account of role lawyer points at its `lawyers` row: one identity for the Telegram desk and the web.
`audit_log.staff_id` names the account behind a web action (no foreign key: the trail outlives accounts).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lawyers") as batch:
        batch.alter_column("telegram_id", existing_type=sa.BigInteger, nullable=True)
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("lawyer_id", sa.Integer, sa.ForeignKey("lawyers.id"), nullable=True),
        sa.Column("ui_language", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("username", name="uq_staff_username"),
        sa.UniqueConstraint("lawyer_id", name="uq_staff_lawyer_id"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(64), primary_key=True),  # sha256 of the cookie's token, never the token
        sa.Column("staff_id", sa.Integer, sa.ForeignKey("staff.id", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_staff_sessions_staff_id", "staff_sessions", ["staff_id"])
    op.add_column("audit_log", sa.Column("staff_id", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("staff_id")
    op.drop_index("ix_staff_sessions_staff_id", table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_table("staff")
    # Web-only lawyers stay rows (cases, notes and the trail name them) with an id no private chat has.
    op.execute("UPDATE lawyers SET telegram_id = -id WHERE telegram_id IS NULL")
    with op.batch_alter_table("lawyers") as batch:
        batch.alter_column("telegram_id", existing_type=sa.BigInteger, nullable=False)
