"""PANA_GLOBAL_TURNS_PER_SECOND across workers: one limit shared through Redis, each process's own while Redis is away.

Two `RedisTurnWindow`s on one Redis stand for two `pana serve` workers. A private redis-server (the test's
own, killed and started again) so the shared server is never stopped; time is a fake clock, so no
assertion depends on how fast the machine is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.core.ratelimit import GlobalRateLimit
from bot.storage.state import RedisHealth
from bot.storage.turnlimit import RedisTurnWindow, SharedTurnLimit, create_turn_limit
from tests.fakes import FakeClock
from tests.faults.outages import PrivateRedis
from tests.keys import TEST_KEYRING

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    await server.start()
    yield server
    server.stop()


@pytest.fixture
async def redis(redis_server: PrivateRedis) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url, socket_connect_timeout=2, socket_timeout=2)
    yield client
    await client.aclose()


async def takes(limit: RedisTurnWindow | SharedTurnLimit | GlobalRateLimit, count: int) -> list[bool]:
    return [await limit.take() for _ in range(count)]


async def test_two_workers_share_one_limit(redis: Redis) -> None:
    clock = FakeClock()
    first, second = (RedisTurnWindow(redis, TEST_KEYRING, rate=2.0, clock=clock) for _ in range(2))
    # 2 a second over a 2-second window: 4 turns for both together, not 4 each
    assert [await worker.take() for worker in (first, second, first, second, first, second)] == [True] * 4 + [False] * 2
    clock.advance(seconds=2)  # the previous window still counts in full at its end
    assert not await first.take()
    clock.advance(seconds=1)  # half of it overlaps the last 2 s: 2 of its 4 turns still count
    assert await takes(second, 3) == [True, True, False]
    clock.advance(seconds=4)  # quiet: both windows are over
    assert await takes(first, 5) == [True] * 4 + [False]


async def test_the_key_in_redis_is_a_keyed_hash_and_expires(redis: Redis) -> None:
    limit = RedisTurnWindow(redis, TEST_KEYRING, rate=1.0, clock=FakeClock())
    assert await limit.take()
    keys = [key.decode() for key in await redis.keys("*")]
    assert len(keys) == 1 and keys[0].startswith("pana:limit:") and "global-turns" not in keys[0]
    assert 0 < await redis.pttl(keys[0]) <= 64_000, "gone a minute after its two windows"


async def test_zero_switches_the_shared_limit_off(redis: Redis) -> None:
    limit = RedisTurnWindow(redis, TEST_KEYRING, rate=0.0, clock=FakeClock())
    assert all(await takes(limit, 50))
    assert await redis.keys("*") == [], "nothing counted"


async def test_while_redis_is_away_each_process_falls_back_to_its_own_bucket(
    redis_server: PrivateRedis, redis: Redis
) -> None:
    clock = FakeClock()
    health = RedisHealth(retry_seconds=5.0, clock=lambda: clock().timestamp())
    limit = create_turn_limit(redis, TEST_KEYRING, 1.0, clock, health)
    assert isinstance(limit, SharedTurnLimit)
    other_worker = RedisTurnWindow(redis, TEST_KEYRING, rate=1.0, clock=clock)
    assert await other_worker.take() and await other_worker.take(), "the other worker used the shared 2"
    assert not await limit.take(), "shared: this worker has none left"

    redis_server.stop()
    assert await takes(limit, 3) == [True, True, False], "its own bucket of 2 (burst), Redis not asked each time"
    assert health.degraded

    await redis_server.start()  # empty, as a restarted Redis without persistence is
    clock.advance(seconds=5)  # the next try at Redis is due
    assert await takes(limit, 3) == [True, True, False], "shared again: a fresh window in the new Redis"
    assert not health.degraded
    assert await redis.keys("*") != []


async def test_without_redis_the_limit_is_this_process_own() -> None:
    assert isinstance(create_turn_limit(None, TEST_KEYRING, 1.0, FakeClock(), RedisHealth()), GlobalRateLimit)
