"""The one backoff: doubling from the base, capped, and with jitter never above the plain delay; tenacity's
retry loops wait it."""

from __future__ import annotations

import pytest
from aiogram.exceptions import TelegramRetryAfter, TelegramServerError
from aiogram.methods import GetMe
from tenacity import AsyncRetrying, stop_after_attempt

from bot.backoff import Backoff
from bot.channels.telegram.retry import RetryMiddleware
from bot.handoff.outbox import backoff

pytestmark = pytest.mark.fast


def test_delays_double_and_stop_at_the_cap() -> None:
    steps = Backoff(0.5, 30.0)
    assert [steps.delay(n) for n in (1, 2, 3, 8, 20)] == [0.5, 1.0, 2.0, 30.0, 30.0]


def test_jitter_stays_between_half_and_the_whole_delay() -> None:
    steps = Backoff(1.0, 60.0, jitter=True)
    assert all(2.0 <= steps.delay(3) <= 4.0 for _ in range(200))


def test_relays_wait_thirty_seconds_first_and_an_hour_at_most() -> None:
    assert backoff(1).total_seconds() == 30 and backoff(0).total_seconds() == 30
    assert backoff(12).total_seconds() == 3600


async def test_tenacity_waits_the_backoff_between_tries() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 4:
            raise ConnectionError("not yet")
        return "done"

    retrying = AsyncRetrying(sleep=sleep, wait=Backoff(0.5, 30.0), stop=stop_after_attempt(6), reraise=True)
    assert await retrying(flaky) == "done"
    assert slept == [0.5, 1.0, 2.0]


def _get_me() -> GetMe:
    return GetMe()


async def test_telegram_requests_retry_server_errors_a_bounded_number_of_times() -> None:
    calls = 0

    async def failing(bot: object, method: object) -> object:
        nonlocal calls
        calls += 1
        raise TelegramServerError(_get_me(), "Bad Gateway")

    retry = RetryMiddleware(attempts=3, base_delay=0.0, max_delay=0.0)
    with pytest.raises(TelegramServerError):
        await retry(failing, None, _get_me())  # type: ignore[arg-type]
    assert calls == 3, "every try, then Telegram's own error (not tenacity's RetryError)"


async def test_telegram_flood_waits_longer_than_the_cap_are_not_slept_through() -> None:
    calls = 0

    async def flooded(bot: object, method: object) -> object:
        nonlocal calls
        calls += 1
        raise TelegramRetryAfter(_get_me(), "Flood control", retry_after=3600)

    with pytest.raises(TelegramRetryAfter):
        await RetryMiddleware(attempts=6, max_delay=30.0)(flooded, None, _get_me())  # type: ignore[arg-type]
    assert calls == 1
