"""Encryption at rest: texts and channel ids sealed, lookups by keyed hash, tombstones of deleted deliveries.

Existing rows are encrypted in place with the engine's current key (bot/keys.py). The contact's platform id and
a delivery's recipient become ciphertext (Text); their keyed hashes take over the unique index and the lookup
index. `tombstones` keeps, for the dedupe window only, the keyed hash of the platform message ids of a person
who had their data deleted, so a replayed webhook cannot bring their history back. `remote_erasures` lists
the platform's copies (Twilio message SIDs) still to be deleted there.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from bot.storage.sealing import HASH_LENGTH, dialect_keyring

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SEALED = {
    "messages": ("text", "turn"),
    "whatsapp_deliveries": ("body", "content_variables"),
    "cases": ("summary", "outcome"),
    "relays": ("text",),
    "case_notes": ("text",),
}


def _recode(table: str, columns: tuple[str, ...], transform: Callable[[str], str], hashed: str = "") -> None:
    """Rewrite every non-null value of `columns`; `hashed` names a column that gets the first one's keyed hash."""
    bind = op.get_bind()
    keyring = dialect_keyring(bind.dialect)
    rows = sa.table(table, sa.column("id"), *(sa.column(name) for name in (*columns, *([hashed] if hashed else []))))
    for row in bind.execute(sa.select(rows.c.id, *(rows.c[name] for name in columns))).all():
        values: dict[str, str | None] = {}
        for name, value in zip(columns, row[1:], strict=True):
            if value is not None:
                values[name] = transform(value)
                if hashed and name == columns[0]:
                    values[hashed] = keyring.blind(value)
        if values:
            bind.execute(sa.update(rows).where(rows.c.id == row[0]).values(**values))


def upgrade() -> None:
    keyring = dialect_keyring(op.get_bind().dialect)
    op.drop_index("ix_whatsapp_deliveries_recipient_status", table_name="whatsapp_deliveries")
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("platform_hash", sa.String(HASH_LENGTH)))
        batch.alter_column("platform_id", existing_type=sa.String(128), type_=sa.Text, existing_nullable=False)
    with op.batch_alter_table("whatsapp_deliveries") as batch:
        batch.add_column(sa.Column("recipient_hash", sa.String(HASH_LENGTH)))
        batch.alter_column("recipient", existing_type=sa.String(128), type_=sa.Text, existing_nullable=True)

    _recode("contacts", ("platform_id",), keyring.seal, hashed="platform_hash")
    _recode("whatsapp_deliveries", ("recipient",), keyring.seal, hashed="recipient_hash")
    for table, columns in SEALED.items():
        _recode(table, columns, keyring.seal)

    with op.batch_alter_table("contacts") as batch:
        batch.drop_constraint("uq_contacts_channel_platform_id", type_="unique")
        batch.alter_column("platform_hash", existing_type=sa.String(HASH_LENGTH), nullable=False)
        batch.create_unique_constraint("uq_contacts_channel_platform_hash", ["channel", "platform_hash"])
    op.create_index("ix_whatsapp_deliveries_recipient_hash_status", "whatsapp_deliveries", ["recipient_hash", "status"])
    op.create_table(
        "tombstones",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("digest", sa.String(HASH_LENGTH), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("digest", name="uq_tombstones_digest"),
    )
    op.create_index("ix_tombstones_expires_at", "tombstones", ["expires_at"])
    op.create_table(
        "remote_erasures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("remote_id", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("channel", "remote_id", name="uq_remote_erasures_channel_remote_id"),
    )


def downgrade() -> None:
    keyring = dialect_keyring(op.get_bind().dialect)
    op.drop_table("remote_erasures")
    op.drop_table("tombstones")
    op.drop_index("ix_whatsapp_deliveries_recipient_hash_status", table_name="whatsapp_deliveries")
    for table, columns in SEALED.items():
        _recode(table, columns, keyring.open)
    _recode("whatsapp_deliveries", ("recipient",), keyring.open)
    _recode("contacts", ("platform_id",), keyring.open)
    with op.batch_alter_table("whatsapp_deliveries") as batch:
        batch.drop_column("recipient_hash")
        batch.alter_column("recipient", existing_type=sa.Text, type_=sa.String(128), existing_nullable=True)
    with op.batch_alter_table("contacts") as batch:
        batch.drop_constraint("uq_contacts_channel_platform_hash", type_="unique")
        batch.drop_column("platform_hash")
        batch.alter_column("platform_id", existing_type=sa.Text, type_=sa.String(128), existing_nullable=False)
        batch.create_unique_constraint("uq_contacts_channel_platform_id", ["channel", "platform_id"])
    op.create_index("ix_whatsapp_deliveries_recipient_status", "whatsapp_deliveries", ["recipient", "status"])
