"""The global limit on free-text turns: beyond it people are asked to come back, and Rasa is not called.

`TurnLimit` is what the core asks. `GlobalRateLimit` is a token bucket in this process: `rate` turns a
second on average, bursts up to `burst`. With Redis, `bot/storage/turnlimit.py` shares one limit across
every worker. Menus, buttons and messages for a lawyer never count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from bot.clock import Clock


class TurnLimit(Protocol):
    async def take(self) -> bool:
        """Count one free-text turn; False when everyone together is over the limit right now."""
        ...


@dataclass(slots=True)
class GlobalRateLimit:
    rate: float  # turns per second across everyone; 0 switches the limit off
    burst: float
    clock: Clock
    _tokens: float = field(init=False)
    _last: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._tokens = self.burst

    def allow(self) -> bool:
        """Take one turn's token; False when everyone together is over the limit right now."""
        if self.rate <= 0:
            return True
        now = self.clock().timestamp()
        if self._last is not None:
            self._tokens = min(self.burst, self._tokens + max(0.0, now - self._last) * self.rate)
        self._last = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    async def take(self) -> bool:
        return self.allow()
