"""Personal data past PANA_MESSAGE_RETENTION_DAYS is deleted at start and every hour while Pana runs."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from bot.periodic import Periodic

log = logging.getLogger(__name__)

Purge = Callable[[dt.datetime], Awaitable[int]]  # deletes what is older than the cutoff; how many rows
SWEEP_SECONDS = 3600


class Retention:
    def __init__(self, keep: dt.timedelta, clock: Callable[[], dt.datetime]) -> None:
        self._keep = keep
        self._clock = clock
        self._purges: list[tuple[str, Purge]] = []
        self._loop = Periodic("retention sweep", self.run_once, SWEEP_SECONDS)

    def register(self, what: str, purge: Purge) -> None:
        """Each store that keeps personal data registers how to delete what is too old."""
        self._purges.append((what, purge))

    async def run_once(self) -> None:
        cutoff = self._clock() - self._keep
        for what, purge in self._purges:
            if count := await purge(cutoff):
                log.info("Retention: %d %s past the retention period", count, what)

    def start(self) -> None:
        """Purge now, then every hour, until stopped."""
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
