"""One update per chat at a time: across processes through a Redis lock, in-process while Redis is away.

aiogram's Redis lock would fail every update while Redis is unreachable; this one falls back to the
in-process lock (the same health flag as the state store: one warning, retried every few seconds).

aiogram's lock also holds a chat for 60 s: a process killed during an update kept that chat's next update
(Telegram's redelivery included) waiting for up to a minute. Here the lock is short and renewed while the
update runs, so a dead holder frees the chat within `LOCK_SECONDS`, and a wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Protocol

from aiogram.fsm.storage.base import BaseEventIsolation, KeyBuilder, StorageKey
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

from bot.channels.locks import KeyedLocks
from bot.errors import InFlight

log = logging.getLogger(__name__)

# As the person locks (bot/storage/locks.py): a turn takes far less; a dead holder frees the chat within this.
LOCK_SECONDS = 10.0
# Then the update fails with a 503 and Telegram delivers it again: PANA_PERSON_WAIT_SECONDS, one wait for every
# channel, kept under Twilio's 15 s webhook timeout (Telegram waits about 60 s).
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.1  # aiogram's own poll: waiting for a chat is rare


def local_isolation(wait_seconds: float = WAIT_SECONDS) -> BaseEventIsolation:
    """One update per chat at a time within this process, waiting at most `wait_seconds`: one process, no Redis."""
    return LocalEventIsolation(wait_seconds)


class ChatBusy(InFlight):
    """The chat's previous update was still being handled after WAIT_SECONDS: a 503, Telegram delivers it again."""


class Availability(Protocol):
    def worth_trying(self) -> bool: ...

    def failed(self, error: BaseException) -> None: ...

    def succeeded(self) -> None: ...


class LocalEventIsolation(BaseEventIsolation):
    """One update per chat within this process, waiting at most `wait_seconds`, then `PersonBusy` (a 503).

    aiogram's SimpleEventIsolation waits as long as the chat's previous update takes.
    """

    def __init__(self, wait_seconds: float = WAIT_SECONDS) -> None:
        self._locks = KeyedLocks(wait_seconds)

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        async with self._locks.hold(repr(key)):  # in this process only: the chat id never leaves it
            yield

    async def close(self) -> None:
        """Nothing to close: the locks go with the process."""


class FallbackEventIsolation(BaseEventIsolation):
    def __init__(
        self,
        redis: Redis,
        key_builder: KeyBuilder,
        availability: Availability,
        down: tuple[type[BaseException], ...],
        *,
        lock_seconds: float = LOCK_SECONDS,
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        self._redis = redis
        self._key_builder = key_builder
        self._local = LocalEventIsolation(wait_seconds)
        self._availability = availability
        self._down = down
        self._lost: tuple[type[BaseException], ...] = (LockError, *down)  # the lock expired, or Redis left
        self._lock_seconds = lock_seconds
        self._wait_seconds = wait_seconds

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        shared = await self._acquire(key) if self._availability.worth_trying() else None
        if shared is None:
            async with self._local.lock(key):
                yield
            return
        renewing = asyncio.create_task(self._keep(shared))
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            try:
                await shared.release()
            except self._lost:  # expired, or Redis left during the update: it expires by itself
                log.warning("Could not release a chat lock in Redis; it expires by itself")

    async def _acquire(self, key: StorageKey) -> Lock | None:
        """The chat's shared lock, held; None when Redis is away (the in-process lock stands in)."""
        shared = self._redis.lock(
            self._key_builder.build(key, "lock"),
            timeout=self._lock_seconds,
            sleep=POLL_SECONDS,
            blocking_timeout=self._wait_seconds,
        )
        try:
            acquired = await shared.acquire()
        except self._down as error:
            self._availability.failed(error)
            return None
        self._availability.succeeded()
        if not acquired:
            raise ChatBusy("the chat's previous update is still being handled")
        return shared

    async def _keep(self, shared: Lock) -> None:
        """Renew the lock while the update runs: a long turn keeps its chat, a killed process does not."""
        while True:
            await asyncio.sleep(self._lock_seconds / 3)
            try:
                await shared.reacquire()
            except self._lost:
                log.warning("Could not renew a chat lock in Redis; the update goes on without it")
                return

    async def close(self) -> None:
        """The Redis client belongs to the app, which closes it."""
