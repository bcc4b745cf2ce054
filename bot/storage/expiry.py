"""What the retention sweep removes from the record beyond message texts (see bot/storage/retention.py).

- a contact silent past the period, with no open case: deleted with everything that hangs on them;
- a closed case past the period: detached from the person (no contact, topic, city, summary, outcome, relays,
  notes), kept only as an anonymous count (language, urgency, dates, lawyer, rating);
- a conversation whose last message is past the period (its messages are gone already);
- audit entries past their own period (PANA_AUDIT_RETENTION_DAYS).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.records.cases import CaseStatus
from bot.storage.handoff_tables import AuditRow, CaseNoteRow, CaseRow, LawyerMessageRow, RelayRow
from bot.storage.tables import ContactRow, ConversationRow, MessageRow, WhatsAppDeliveryRow, WhatsAppWindowRow

CLOSED = CaseStatus.CLOSED.value
BATCH = 500  # ids per statement: well under every database's bound-parameter limit


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class SqlExpiry:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def detach_closed_cases(self, cutoff: dt.datetime) -> int:
        """Closed before the cutoff and still tied to someone or something they said: detach; how many."""
        async with self._sessions() as session:
            query = select(CaseRow.id).where(
                CaseRow.status == CLOSED,
                CaseRow.closed_at < cutoff,
                or_(
                    CaseRow.contact_id.is_not(None),
                    CaseRow.topic.is_not(None),
                    CaseRow.outcome.is_not(None),
                    CaseRow.city.is_not(None),
                    CaseRow.summary != "",
                ),
            )
            ids = list((await session.execute(query)).scalars())
            await _detach(session, ids)
            await session.commit()
            return len(ids)

    async def forget_inactive_contacts(self, cutoff: dt.datetime) -> int:
        """Delete contacts silent since before the cutoff who have no open case; how many."""
        open_case = exists().where(CaseRow.contact_id == ContactRow.id, CaseRow.status != CLOSED)
        async with self._sessions() as session:
            query = select(ContactRow.id).where(ContactRow.last_seen_at < cutoff, ~open_case)
            contacts = list((await session.execute(query)).scalars())
            for start in range(0, len(contacts), BATCH):
                chunk = contacts[start : start + BATCH]
                # Their closed cases (even one closed yesterday) lose the link before the person goes.
                cases = select(CaseRow.id).where(CaseRow.contact_id.in_(chunk))
                await _detach(session, list((await session.execute(cases)).scalars()))
                # Explicit deletes, whatever the database's cascade support.
                for table in (MessageRow, ConversationRow, WhatsAppWindowRow, WhatsAppDeliveryRow):
                    await session.execute(delete(table).where(table.contact_id.in_(chunk)))
                await session.execute(delete(ContactRow).where(ContactRow.id.in_(chunk)))
            await session.commit()
            return len(contacts)

    async def delete_idle_conversations(self, cutoff: dt.datetime) -> int:
        """A conversation's start and end times are personal data too, once its messages are gone."""
        async with self._sessions() as session:
            await session.execute(
                delete(MessageRow).where(
                    MessageRow.conversation_id.in_(
                        select(ConversationRow.id).where(ConversationRow.last_message_at < cutoff)
                    )
                )
            )
            result = await session.execute(delete(ConversationRow).where(ConversationRow.last_message_at < cutoff))
            await session.commit()
            return _rowcount(result)

    async def purge_audit(self, cutoff: dt.datetime) -> int:
        async with self._sessions() as session:
            result = await session.execute(delete(AuditRow).where(AuditRow.at < cutoff))
            await session.commit()
            return _rowcount(result)


async def _detach(session: AsyncSession, case_ids: Sequence[int]) -> None:
    """Keep a case only as a count: no person, no topic, no words of anyone."""
    for start in range(0, len(case_ids), BATCH):
        chunk = case_ids[start : start + BATCH]
        for table in (RelayRow, CaseNoteRow, LawyerMessageRow):
            await session.execute(delete(table).where(table.case_id.in_(chunk)))
        await session.execute(
            update(CaseRow)
            .where(CaseRow.id.in_(chunk))
            .values(contact_id=None, topic=None, summary="", outcome=None, city=None)
        )
