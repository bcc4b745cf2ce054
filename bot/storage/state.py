"""StateStore implementations: in-process (embedded default), Redis (REDIS_URL), and Redis with a fallback.

When Redis stops answering, `FallbackStateStore` carries on with the in-process store (one warning, a
health flag), and tries Redis again every few seconds: state, claims and the flood counts stay
per-process meanwhile, which is worse for several processes but far better than failing every message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal, TypeVar

import orjson
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.keys import Keyring

log = logging.getLogger(__name__)

T = TypeVar("T")
# What Redis being away looks like; any other Redis error is a bug and is raised.
REDIS_DOWN: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)
# A turn's dialogue state read ahead in the script that takes the person's lock (bot/channels/telegram/gate.py):
# the turn's first `get` of that key answers from here instead of making a round trip of its own.
_READ_AHEAD: ContextVar[dict[str, bytes | None] | None] = ContextVar("pana_state_read_ahead", default=None)
MAX_ITEMS = 100_000  # in-process keys kept at most; the ones set longest ago go first
SWEEP_EVERY = 1_000  # writes between two sweeps of the expired keys


class MemoryStateStore:
    """Per-process state with expiry and a bounded size; lost on restart, acceptable for what it holds."""

    def __init__(self, *, max_items: int = MAX_ITEMS, clock: Callable[[], float] = time.monotonic) -> None:
        self._items: dict[str, tuple[float, dict[str, Any]]] = {}  # in the order they were last set
        self._max_items = max_items
        self._clock = clock
        self._writes = 0

    def __len__(self) -> int:
        return len(self._items)

    async def get(self, key: str) -> dict[str, Any] | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if expires < self._clock():
            del self._items[key]
            return None
        return dict(value)

    async def set(self, key: str, value: dict[str, Any], ttl_seconds: int) -> None:
        self._items.pop(key, None)  # re-inserted last: the eviction order is the order of writes
        self._items[key] = (self._clock() + ttl_seconds, dict(value))
        self._writes += 1
        if self._writes % SWEEP_EVERY == 0 or len(self._items) > self._max_items:
            self._evict()

    def _evict(self) -> None:
        """Drop what expired; if still too many, the keys written longest ago."""
        now = self._clock()
        for key in [key for key, (expires, _) in self._items.items() if expires < now]:
            del self._items[key]
        while len(self._items) > self._max_items:
            del self._items[next(iter(self._items))]

    async def delete(self, key: str) -> None:
        self._items.pop(key, None)

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        """Mark a key busy; False if it was claimed already (a duplicate)."""
        if await self.get(key) is not None:
            return False
        await self.set(key, {"claim": "busy"}, ttl_seconds)
        return True

    async def claim_state(self, key: str) -> Literal["busy", "done"] | None:
        value = await self.get(key)
        return None if value is None else ("done" if value.get("claim") == "done" else "busy")

    async def renew(self, key: str, ttl_seconds: int) -> None:
        if await self.claim_state(key) == "busy":
            await self.set(key, {"claim": "busy"}, ttl_seconds)

    async def finish(self, key: str, ttl_seconds: int) -> None:
        await self.set(key, {"claim": "done"}, ttl_seconds)

    async def release(self, key: str) -> None:
        await self.delete(key)


class RedisStateStore:
    """State shared by every Pana process through Redis, as JSON with a TTL.

    Keys are built from chat ids and phone numbers ("whatsapp:+7701…"): Redis only ever sees their keyed hash.
    """

    def __init__(self, redis: Redis, keyring: Keyring, *, prefix: str = "pana:state:") -> None:
        self._redis = redis
        self._keyring = keyring
        self._prefix = prefix

    def _key(self, key: str) -> str:
        return self._prefix + self._keyring.blind(key)

    state_key = _key  # for a script that reads a state with something else in one round trip

    async def get(self, key: str) -> dict[str, Any] | None:
        raw = await self._redis.get(self._key(key))
        return orjson.loads(raw) if raw else None

    async def set(self, key: str, value: dict[str, Any], ttl_seconds: int) -> None:
        await self._redis.set(self._key(key), orjson.dumps(value), ex=ttl_seconds)

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._key(key))

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        """Mark a key busy, atomically across processes; False if it was claimed already (a duplicate)."""
        return bool(await self._redis.set(self._claim_key(key), "busy", nx=True, ex=ttl_seconds))

    async def claim_state(self, key: str) -> Literal["busy", "done"] | None:
        raw = await self._redis.get(self._claim_key(key))
        return None if raw is None else ("done" if raw == b"done" else "busy")

    async def renew(self, key: str, ttl_seconds: int) -> None:
        await self._redis.set(self._claim_key(key), "busy", xx=True, ex=ttl_seconds)

    async def finish(self, key: str, ttl_seconds: int) -> None:
        await self._redis.set(self._claim_key(key), "done", ex=ttl_seconds)

    async def release(self, key: str) -> None:
        await self._redis.delete(self._claim_key(key))

    def _claim_key(self, key: str) -> str:
        return f"{self._prefix}claim:{self._keyring.blind(key)}"

    claim_key = _claim_key  # for a script that takes a claim with something else in one round trip


def _forget_read_ahead(key: str) -> None:
    ahead = _READ_AHEAD.get()
    if ahead is not None:
        ahead.pop(key, None)


class RedisHealth:
    """Whether Redis answers: one warning when it stops, one line when it is back, a retry every few seconds."""

    def __init__(self, retry_seconds: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._retry_seconds = retry_seconds
        self._clock = clock
        self._down_since: float | None = None
        self._last_try = 0.0

    @property
    def degraded(self) -> bool:
        return self._down_since is not None

    def worth_trying(self) -> bool:
        """Up, or down long enough since the last try that another one is due."""
        return self._down_since is None or self._clock() - self._last_try >= self._retry_seconds

    def failed(self, error: BaseException) -> None:
        self._last_try = self._clock()
        if self._down_since is None:
            self._down_since = self._last_try
            log.warning("Redis is unreachable (%s); in-process stores stand in until it answers", type(error).__name__)

    def succeeded(self) -> None:
        if self._down_since is not None:
            log.warning("Redis answers again after %.0f s; back to the shared stores", self._clock() - self._down_since)
            self._down_since = None


class FallbackStateStore:
    """Redis while it answers, the in-process store while it does not."""

    def __init__(self, primary: RedisStateStore, fallback: MemoryStateStore, health: RedisHealth) -> None:
        self._primary = primary
        self._fallback = fallback
        self.health = health

    async def _use(self, call: Callable[[RedisStateStore | MemoryStateStore], Awaitable[T]]) -> T:
        if self.health.worth_trying():
            try:
                result = await call(self._primary)
            except REDIS_DOWN as error:
                self.health.failed(error)
            else:
                self.health.succeeded()
                return result
        return await call(self._fallback)

    async def get(self, key: str) -> dict[str, Any] | None:
        ahead = _READ_AHEAD.get()
        if ahead is not None and key in ahead:  # once: a later read sees what the turn wrote since
            raw = ahead.pop(key)
            return orjson.loads(raw) if raw else None
        return await self._use(lambda store: store.get(key))

    async def set(self, key: str, value: dict[str, Any], ttl_seconds: int) -> None:
        _forget_read_ahead(key)
        await self._use(lambda store: store.set(key, value, ttl_seconds))

    async def delete(self, key: str) -> None:
        _forget_read_ahead(key)
        await self._use(lambda store: store.delete(key))

    def shared_state_key(self, key: str) -> str:
        """The Redis key of the state `key` (a keyed hash): where a script reads it ahead."""
        return self._primary.state_key(key)

    @contextmanager
    def read_ahead(self, key: str, raw: bytes | None) -> Iterator[None]:
        """Within the block (one turn, its person's lock held), the first `get(key)` answers `raw`: the value
        at `shared_state_key(key)` that the caller read from Redis, None when there was none."""
        ahead = {key: raw}
        token = _READ_AHEAD.set(ahead)
        try:
            yield
        finally:
            ahead.clear()  # a task started in the block shares this dict: it must not read the copy later
            _READ_AHEAD.reset(token)

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        return await self._use(lambda store: store.claim(key, ttl_seconds))

    def shared_claim_key(self, key: str) -> str:
        """The Redis key of the claim on `key` (a keyed hash): where a script finds the claims made here."""
        return self._primary.claim_key(key)

    async def release(self, key: str) -> None:
        await self._use(lambda store: store.release(key))

    async def claim_state(self, key: str) -> Literal["busy", "done"] | None:
        return await self._use(lambda store: store.claim_state(key))

    async def renew(self, key: str, ttl_seconds: int) -> None:
        await self._use(lambda store: store.renew(key, ttl_seconds))

    async def finish(self, key: str, ttl_seconds: int) -> None:
        await self._use(lambda store: store.finish(key, ttl_seconds))
