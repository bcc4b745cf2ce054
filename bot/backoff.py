"""One exponential backoff for every retry: Telegram requests, Twilio submissions, stored relays.

The retry loops themselves are tenacity's (`AsyncRetrying`); `Backoff` is their wait (a tenacity `wait`) and
also the schedule of relays, whose next try is stored rather than slept through.
"""

from __future__ import annotations

import random

from tenacity import RetryCallState
from tenacity.wait import wait_base

__all__ = ["Backoff"]


class Backoff(wait_base):
    """`base * 2**(attempt-1)` seconds, capped at `longest`; with `jitter`, a random 50–100 % of that."""

    def __init__(self, base: float, longest: float, *, jitter: bool = False) -> None:
        self.base = base
        self.longest = longest
        self.jitter = jitter

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the `attempt`-th failure (1 for the first)."""
        seconds = min(self.longest, self.base * 2 ** max(attempt - 1, 0))
        return seconds * random.uniform(0.5, 1.0) if self.jitter else float(seconds)

    def __call__(self, retry_state: RetryCallState) -> float:
        return self.delay(retry_state.attempt_number)
