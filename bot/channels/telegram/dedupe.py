"""Each Telegram update is processed once, however often it is delivered (webhook retries, restarts)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from bot.channels.claims import BUSY_SECONDS, Claims, handle_once


class UpdateDedupeMiddleware(BaseMiddleware):
    """Outer middleware on `dp.update`: claim the update id first; give it back if handling failed."""

    def __init__(self, claims: Claims, bot_id: int, *, busy_seconds: int = BUSY_SECONDS) -> None:
        self._claims = claims
        self._busy_seconds = busy_seconds
        self._prefix = f"telegram:update:{bot_id}:"

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):  # registered on dispatcher.update: only updates come here
            return await handler(event, data)
        return await handle_once(
            self._claims,
            f"{self._prefix}{event.update_id}",
            lambda: handler(event, data),
            busy_seconds=self._busy_seconds,
        )
