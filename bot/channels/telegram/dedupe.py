"""Each Telegram update is processed once, however often it is delivered (webhook retries, restarts), one per chat."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.types import TelegramObject, Update

from bot.channels.claims import BUSY_SECONDS, Claims, handle_once
from bot.channels.telegram.isolation import chat_key


class UpdateDedupeMiddleware(BaseMiddleware):
    """Outer middleware on `dp.update`: hold the chat, then claim the update id; give it back if handling failed.

    The chat is held first, as aiogram's FSM middleware held it around this one before (`isolation.chat_key`).
    """

    def __init__(
        self, claims: Claims, bot_id: int, isolation: BaseEventIsolation, *, busy_seconds: int = BUSY_SECONDS
    ) -> None:
        self._bot_id = bot_id
        self._isolation = isolation
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
        key = f"{self._prefix}{event.update_id}"
        chat = chat_key(self._bot_id, data)
        if chat is None:  # no chat or user (e.g. a poll's answer): the claim alone
            return await handle_once(self._claims, key, lambda: handler(event, data), busy_seconds=self._busy_seconds)
        async with self._isolation.lock(chat):
            return await handle_once(self._claims, key, lambda: handler(event, data), busy_seconds=self._busy_seconds)
