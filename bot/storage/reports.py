"""The raw material of the console's report numbers: per question and per case, never any text.

Aggregated and small cells hidden in bot/console/reports.py; nothing here leaves the server as is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import as_utc
from bot.storage.handoff_tables import CaseRow
from bot.storage.tables import ContactRow, MessageRow


@dataclass(frozen=True, slots=True)
class QuestionFact:
    at: dt.datetime
    intent: str | None
    language: str | None
    channel: str
    confidence: float | None


@dataclass(frozen=True, slots=True)
class CaseFact:
    created_at: dt.datetime
    assigned_at: dt.datetime | None
    closed_at: dt.datetime | None
    rating: int | None


class SqlReportSource:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def questions(self, since: dt.datetime) -> list[QuestionFact]:
        query = (
            select(
                MessageRow.created_at, MessageRow.intent, MessageRow.language, ContactRow.channel, MessageRow.confidence
            )
            .join(ContactRow, ContactRow.id == MessageRow.contact_id)
            .where(MessageRow.direction == "in", MessageRow.created_at >= since)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [
            QuestionFact(as_utc(at), intent, language, channel, confidence)
            for at, intent, language, channel, confidence in rows
        ]

    async def cases(self, since: dt.datetime) -> list[CaseFact]:
        query = select(CaseRow.created_at, CaseRow.assigned_at, CaseRow.closed_at, CaseRow.rating).where(
            CaseRow.created_at >= since
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [CaseFact(as_utc(a), as_utc(b), as_utc(c), rating) for a, b, c, rating in rows]
