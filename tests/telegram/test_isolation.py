"""One update per chat across processes: a killed holder frees the chat soon, a live one keeps it while it works.

Against the shared Redis (REDIS_URL), under a fresh key prefix. aiogram's own lock held a chat for 60 s after
its holder died, which kept Telegram's redelivery of that chat's update waiting for up to a minute.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from redis.asyncio import Redis

from bot.channels.telegram.isolation import ChatBusy, FallbackEventIsolation, LocalEventIsolation
from bot.errors import InFlight
from bot.storage.state import REDIS_DOWN, RedisHealth

pytestmark = pytest.mark.asyncio

KEY = StorageKey(bot_id=123456, chat_id=9001, user_id=9001)
LOCK_SECONDS = 0.6


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set")
    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    yield client
    await client.aclose()


def isolation(redis: Redis, prefix: str, wait_seconds: float) -> FallbackEventIsolation:
    """One process's isolation (several share a prefix, as workers share Redis)."""
    return FallbackEventIsolation(
        redis,
        DefaultKeyBuilder(prefix=prefix),
        RedisHealth(),
        REDIS_DOWN,
        lock_seconds=LOCK_SECONDS,
        wait_seconds=wait_seconds,
    )


async def test_a_chat_held_by_a_killed_process_is_free_within_the_lock_time(redis: Redis) -> None:
    prefix = f"pana-test-{uuid.uuid4().hex}"
    # What a process killed during an update leaves: the chat's lock, never released, never renewed.
    await redis.set(DefaultKeyBuilder(prefix=prefix).build(KEY, "lock"), "dead-holder", px=int(LOCK_SECONDS * 1000))
    entered = False
    async with isolation(redis, prefix, wait_seconds=LOCK_SECONDS * 5).lock(KEY):
        entered = True
    assert entered


async def test_a_live_update_keeps_its_chat_past_the_lock_time(redis: Redis) -> None:
    prefix = f"pana-test-{uuid.uuid4().hex}"
    holding = asyncio.Event()
    release = asyncio.Event()

    async def long_update() -> None:
        async with isolation(redis, prefix, wait_seconds=1).lock(KEY):
            holding.set()
            await asyncio.wait_for(release.wait(), timeout=30)

    first = asyncio.create_task(long_update())
    await asyncio.wait_for(holding.wait(), timeout=10)
    with pytest.raises(ChatBusy):  # renewed: still held after 4 lock times
        async with isolation(redis, prefix, wait_seconds=LOCK_SECONDS * 4).lock(KEY):
            pass
    release.set()
    await first
    async with isolation(redis, prefix, wait_seconds=LOCK_SECONDS).lock(KEY):  # given back at the end
        pass


HANG_GUARD = 30.0  # a wait that never ends fails the test instead of hanging it


async def _enter(isolation: FallbackEventIsolation | LocalEventIsolation, key: StorageKey) -> None:
    async with isolation.lock(key):
        pass


async def test_without_redis_a_chat_waits_at_most_its_wait_then_gets_a_503() -> None:
    """In one process (no Redis, or Redis away) the wait is bounded too: aiogram's own lock waited for ever."""
    local = LocalEventIsolation(wait_seconds=0.2)
    away = RedisHealth(retry_seconds=3600)
    away.failed(ConnectionError("down"))  # as the state store marks it: no Redis call is made
    unreachable = Redis.from_url("redis://127.0.0.1:9/0")
    fallback = FallbackEventIsolation(unreachable, DefaultKeyBuilder(), away, REDIS_DOWN, wait_seconds=0.2)
    try:
        for isolation in (local, fallback):
            async with isolation.lock(KEY):
                with pytest.raises(InFlight):  # the webhook answers 503 and Telegram delivers it again
                    await asyncio.wait_for(_enter(isolation, KEY), HANG_GUARD)
                other_chat = StorageKey(bot_id=123456, chat_id=9002, user_id=9002)
                await asyncio.wait_for(_enter(isolation, other_chat), HANG_GUARD)  # another chat is not held
            await asyncio.wait_for(_enter(isolation, KEY), HANG_GUARD)  # free once the first update is done
    finally:
        await unreachable.aclose()
