"""Transactions by what a database crash may lose: durable ones wait for the disk, relaxed ones do not.

Durable (the default, `begin()` anywhere else): what nobody could recover, above all the accepted inbound
message (the platform stops redelivering once Pana answers), and what happened outside because of a write
(a case opened and a lawyer notified, a relay, consent, a deletion).

Relaxed (`Commits.relaxed`): what is worked out again from a stored message that shows unanswered. A decision,
"parts sent", the "answered" mark, a turn's WhatsApp replies, an outbox claim: if a crash of the database
server (power, OS; a crash of its process or of Pana's loses no commit either way) takes one, the message is
stored and unanswered, and the recovery sweep answers it: at worst a second answer, never a lost message.

Both databases write their log in commit order and a durable commit flushes everything before it, so a crash
loses only relaxed commits made after the last durable one: a state a process crash could have left as well.
PostgreSQL: `SET LOCAL synchronous_commit TO OFF` (the WAL writer flushes within ~0.6 s). SQLite in WAL mode:
`synchronous=NORMAL` (the WAL is synced at checkpoints), which SQLite refuses to change inside a transaction,
so it is set on the connection before the transaction and set back to FULL after it.

DATABASE_RELAXED_COMMITS=false makes every commit durable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["Commits"]

_POSTGRES_RELAXED = text("SET LOCAL synchronous_commit TO OFF")  # this transaction only; nothing to set back
SQLITE_RELAXED = "PRAGMA synchronous=NORMAL"
SQLITE_DURABLE = "PRAGMA synchronous=FULL"  # every connection's setting (bot/storage/database.py)


class Commits:
    """Begins transactions on one engine: durable, or relaxed when the setting allows it."""

    def __init__(self, engine: AsyncEngine, *, relaxed: bool) -> None:
        self.engine = engine
        dialect = engine.dialect.name
        self._relaxed = relaxed and dialect in ("postgresql", "sqlite")
        self._postgres = dialect == "postgresql"

    def durable(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A transaction whose commit returns once it is on disk."""
        return self.engine.begin()

    def relaxed(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A transaction whose commit does not wait for the disk: only for what a stored message re-derives."""
        if not self._relaxed:
            return self.engine.begin()
        return self._postgres_relaxed() if self._postgres else self._sqlite_relaxed()

    @asynccontextmanager
    async def _postgres_relaxed(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as connection:
            await connection.execute(_POSTGRES_RELAXED)
            yield connection

    @asynccontextmanager
    async def _sqlite_relaxed(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as connection:
            # On the driver's connection, outside SQLite's transaction (the driver begins one at the first write,
            # SQLAlchemy at none): no statement of SQLAlchemy's, no transaction of its own to end afterwards.
            driver: Any = (await connection.get_raw_connection()).driver_connection  # aiosqlite's Connection
            await driver.execute_fetchall(SQLITE_RELAXED)
            try:
                async with connection.begin():
                    yield connection
            finally:
                await _sqlite_durable_again(connection, driver)


async def _sqlite_durable_again(connection: AsyncConnection, driver: Any) -> None:
    """Back to FULL before the connection returns to the pool; one that cannot be set back is not reused."""
    try:
        await driver.execute_fetchall(SQLITE_DURABLE)
    except BaseException:
        await connection.invalidate()
        raise
