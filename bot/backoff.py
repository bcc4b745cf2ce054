"""One exponential backoff for every retry: Telegram requests, Twilio submissions, stored relays."""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """`base * 2**(attempt-1)` seconds, capped at `longest`; with `jitter`, a random 50–100 % of that."""

    base: float
    longest: float
    jitter: bool = False

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the `attempt`-th failure (1 for the first)."""
        seconds = min(self.longest, self.base * 2 ** max(attempt - 1, 0))
        return seconds * random.uniform(0.5, 1.0) if self.jitter else float(seconds)
