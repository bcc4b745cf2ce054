"""Per-person locks: one message of a person at a time, so replies keep the order in which they wrote.

`PersonLocks` is the port a channel holds around a person's turn; the composition root picks the lock:
in-process (`KeyedLocks`) for one worker, or `LayeredLocks` over the Redis lock that workers share.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from bot.errors import PersonBusy


class PersonLocks(Protocol):
    def hold(self, key: str, wait_seconds: float | None = None) -> AbstractAsyncContextManager[None]:
        """Held while one message of the person `key` is handled; waits while another holds it, for at most
        `wait_seconds` (default: the lock's own) and then raises `PersonBusy`."""
        ...


class KeyedLocks:
    """One asyncio lock per key (a user, a recipient), dropped when nobody holds or waits for it.

    `wait_seconds` bounds a wait (then `PersonBusy`); None waits as long as it takes (the outbox's own drains).
    """

    def __init__(self, wait_seconds: float | None = None) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._wait = wait_seconds

    @asynccontextmanager
    async def hold(self, key: str, wait_seconds: float | None = None) -> AsyncIterator[None]:
        wait = self._wait if wait_seconds is None else wait_seconds
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            if wait is None:
                await lock.acquire()
            else:
                try:
                    async with asyncio.timeout(wait):
                        await lock.acquire()
                except TimeoutError:
                    raise PersonBusy("the person's previous message is still being handled") from None
            try:
                yield
            finally:
                lock.release()
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class LayeredLocks:
    """A process's own lock first, then the shared one: waiting within a worker costs no round trips.

    Both waits come out of one budget (`wait_seconds`), so a message never waits longer in all than a single
    lock would let it: under the platform's webhook timeout.
    """

    def __init__(self, local: PersonLocks, shared: PersonLocks, wait_seconds: float | None = None) -> None:
        self._local = local
        self._shared = shared
        self._wait = wait_seconds

    @asynccontextmanager
    async def hold(self, key: str, wait_seconds: float | None = None) -> AsyncIterator[None]:
        wait = self._wait if wait_seconds is None else wait_seconds
        loop = asyncio.get_running_loop()
        deadline = None if wait is None else loop.time() + wait
        async with self._local.hold(key, wait):
            left = None if deadline is None else max(deadline - loop.time(), 0.0)
            async with self._shared.hold(key, left):
                yield
