"""Relayed messages and their delivery state; which lawyer-chat message belongs to which case.

A relay is written before it is sent and is claimed for each attempt with a conditional UPDATE (a
lease), so after a crash or a restart it is sent again, and two processes never send it at once.

Each attempt's end (sent, retried later, given up) is counted too. Telegram has no idempotency key: a sender
killed between the Bot API's answer and the "sent" mark leaves an attempt begun and never ended, and the next
claim after its lease sends the relay again, so its recipient may get it twice. That claim says so in the log,
and the record keeps the count (`attempts - attempts_ended`): at least once, never lost, and a duplicate only
where an attempt was cut off.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.records.cases import DeliveryState, Direction, RelayKind, RelayRecord, RelayStatus
from bot.storage.handoff_tables import CaseRow, LawyerMessageRow, RelayRow
from bot.storage.tables import ContactRow

log = logging.getLogger(__name__)

# Longer than the worst-case send: the Bot API client tries 6 times, each up to its 60 s request timeout,
# with up to 30 s between tries (8.5 min; tests/handoff/test_leases.py holds them together). A crashed
# sender's claim expires after it; a live one never loses it mid-send, so a live sender never sends twice.
LEASE = dt.timedelta(minutes=15)


def _record(row: RelayRow) -> RelayRecord:
    return RelayRecord(
        id=row.id,
        case_id=row.case_id,
        direction=Direction(row.direction),
        kind=RelayKind(row.kind),
        text=row.text,
        lawyer_id=row.lawyer_id,
        status=RelayStatus(row.status),
        attempts=row.attempts,
        delivery=DeliveryState(row.delivery) if row.delivery else None,
        error_code=row.error_code,
    )


class SqlRelayStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, lease: dt.timedelta = LEASE) -> None:
        self._sessions = sessions
        self._lease = lease

    async def add(
        self,
        case_id: int,
        direction: Direction,
        kind: RelayKind,
        text: str,
        now: dt.datetime,
        *,
        lawyer_id: int | None = None,
        source_message_id: int | None = None,
    ) -> RelayRecord:
        async with self._sessions() as session:
            row = RelayRow(
                case_id=case_id,
                direction=direction.value,
                kind=kind.value,
                text=text,
                lawyer_id=lawyer_id,
                status=RelayStatus.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                source_message_id=source_message_id,
            )
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:  # the message was decided before a crash: its relay is stored already
                await session.rollback()
                query = select(RelayRow).where(RelayRow.source_message_id == source_message_id)
                earlier = (await session.execute(query)).scalar_one_or_none()
                if earlier is None:  # not our key that clashed
                    raise
                return _record(earlier)
            return _record(row)

    async def claim(self, relay_id: int, now: dt.datetime) -> RelayRecord | None:
        """Take the relay for one delivery attempt; None when it is sent, failed or being sent elsewhere."""
        async with self._sessions() as session:
            result = await session.execute(
                update(RelayRow)
                .where(
                    RelayRow.id == relay_id,
                    RelayRow.status == RelayStatus.PENDING.value,
                    RelayRow.next_attempt_at <= now,
                )
                .values(next_attempt_at=now + self._lease, attempts=RelayRow.attempts + 1)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                await session.rollback()
                return None
            await session.commit()
            row = await session.get(RelayRow, relay_id)
            if row is None:
                return None
            if row.attempts - 1 > row.attempts_ended:
                log.warning(
                    "Relay %d: an earlier attempt was cut off before its outcome was written (its process "
                    "stopped); sending it again, its recipient may get it twice",
                    relay_id,
                )
            return _record(row)

    async def due(
        self, now: dt.datetime, *, user_channels: Collection[str], to_lawyers: bool, limit: int = 100
    ) -> list[RelayRecord]:
        """Pending relays due now that this process can deliver, oldest first (a conversation keeps its order).

        Filtered here, not after: relays only another process can reach must not fill the batch and starve
        the ones this process can send.
        """
        reachable = and_(RelayRow.direction == Direction.TO_USER.value, ContactRow.channel.in_(list(user_channels)))
        if to_lawyers:
            reachable = or_(reachable, RelayRow.direction == Direction.TO_LAWYER.value)
        query = (
            select(RelayRow)
            .join(CaseRow, CaseRow.id == RelayRow.case_id)
            .join(ContactRow, ContactRow.id == CaseRow.contact_id)
            .where(RelayRow.status == RelayStatus.PENDING.value, RelayRow.next_attempt_at <= now, reachable)
            .order_by(RelayRow.id)
            .limit(limit)
        )
        async with self._sessions() as session:
            return [_record(row) for row in (await session.execute(query)).scalars().all()]

    async def _end_attempt(self, relay_id: int, **values: object) -> None:
        """Write an attempt's outcome; the attempt counts as ended."""
        async with self._sessions() as session:
            await session.execute(
                update(RelayRow)
                .where(RelayRow.id == relay_id)
                .values(attempts_ended=RelayRow.attempts_ended + 1, **values)
            )
            await session.commit()

    async def sent(self, relay_id: int, now: dt.datetime) -> None:
        # A channel with receipts (WhatsApp) set its own state while taking it; the others end at "sent".
        delivery = func.coalesce(RelayRow.delivery, DeliveryState.SENT.value)
        await self._end_attempt(relay_id, status=RelayStatus.SENT.value, sent_at=now, delivery=delivery)

    async def retry_at(self, relay_id: int, moment: dt.datetime) -> None:
        await self._end_attempt(relay_id, next_attempt_at=moment)

    async def failed(self, relay_id: int) -> None:
        await self._end_attempt(relay_id, status=RelayStatus.FAILED.value, delivery=DeliveryState.FAILED.value)

    async def map_message(self, case_id: int, chat_id: int, message_id: str, now: dt.datetime) -> None:
        """Remember that a message in a lawyer's chat belongs to a case, so a reply to it reaches the user."""
        async with self._sessions() as session:
            session.add(LawyerMessageRow(case_id=case_id, chat_id=chat_id, message_id=message_id, created_at=now))
            try:
                await session.commit()
            except IntegrityError:  # already mapped (a redelivered update)
                await session.rollback()

    async def case_of_message(self, chat_id: int, message_id: str) -> int | None:
        query = select(LawyerMessageRow.case_id).where(
            LawyerMessageRow.chat_id == chat_id, LawyerMessageRow.message_id == message_id
        )
        async with self._sessions() as session:
            return (await session.execute(query)).scalar()
