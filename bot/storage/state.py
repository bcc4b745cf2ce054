"""StateStore implementations: in-process (embedded default) and Redis (REDIS_URL)."""

from __future__ import annotations

import json
import time
from typing import Any, Literal

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
    """State shared by every Pana process through Redis, as JSON with a TTL."""

    def __init__(self, redis: Redis, *, prefix: str = "pana:state:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def get(self, key: str) -> dict[str, Any] | None:
        raw = await self._redis.get(self._prefix + key)
        return json.loads(raw) if raw else None

    async def set(self, key: str, value: dict[str, Any], ttl_seconds: int) -> None:
        await self._redis.set(self._prefix + key, json.dumps(value), ex=ttl_seconds)

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

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
        return f"{self._prefix}claim:{key}"
