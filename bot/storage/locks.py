"""What several workers share through Redis: per-person locks and the leases of the periodic sweeps.

Both only order or save work; neither is what makes a step safe. So when Redis does not answer, a turn
goes ahead unlocked and a sweep runs anyway (each of its steps claims rows with a conditional UPDATE).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import LockError, RedisError

from bot.errors import PersonBusy
from bot.storage.state import RedisHealth

log = logging.getLogger(__name__)

# A worker killed while holding a person's lock must not hold them for long; a turn takes far less.
LOCK_SECONDS = 10.0
# How long a message waits for the same person's previous one before it fails with a 503 (the platform
# delivers it again): PANA_PERSON_WAIT_SECONDS, under Twilio's 15 s webhook timeout (bot/settings.py).
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.005

__all__ = ["PersonBusy", "RedisLease", "RedisPersonLocks"]


class RedisPersonLocks:
    """A person's lock shared by every worker: keyed by a keyed hash of the person's address (`blind`), so no
    phone number or chat id, nor a hash one could reverse by trying every number, becomes a Redis key.

    While `health` says Redis is away, the turn goes ahead without it (no wait for a timeout per turn); the
    in-process layer in front (`LayeredLocks`) still keeps a worker's own turns of a person in order.
    """

    def __init__(
        self,
        redis: Redis,
        blind: Callable[[str], str],
        health: RedisHealth,
        *,
        prefix: str = "pana:person:",
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        self._redis = redis
        self._blind = blind
        self._health = health
        self._prefix = prefix
        self._wait = wait_seconds

    @asynccontextmanager
    async def hold(self, key: str, wait_seconds: float | None = None) -> AsyncIterator[None]:
        if not self._health.worth_trying():
            yield
            return
        wait = self._wait if wait_seconds is None else wait_seconds  # 0: one try
        lock = self._redis.lock(
            self._prefix + self._blind(key), timeout=LOCK_SECONDS, sleep=POLL_SECONDS, blocking_timeout=wait
        )
        try:
            acquired = await lock.acquire()
        except RedisError as error:
            self._health.failed(error)  # warns once; later turns skip Redis until a retry is due
            yield
            return
        self._health.succeeded()
        if not acquired:
            raise PersonBusy("the person's previous message is still being handled")
        try:
            yield
        finally:
            try:
                await lock.release()
            except (LockError, RedisError):  # expired meanwhile, or Redis went away: it expires on its own
                log.warning("A person's lock could not be released; it expires in %.0f s", LOCK_SECONDS)


class RedisLease:
    """`acquire(name, seconds)`: True for one caller per `seconds` among every worker sharing this Redis."""

    def __init__(self, redis: Redis, *, prefix: str = "pana:lease:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._holder = secrets.token_hex(8)

    async def acquire(self, name: str, seconds: float) -> bool:
        try:
            taken = await self._redis.set(self._prefix + name, self._holder, nx=True, px=max(int(seconds * 1000), 1))
        except RedisError:
            log.warning("Redis unavailable for the %s lease; running it here too", name)
            return True
        return bool(taken)
