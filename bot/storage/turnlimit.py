"""The global limit on free-text turns, shared by every `pana serve` worker through Redis.

A sliding window counter in Redis (one key per window, named by a keyed hash like every other Redis key):
a turn is allowed while the turns of the current window, plus the previous window's weighted by how much
of it still overlaps the last `window` seconds, stay under `rate × window`. One Lua script checks and
counts, so two workers never both take the last place. Moments come from the app's clock (workers of one
deployment share a time source), which keeps the window testable.

While Redis does not answer, each process falls back to its own token bucket at the same rate (then the
limit is per process again, as it was before) and says so once through the shared `RedisHealth`.
"""

from __future__ import annotations

import logging
import math

from redis.asyncio import Redis

from bot.clock import Clock
from bot.core.ratelimit import GlobalRateLimit, TurnLimit
from bot.keys import Keyring
from bot.storage.state import REDIS_DOWN, RedisHealth

log = logging.getLogger(__name__)

WINDOW_SECONDS = 2.0  # as long as the in-process bucket's burst (two seconds' worth of turns)

# KEYS[1]: the blinded name; ARGV: limit, window in ms, now in ms. Returns 1 when the turn may go ahead.
# A window's key outlives its use by a minute: room for workers whose clocks differ a little.
_SLIDING_WINDOW = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local slot = math.floor(now / window)
local current_key = KEYS[1] .. ':' .. slot
local previous = tonumber(redis.call('GET', KEYS[1] .. ':' .. (slot - 1)) or '0')
local current = tonumber(redis.call('GET', current_key) or '0')
local overlap = 1 - (now - slot * window) / window
if previous * overlap + current + 1 > limit then
  return 0
end
redis.call('INCR', current_key)
redis.call('PEXPIRE', current_key, 2 * window + 60000)
return 1
"""


class RedisTurnWindow:
    """`rate` turns a second across every process using this Redis (0 switches the limit off)."""

    def __init__(
        self,
        redis: Redis,
        keyring: Keyring,
        *,
        rate: float,
        clock: Clock,
        window_seconds: float = WINDOW_SECONDS,
        name: str = "global-turns",
    ) -> None:
        self._redis = redis
        self._rate = rate
        self._clock = clock
        self._window_ms = max(1, round(window_seconds * 1000))
        self._limit = max(1.0, rate * window_seconds)
        self._key = "pana:limit:" + keyring.blind(name)
        self._script = redis.register_script(_SLIDING_WINDOW)

    async def take(self) -> bool:
        if self._rate <= 0:
            return True
        now_ms = math.floor(self._clock().timestamp() * 1000)
        allowed = await self._script(keys=[self._key], args=[self._limit, self._window_ms, now_ms])
        return bool(allowed)


class SharedTurnLimit:
    """The Redis window while Redis answers; this process's own bucket while it does not."""

    def __init__(self, shared: RedisTurnWindow, local: GlobalRateLimit, health: RedisHealth) -> None:
        self._shared = shared
        self._local = local
        self.health = health

    async def take(self) -> bool:
        if self.health.worth_trying():
            try:
                allowed = await self._shared.take()
            except REDIS_DOWN as error:
                self.health.failed(error)
            else:
                self.health.succeeded()
                return allowed
        return await self._local.take()


def create_turn_limit(
    redis: Redis | None, keyring: Keyring, rate: float, clock: Clock, health: RedisHealth
) -> TurnLimit:
    """In-process without Redis; with it, shared by every worker, in-process while Redis is away."""
    local = GlobalRateLimit(rate, max(1.0, 2 * rate), clock)
    if redis is None:
        return local
    return SharedTurnLimit(RedisTurnWindow(redis, keyring, rate=rate, clock=clock), local, health)
