"""Copies of a deleted person's messages outside Pana, queued for deletion there (`remote_erasures`).

Written by "delete my data" (bot/storage/repository.py) in the same transaction that deletes the person, so a
crash cannot lose them; worked through by the component that can reach the platform. Each entry is a channel
and what that channel needs:

- `whatsapp`: a Twilio message SID (bot/channels/whatsapp/sender.py deletes it through the Messages API);
- `telegram`: `chat id:message id` of a message Pana relayed to a lawyer (deleted with `deleteMessage`);
- `telegram-notice`: `chat id:case id:language` of a lawyer to tell that the person withdrew.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.tables import RemoteErasureRow

MAX_ATTEMPTS = 20  # retried at every sweep; an entry the platform keeps refusing is given up on


class SqlRemoteErasures:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def pending(self, channel: str, limit: int = 100) -> list[tuple[int, str]]:
        """(id, what the channel needs) of entries still to do, oldest first."""
        async with self._sessions() as session:
            query = (
                select(RemoteErasureRow.id, RemoteErasureRow.remote_id)
                .where(RemoteErasureRow.channel == channel)
                .order_by(RemoteErasureRow.id)
                .limit(limit)
            )
            return [(row.id, row.remote_id) for row in (await session.execute(query)).all()]

    async def done(self, erasure_id: int) -> None:
        async with self._sessions() as session:
            await session.execute(delete(RemoteErasureRow).where(RemoteErasureRow.id == erasure_id))
            await session.commit()

    async def failed(self, erasure_id: int) -> bool:
        """Count a failed attempt; True when it was the last one allowed (the entry is then dropped)."""
        async with self._sessions() as session:
            await session.execute(
                update(RemoteErasureRow)
                .where(RemoteErasureRow.id == erasure_id)
                .values(attempts=RemoteErasureRow.attempts + 1)
            )
            result = await session.execute(
                delete(RemoteErasureRow).where(
                    RemoteErasureRow.id == erasure_id, RemoteErasureRow.attempts >= MAX_ATTEMPTS
                )
            )
            await session.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]
