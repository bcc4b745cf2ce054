"""Accounts managed on the web and content sign-offs recorded there.

- `staff.password_temporary`: a password an admin set (new account, reset) must be replaced at the next
  sign-in before any other page opens.
- `audit_log.subject_staff_id`: the account an admin's act was about (`staff_id` stays the one who acted).
- `content_signoffs`: a reviewer marked a topic's version (the hash of what it says) as checked, and when;
  the web never writes to content/.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("password_temporary", sa.Boolean, nullable=False, server_default=sa.false()))
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("subject_staff_id", sa.Integer, nullable=True))
    op.create_table(
        "content_signoffs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("topic", sa.String(64), nullable=False, index=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("staff_id", sa.Integer, sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("content_signoffs")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("subject_staff_id")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("password_temporary")
