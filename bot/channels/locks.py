"""Per-person locks: one message of a person at a time, so replies keep the order in which they wrote.

`PersonLocks` is the port a channel holds around a person's turn; the composition root picks the lock:
in-process (`KeyedLocks`) for one worker, or `LayeredLocks` over the Redis lock that workers share.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol


class PersonLocks(Protocol):
    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Held while one message of the person `key` is handled; waits while another holds it."""
        ...


class KeyedLocks:
    """One asyncio lock per key (a user, a recipient), dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class LayeredLocks:
    """A process's own lock first, then the shared one: waiting within a worker costs no round trips."""

    def __init__(self, local: PersonLocks, shared: PersonLocks) -> None:
        self._local = local
        self._shared = shared

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with self._local.hold(key), self._shared.hold(key):
            yield
