"""One turn at a time per person, across every worker: replies keep the order in which the person wrote.

The lock is keyed by a keyed hash of the person's channel address (the composition root passes the keyring's
`blind`), so no phone number or chat id, nor a hash one could reverse by trying every number, becomes a key
in a shared store. Which lock (in-process, or Redis shared by the workers) is the composition root's choice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from bot.core.messages import IncomingMessage, Turn
from bot.core.ports import Dialogue


class PersonLocks(Protocol):
    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Held while one turn of the person `key` is decided; waits while another holds it."""
        ...


class OrderedDialogue:
    """The Dialogue with each person's turns taken one after the other."""

    def __init__(self, inner: Dialogue, locks: PersonLocks, blind: Callable[[str], str]) -> None:
        self._inner = inner
        self._locks = locks
        self._blind = blind

    async def handle(self, message: IncomingMessage) -> Turn:
        async with self._locks.hold(self._blind(f"{message.channel}:{message.user_id}")):
            return await self._inner.handle(message)

    async def progress(self, turn: Turn, parts_sent: int) -> None:
        await self._inner.progress(turn, parts_sent)

    async def unsent(self, turn: Turn) -> None:
        await self._inner.unsent(turn)

    async def delivered(self, turn: Turn) -> None:
        await self._inner.delivered(turn)


class LayeredLocks:
    """A process's own lock first, then the shared one: waiting within a worker costs no round trips."""

    def __init__(self, local: PersonLocks, shared: PersonLocks) -> None:
        self._local = local
        self._shared = shared

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with self._local.hold(key), self._shared.hold(key):
            yield
