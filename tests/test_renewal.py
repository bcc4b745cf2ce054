"""A renewal is a timer until it is due: work that ends first starts no task; longer work is renewed on time."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.renewal import Renewal

pytestmark = pytest.mark.fast


async def test_work_that_ends_before_the_first_renewal_starts_no_task() -> None:
    renewed: list[float] = []
    before = len(asyncio.all_tasks())

    async def renew() -> bool:
        renewed.append(asyncio.get_running_loop().time())
        return True

    renewal = Renewal(renew, 60)
    assert len(asyncio.all_tasks()) == before, "a timer, not a task"
    await renewal.stop()
    assert renewed == []


async def test_long_work_is_renewed_every_interval_until_stopped() -> None:
    renewed = asyncio.Event()
    count = 0

    async def renew() -> bool:
        nonlocal count
        count += 1
        if count == 3:
            renewed.set()
        return True

    renewal = Renewal(renew, 0.01)
    await asyncio.wait_for(renewed.wait(), 10)
    await renewal.stop()
    stopped_at = count
    await asyncio.sleep(0.05)
    assert count == stopped_at, "no renewal after stop()"


async def test_a_failing_renewal_is_tried_again_and_false_ends_them() -> None:
    calls = 0
    ended = asyncio.Event()

    async def renew() -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("Redis briefly away")
        ended.set()
        return False

    renewal = Renewal(renew, 0.01)
    await asyncio.wait_for(ended.wait(), 10)
    await asyncio.sleep(0.05)
    assert calls == 2, "tried again after the failure, not after False"
    await renewal.stop()
