"""Renew a claim or a lock while a piece of work outlasts a share of its expiry, with no task for work that does not.

Almost every turn ends long before its first renewal is due: a timer (`loop.call_later`) costs it nothing but a
heap entry, where a renewing task per turn cost a task's creation, two context switches and its cancellation. A
task is started only when a renewal is due, and is awaited when the work ends, so no renewal outlives its work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Renewal:
    """Await `renew()` every `interval` seconds from now until `stop()`; `renew` returns False to end the renewals."""

    def __init__(self, renew: Callable[[], Awaitable[bool]], interval: float) -> None:
        self._renew = renew
        self._interval = interval
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = self._loop.call_later(interval, self._due)
        self._task: asyncio.Task[None] | None = None

    def _due(self) -> None:
        self._timer = None
        self._task = self._loop.create_task(self._run())

    async def _run(self) -> None:
        try:
            keep = await self._renew()
        except Exception as error:  # a renewal that fails is tried again at the next interval
            log.warning("A renewal failed (%s); trying again in %.1f s", type(error).__name__, self._interval)
            keep = True
        self._task = None
        if keep:
            self._timer = self._loop.call_later(self._interval, self._due)

    async def stop(self) -> None:
        """No renewal after this returns (one under way is cancelled and awaited)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
