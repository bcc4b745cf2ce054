"""One update per chat at a time: across processes through a Redis lock, in-process while Redis is away.

aiogram's Redis lock would fail every update while Redis is unreachable; this one falls back to the
in-process lock (the same health flag as the state store: one warning, retried every few seconds).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Protocol

from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisEventIsolation

log = logging.getLogger(__name__)


class Availability(Protocol):
    def worth_trying(self) -> bool: ...

    def failed(self, error: BaseException) -> None: ...

    def succeeded(self) -> None: ...


class FallbackEventIsolation(BaseEventIsolation):
    def __init__(
        self, shared: RedisEventIsolation, availability: Availability, down: tuple[type[BaseException], ...]
    ) -> None:
        self._shared = shared
        self._local = SimpleEventIsolation()
        self._availability = availability
        self._down = down

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        shared = self._shared.lock(key) if self._availability.worth_trying() else None
        if shared is not None:
            try:
                await shared.__aenter__()
            except self._down as error:
                self._availability.failed(error)
                shared = None
            else:
                self._availability.succeeded()
        if shared is None:
            async with self._local.lock(key):
                yield
            return
        try:
            yield
        finally:
            try:
                await shared.__aexit__(None, None, None)
            except self._down:  # Redis left during the update: its lock expires by itself
                log.warning("Could not release a chat lock in Redis; it expires by itself")

    async def close(self) -> None:
        await self._shared.close()
