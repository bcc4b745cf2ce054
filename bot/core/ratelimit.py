"""The global limit on free-text turns: beyond it people are asked to come back, and Rasa is not called.

A token bucket per process (each `pana serve` process has its own; the limit is per process): `rate`
turns a second on average, bursts up to `burst`. Menus, buttons and messages for a lawyer never count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.clock import Clock


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
