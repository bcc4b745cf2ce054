"""aiogram's HTTP session, keeping the response models it builds alive."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType


class KeptResponseTypesSession(AiohttpSession):
    """An AiohttpSession whose `Response[T]` models outlive the request that built them.

    aiogram parametrizes pydantic's generic `Response` by the method's result type on every answer. Pydantic
    caches that class only weakly, so the garbage collector freed it between requests: in a profiled bench run
    129 of 311 Bot API answers rebuilt it, at ~14 ms of CPU each (docs/performance.md). One class per result
    type (a few dozen at most) is kept here.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._response_types: dict[Any, type[Response[Any]]] = {}

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in self._response_types:
            self._response_types[returning] = Response[returning]  # type: ignore[valid-type]
        return super().check_response(bot, method, status_code, content)
