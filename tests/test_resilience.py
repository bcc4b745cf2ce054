"""Resilience building blocks on their own (fast): bounded in-memory state, the Redis fallback's health
flag, the cached health report, the secret header, what counts as a database outage, the relay lease."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.channels.telegram.retry import RetryMiddleware
from bot.channels.telegram.runtime import secret_matches
from bot.settings import DatabaseSettings
from bot.storage import database
from bot.storage.database import create_engine, is_database_outage
from bot.storage.relays import LEASE
from bot.storage.state import FallbackStateStore, MemoryStateStore, RedisHealth, RedisStateStore
from bot.web import CachedHealth
from tests.keys import TEST_KEYRING

pytestmark = pytest.mark.fast


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_in_memory_store_evicts_expired_keys_and_stays_bounded() -> None:
    ticks = Ticks()
    store = MemoryStateStore(max_items=100, clock=ticks)
    for n in range(50):
        await store.set(f"short{n}", {"n": n}, ttl_seconds=10)
    ticks.now += 11
    for n in range(1_000):  # a sweep runs within these writes
        await store.set(f"long{n}", {"n": n}, ttl_seconds=3600)
    assert len(store) == 100, "never more than the bound"
    assert await store.get("short0") is None
    assert await store.get("long999") == {"n": 999}, "the newest stay"
    assert await store.get("long0") is None, "the oldest go first"


async def test_rewriting_a_key_keeps_it_among_the_newest() -> None:
    store = MemoryStateStore(max_items=3, clock=Ticks())
    for key in ("a", "b", "c"):
        await store.set(key, {}, 60)
    await store.set("a", {"again": True}, 60)
    await store.set("d", {}, 60)
    assert await store.get("a") == {"again": True} and await store.get("b") is None


class DeadRedis(RedisStateStore):
    """A Redis client whose server is gone: every call fails as redis-py does when the connection is refused."""

    def __init__(self) -> None:
        self.calls = 0

    async def get(self, key: str) -> None:  # type: ignore[override]
        self.calls += 1
        raise ConnectionRefusedError("refused")


async def test_redis_down_falls_back_with_one_warning_and_retries_every_few_seconds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ticks, dead = Ticks(), DeadRedis()
    fallback = MemoryStateStore()
    await fallback.set("k", {"v": 1}, 60)
    store = FallbackStateStore(dead, fallback, RedisHealth(retry_seconds=5, clock=ticks))
    with caplog.at_level(logging.WARNING, logger="bot.storage.state"):
        assert [await store.get("k") for _ in range(10)] == [{"v": 1}] * 10
    assert store.health.degraded
    assert dead.calls == 1, "Redis is not asked again before the retry interval"
    assert len([r for r in caplog.records if "unreachable" in r.message]) == 1, "one warning, not one per call"
    ticks.now += 5
    await store.get("k")
    assert dead.calls == 2
    store.health.succeeded()
    assert not store.health.degraded


class Source:
    def __init__(self) -> None:
        self.calls = 0
        self.report = {"database": "ok", "redis": "ok", "nlu": "ok"}

    async def health(self) -> dict[str, str]:
        self.calls += 1
        return dict(self.report)


async def test_health_is_cached_and_a_change_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    ticks, source = Ticks(), Source()
    health = CachedHealth(source, ttl_seconds=5, clock=ticks)
    with caplog.at_level(logging.INFO, logger="bot.web"):
        await asyncio.gather(*(health.health() for _ in range(50)))
        assert source.calls == 1, "fifty callers, one check"
        source.report["database"] = "unreachable"
        for _ in range(3):
            ticks.now += 5
            assert (await health.health())["database"] == "unreachable"
    assert source.calls == 4
    lines = [r.message for r in caplog.records]
    assert len(lines) == 2 and "database unreachable" in lines[1], lines


@pytest.mark.parametrize("given", ["", "wrong", "\udcff\udcfe", "\ud800", "test-secret_123\x00", "тест"])
def test_a_wrong_secret_header_of_any_bytes_is_refused_without_raising(given: str) -> None:
    assert not secret_matches(given, "test-secret_123")


def test_the_right_secret_header_is_accepted() -> None:
    assert secret_matches("test-secret_123", "test-secret_123")


def test_what_counts_as_a_database_outage() -> None:
    refused = OperationalError("SELECT 1", {}, ConnectionRefusedError())
    assert is_database_outage(refused)
    assert is_database_outage(ConnectionRefusedError())
    assert is_database_outage(TimeoutError())
    try:
        try:
            raise ConnectionResetError("reset")
        except ConnectionResetError as cause:
            raise RuntimeError("wrapped") from cause
    except RuntimeError as wrapped:
        assert is_database_outage(wrapped)
    assert not is_database_outage(IntegrityError("INSERT", {}, ValueError())), "a constraint is a bug, not an outage"
    assert not is_database_outage(ValueError("bug"))


async def test_sqlite_writers_wait_for_the_lock_and_a_lock_still_held_is_not_an_outage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pana.db'}"
    engine = create_engine(DatabaseSettings(url=url), TEST_KEYRING)
    async with engine.connect() as connection:
        waits = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    await engine.dispose()
    assert waits == database.SQLITE_BUSY_SECONDS * 1000, "a writer waits for the lock, not the driver's 5 s"

    monkeypatch.setattr(database, "SQLITE_BUSY_SECONDS", 0.1)  # the lock outlasts the wait here, in 0.1 s
    engine = create_engine(DatabaseSettings(url=url), TEST_KEYRING)
    holder = sqlite3.connect(tmp_path / "pana.db")
    try:
        holder.execute("CREATE TABLE t (n INTEGER)")
        holder.commit()
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(OperationalError) as locked:
            async with engine.begin() as connection:
                await connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert "locked" in str(locked.value)
        assert not is_database_outage(locked.value), "contention on a reachable file: the turn fails and is retried"
    finally:
        holder.rollback()
        holder.close()
        await engine.dispose()


def test_the_relay_lease_outlasts_the_slowest_send_the_bot_client_can_make() -> None:
    retry = RetryMiddleware()
    request_timeout = 60.0  # aiogram's default per request
    worst = retry._attempts * request_timeout + (retry._attempts - 1) * retry._max_delay
    assert LEASE.total_seconds() > worst
