"""One background loop for the sweeps that run while Pana serves (handoff worker, retention).

With several workers, a lease shared through Redis lets one of them run each round: the others skip it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

__all__ = ["Lease", "Periodic"]

log = logging.getLogger(__name__)


class Lease(Protocol):
    async def acquire(self, name: str, seconds: float) -> bool:
        """True for one caller per `seconds` among the workers (always, with one process)."""
        ...


class Periodic:
    """Run `step` now and then every `interval` seconds until stopped; a failing step is logged, not fatal."""

    def __init__(
        self, name: str, step: Callable[[], Awaitable[object]], interval: float, lease: Lease | None = None
    ) -> None:
        self._name = name
        self._lease = lease
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
                if await self.leased():
                    await self._step()
            except Exception:  # the database or an API may be briefly away: the next round tries again
                log.exception("%s failed; trying again in %.0f s", self._name, self._interval)
            await asyncio.sleep(self._interval)

    async def leased(self) -> bool:
        """This process runs the round: no lease to share, or it took the lease for one interval."""
        # A little less than the interval, so the holder's next round is not refused its own lease.
        return self._lease is None or await self._lease.acquire(self._name, self._interval * 0.9)
