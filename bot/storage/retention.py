"""Personal data past its retention period is deleted at start and every hour while Pana runs.

One period for what people wrote and who they are (PANA_MESSAGE_RETENTION_DAYS), and one for the lawyers'
audit trail (PANA_AUDIT_RETENTION_DAYS); each purge says which applies when it registers.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from bot.periodic import Lease, Periodic

log = logging.getLogger(__name__)

Purge = Callable[[dt.datetime], Awaitable[int]]  # deletes what is older than the cutoff; how many rows
SWEEP_SECONDS = 3600


class Retention:
    def __init__(self, keep: dt.timedelta, clock: Callable[[], dt.datetime], lease: Lease | None = None) -> None:
        self._keep = keep
        self._clock = clock
        self._purges: list[tuple[str, Purge, dt.timedelta]] = []
        self._loop = Periodic("retention sweep", self.run_once, SWEEP_SECONDS, lease)

    def register(self, what: str, purge: Purge, *, keep: dt.timedelta | None = None) -> None:
        """Each store that keeps personal data registers how to delete what is too old (in this order)."""
        self._purges.append((what, purge, keep or self._keep))

    async def run_once(self) -> None:
        now = self._clock()
        for what, purge, keep in self._purges:
            if count := await purge(now - keep):
                log.info("Retention: %d %s past the retention period", count, what)

    def start(self) -> None:
        """Purge now, then every hour, until stopped."""
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
