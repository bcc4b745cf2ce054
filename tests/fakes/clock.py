"""A Clock (bot/clock.py) that stands still until a test moves it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

WEDNESDAY_NOON = dt.datetime(2026, 11, 25, 7, 0, tzinfo=dt.UTC)  # 12:00 in Almaty


@dataclass
class FakeClock:
    now: dt.datetime = WEDNESDAY_NOON

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)
