"""Each Telegram update is processed once, however often it is delivered (webhook retries, restarts)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

log = logging.getLogger(__name__)
DEDUPE_TTL_SECONDS = 24 * 3600  # Telegram keeps undelivered updates at most 24 hours


class Claims(Protocol):
    async def claim(self, key: str, ttl_seconds: int) -> bool: ...

    async def release(self, key: str) -> None: ...


class UpdateDedupeMiddleware(BaseMiddleware):
    """Outer middleware on `dp.update`: claim the update id first; give it back if handling failed."""

    def __init__(self, claims: Claims, bot_id: int) -> None:
        self._claims = claims
        self._prefix = f"telegram:update:{bot_id}:"

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        key = f"{self._prefix}{event.update_id}"
        if not await self._claims.claim(key, DEDUPE_TTL_SECONDS):
            log.info("Update %d was delivered again; skipped", event.update_id)
            return None
        try:
            return await handler(event, data)
        except BaseException:
            await self._claims.release(key)  # let Telegram's redelivery try again
            raise
