"""Transactions by what a database crash may lose: durable ones wait for the disk, relaxed ones do not.

Durable (the default, `begin()` anywhere else): what nobody could recover, above all the accepted inbound
message (the platform stops redelivering once Pana answers), and what happened outside because of a write
(a case opened and a lawyer notified, a relay, consent, a deletion).

Relaxed (`Commits.relaxed`; on the driver `relaxed_held`, `relaxed_statement_held`): what is worked out
again from a stored message that shows unanswered. A decision, "parts sent", the "answered" mark, a turn's WhatsApp
replies, an outbox claim: if a crash of the database server (power, OS; a crash of its process or of Pana's loses
no commit either way) takes one, the message is stored and unanswered, and the recovery sweep answers it: at worst
a second answer, never a lost message.

Both databases write their log in commit order and a durable commit flushes everything before it, so a crash
loses only relaxed commits made after the last durable one: a state a process crash could have left as well.

Relaxed writes run on a second, small pool whose connections were opened relaxed and stay so for their whole life
(bot/storage/database.py, `create_relaxed_engine`): PostgreSQL `synchronous_commit=off` (the WAL writer flushes
within ~0.6 s), SQLite `synchronous=NORMAL` in WAL mode (the WAL is synced at checkpoints). No per-transaction
setting: a relaxed transaction is its statements and its COMMIT, and one relaxed statement on PostgreSQL is one
round trip in autocommit. Where SQLite refuses WAL, that pool's connections stay durable by themselves.

DATABASE_RELAXED_COMMITS=false makes every commit durable: no second pool, everything on the durable engine.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.storage import driver
from bot.storage.database import create_relaxed_engine

__all__ = ["RELAXED_POOL_OVERFLOW", "RELAXED_POOL_SIZE", "Commits"]

# A turn holds a relaxed connection for one short transaction at a time (its decision, its "answered" mark).
RELAXED_POOL_SIZE = 4
RELAXED_POOL_OVERFLOW = 4


class Commits:
    """Begins transactions: durable ones on `engine`, relaxed ones on a pool of relaxed connections."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        relaxed: bool,
        pool_size: int = RELAXED_POOL_SIZE,
        pool_overflow: int = RELAXED_POOL_OVERFLOW,
    ) -> None:
        self.engine = engine
        own = create_relaxed_engine(engine, pool_size=pool_size, pool_overflow=pool_overflow) if relaxed else None
        if own is not None:
            _dispose_with(engine, own)
        # Where relaxed writes go: the relaxed pool, or (relaxed commits off or impossible) the durable engine.
        self.relaxed_engine = own or engine
        postgres = engine.dialect.name == "postgresql"
        # PostgreSQL's driver switches autocommit without a round trip; SQLite's would cost two thread hops and
        # save one, so there a single statement takes a transaction like any other.
        self._single = self.relaxed_engine.execution_options(isolation_level="AUTOCOMMIT") if postgres else None

    def durable(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A transaction whose commit returns once it is on disk."""
        return self.engine.begin()

    def relaxed(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A transaction whose commit does not wait for the disk: only for what a stored message re-derives."""
        return self.relaxed_engine.begin()

    # A turn's hot statements run on the driver connection (bot/storage/driver.py), in these.

    def durable_held(self) -> AbstractAsyncContextManager[driver.Held]:
        return driver.hold(self.engine, transaction=True)

    def relaxed_held(self) -> AbstractAsyncContextManager[driver.Held]:
        return driver.hold(self.relaxed_engine, transaction=True)

    def relaxed_statement_held(self) -> AbstractAsyncContextManager[driver.Held]:
        """ONE relaxed write, atomic by itself: in autocommit on PostgreSQL (one round trip), a transaction on
        SQLite. Never for two statements that must commit together: use `relaxed_held()`."""
        if self._single is None:
            return driver.hold(self.relaxed_engine, transaction=True)
        return driver.hold(self._single, transaction=False)


def _dispose_with(engine: AsyncEngine, relaxed: AsyncEngine) -> None:
    """The relaxed pool closes when the durable engine is disposed: its owners (the app, tests) dispose only that."""

    @event.listens_for(engine.sync_engine, "engine_disposed")
    def _dispose_relaxed(_engine: Any) -> None:
        relaxed.sync_engine.dispose()  # inside the async dispose's greenlet: the driver's close is awaited there
