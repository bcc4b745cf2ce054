"""The queue and outbox figures /metrics reports: counts only, one short read, nothing personal."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock, as_utc
from bot.records.cases import CaseStatus, RelayStatus
from bot.storage.handoff_tables import CaseRow, RelayRow


class SqlQueueFigures:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def __call__(self) -> dict[str, float]:
        async with self._sessions() as session:
            waiting, oldest = (
                await session.execute(
                    select(func.count(CaseRow.id), func.min(CaseRow.created_at)).where(
                        CaseRow.status == CaseStatus.WAITING.value
                    )
                )
            ).one()
            relays: dict[str, int] = dict(
                (
                    await session.execute(
                        select(RelayRow.status, func.count(RelayRow.id))
                        .where(RelayRow.status.in_((RelayStatus.PENDING.value, RelayStatus.FAILED.value)))
                        .group_by(RelayRow.status)
                    )
                )
                .tuples()
                .all()
            )
        waited = (self._clock() - as_utc(oldest)).total_seconds() if oldest is not None else 0.0
        return {
            "cases_waiting": float(waiting),
            "oldest_wait_seconds": max(waited, 0.0),
            "relays_pending": float(relays.get(RelayStatus.PENDING.value, 0)),
            "relays_failed": float(relays.get(RelayStatus.FAILED.value, 0)),
        }
