"""StateStore implementations: in-process (embedded default) and Redis (REDIS_URL)."""

from __future__ import annotations

import time
from typing import Any

import orjson
from redis.asyncio import Redis


class MemoryStateStore:
    """Per-process state with expiry; lost on restart, which is acceptable for what it holds."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[float, dict[str, Any]]] = {}

    async def get(self, key: str) -> dict[str, Any] | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if expires < time.monotonic():
            del self._items[key]
            return None
        return dict(value)

    async def set(self, key: str, value: dict[str, Any], ttl_seconds: int) -> None:
        self._items[key] = (time.monotonic() + ttl_seconds, dict(value))

    async def delete(self, key: str) -> None:
        self._items.pop(key, None)

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        """Mark a key as taken; False if it already was (a duplicate)."""
        if await self.get(key) is not None:
            return False
        await self.set(key, {}, ttl_seconds)
        return True

    async def release(self, key: str) -> None:
        await self.delete(key)


class RedisStateStore:
    """State shared by every Pana process through Redis, as JSON with a TTL."""

    def __init__(self, redis: Redis, *, prefix: str = "pana:state:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def get(self, key: str) -> dict[str, Any] | None:
        raw = await self._redis.get(self._prefix + key)
        return orjson.loads(raw) if raw else None

    async def set(self, key: str, value: dict[str, Any], ttl_seconds: int) -> None:
        await self._redis.set(self._prefix + key, orjson.dumps(value), ex=ttl_seconds)

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        """Mark a key as taken, atomically across processes; False if it already was (a duplicate)."""
        return bool(await self._redis.set(self._prefix + key, "1", nx=True, ex=ttl_seconds))

    async def release(self, key: str) -> None:
        await self.delete(key)
