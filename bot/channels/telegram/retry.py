"""Outgoing requests survive Telegram's flood limits and network trouble: wait, then try again."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

from bot.backoff import Backoff

log = logging.getLogger(__name__)


class RetryMiddleware(BaseRequestMiddleware):
    """429 waits exactly `retry_after`; network and 5xx errors back off exponentially; bounded tries."""

    def __init__(self, attempts: int = 6, base_delay: float = 0.5, max_delay: float = 30.0) -> None:
        self._attempts = attempts
        self._max_delay = max_delay
        self._backoff = Backoff(base_delay, max_delay)

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        for attempt in range(1, self._attempts):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if error.retry_after > self._max_delay:
                    raise  # holding a webhook request for minutes helps nobody: redelivery or the outbox retry later
                delay = float(error.retry_after)
            except (TelegramNetworkError, TelegramServerError):
                delay = self._backoff.delay(attempt)
            log.warning("Telegram %s failed (try %d), retrying in %.1f s", method.__api_method__, attempt, delay)
            await asyncio.sleep(delay)
        return await make_request(bot, method)
