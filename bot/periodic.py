"""One background loop for the sweeps that run while Pana serves (handoff worker, retention)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

__all__ = ["Periodic"]

log = logging.getLogger(__name__)


class Periodic:
    """Run `step` now and then every `interval` seconds until stopped; a failing step is logged, not fatal."""

    def __init__(self, name: str, step: Callable[[], Awaitable[object]], interval: float) -> None:
        self._name = name
        self._step = step
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self._step()
            except Exception:  # the database or an API may be briefly away: the next round tries again
                log.exception("%s failed; trying again in %.0f s", self._name, self._interval)
            await asyncio.sleep(self._interval)
