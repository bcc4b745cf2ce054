"""Retention that matches the promise: a closed case can outlive the person it was about.

Past the retention period a closed case is detached (no contact, no topic, no outcome) and kept only for
anonymous counts, so `cases.contact_id` becomes nullable. The sweep finds inactive contacts by
`last_seen_at`, hence its index.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OPEN_CASE = sa.text("status <> 'closed'")


def _open_case_index() -> None:
    op.create_index(
        "uq_cases_open_contact",
        "cases",
        ["contact_id"],
        unique=True,
        sqlite_where=OPEN_CASE,
        postgresql_where=OPEN_CASE,
    )


def upgrade() -> None:
    # Recreated explicitly: SQLite's table rebuild in batch mode must not lose the partial WHERE.
    op.drop_index("uq_cases_open_contact", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.alter_column("contact_id", existing_type=sa.Integer, nullable=True)
    _open_case_index()
    op.create_index("ix_contacts_last_seen_at", "contacts", ["last_seen_at"])


def downgrade() -> None:
    op.drop_index("ix_contacts_last_seen_at", table_name="contacts")
    op.execute("DELETE FROM cases WHERE contact_id IS NULL")  # detached cases have no one to point to
    op.drop_index("uq_cases_open_contact", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.alter_column("contact_id", existing_type=sa.Integer, nullable=False)
    _open_case_index()
