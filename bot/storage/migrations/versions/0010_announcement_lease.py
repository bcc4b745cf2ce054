"""A case is marked announced only after the announcement went out.

`announcing_until` is the lease of the process sending an announcement: while it runs, no other process
announces the case; if the process dies, the lease expires and the next sweep announces it (before,
`announced_at` was set first and a crash left an urgent case unannounced until working hours).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("announcing_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("announcing_until")
