"""The one backoff: doubling from the base, capped, and with jitter never above the plain delay."""

from __future__ import annotations

import pytest

from bot.backoff import Backoff
from bot.handoff.outbox import backoff

pytestmark = pytest.mark.fast


def test_delays_double_and_stop_at_the_cap() -> None:
    steps = Backoff(0.5, 30.0)
    assert [steps.delay(n) for n in (1, 2, 3, 8, 20)] == [0.5, 1.0, 2.0, 30.0, 30.0]


def test_jitter_stays_between_half_and_the_whole_delay() -> None:
    steps = Backoff(1.0, 60.0, jitter=True)
    assert all(2.0 <= steps.delay(3) <= 4.0 for _ in range(200))


def test_relays_wait_thirty_seconds_first_and_an_hour_at_most() -> None:
    assert backoff(1).total_seconds() == 30 and backoff(0).total_seconds() == 30
    assert backoff(12).total_seconds() == 3600
