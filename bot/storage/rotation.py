"""Key rotation: every sealed value re-encrypted with the current (first) key, every lookup hash recomputed.

Run with Pana stopped (`pana keys rotate`), after putting the new key first in PANA_ENCRYPTION_KEYS; then
the old key can be dropped from the list. Rows are rewritten in batches, one transaction per batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.schema import metadata
from bot.storage.sealing import Sealed, dialect_keyring

BATCH = 500
# Which keyed-hash column is computed from which sealed column.
HASHED = {("contacts", "platform_id"): "platform_hash", ("whatsapp_deliveries", "recipient"): "recipient_hash"}


@dataclass(frozen=True)
class Rotated:
    tables: int
    rows: int


def sealed_columns(table: Table) -> list[Column]:  # type: ignore[type-arg]
    return [column for column in table.columns if isinstance(column.type, Sealed)]


async def rotate(engine: AsyncEngine) -> Rotated:
    keyring = dialect_keyring(engine.sync_engine.dialect)
    tables = rows = 0
    for table in metadata.sorted_tables:
        columns = sealed_columns(table)
        if not columns:
            continue
        tables += 1
        last_id = 0
        while True:
            async with engine.begin() as connection:
                query = select(table.c.id, *columns).where(table.c.id > last_id).order_by(table.c.id).limit(BATCH)
                batch = (await connection.execute(query)).all()
                for row in batch:
                    values: dict[str, object] = {column.name: row._mapping[column.name] for column in columns}
                    for column in columns:
                        hashed = HASHED.get((table.name, column.name))
                        clear = values[column.name]
                        if hashed is not None:
                            values[hashed] = keyring.blind(str(clear)) if clear is not None else None
                    await connection.execute(update(table).where(table.c.id == row.id).values(**values))
            if not batch:
                break
            rows += len(batch)
            last_id = batch[-1].id
    return Rotated(tables, rows)
