"""Outgoing requests survive Telegram's flood limits and network trouble: wait, then try again."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

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
        # Tenacity's machinery costs ~0.1 ms of CPU a request: the first try goes without it. A failed first
        # try is handed to tenacity as its own first attempt, so waits, logs and the count of tries are as before.
        try:
            return await make_request(bot, method)
        except Exception as error:
            first_failure: Exception | None = error

        async def attempt(bot: Bot, method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
            nonlocal first_failure
            if first_failure is not None:
                failure, first_failure = first_failure, None
                raise failure
            return await make_request(bot, method)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            retry=retry_if_exception(self._worth_retrying),
            wait=self._wait,
            before_sleep=lambda state: log.warning(
                "Telegram %s failed (try %d), retrying in %.1f s",
                method.__api_method__,
                state.attempt_number,
                state.upcoming_sleep,
            ),
            reraise=True,  # the last error itself, not tenacity's RetryError: callers handle Telegram's errors
        )
        return await retrying(attempt, bot, method)

    def _worth_retrying(self, error: BaseException) -> bool:
        if isinstance(error, TelegramRetryAfter):
            # Holding a webhook request for minutes helps nobody: redelivery or the outbox retry later.
            return error.retry_after <= self._max_delay
        return isinstance(error, (TelegramNetworkError, TelegramServerError))

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, TelegramRetryAfter):
            return float(error.retry_after)
        return self._backoff(state)
