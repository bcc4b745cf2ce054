"""Content sign-offs made on the web console: kept in the database (the web never writes to content/)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import as_utc
from bot.records.console import ContentSignOff
from bot.records.staff import StaffRecord
from bot.storage.handoff_tables import AuditRow
from bot.storage.staff_tables import ContentSignOffRow, StaffRow


class SqlSignOffStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def sign_off(self, topic: str, version: str, by: StaffRecord, now: dt.datetime) -> None:
        """Record who checked which version of the topic, and when, in the table and the audit trail."""
        async with self._sessions() as session:
            session.add(ContentSignOffRow(topic=topic, version=version, staff_id=by.id, signed_at=now))
            session.add(AuditRow(at=now, actor=by.role.value, staff_id=by.id, action="content_signed_off"))
            await session.commit()

    async def latest(self) -> dict[str, ContentSignOff]:
        """Each topic's most recent web sign-off."""
        newest = (
            select(ContentSignOffRow.topic, func.max(ContentSignOffRow.id).label("id"))
            .group_by(ContentSignOffRow.topic)
            .subquery()
        )
        query = (
            select(ContentSignOffRow, StaffRow.name)
            .join(newest, newest.c.id == ContentSignOffRow.id)
            .join(StaffRow, StaffRow.id == ContentSignOffRow.staff_id)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return {row.topic: ContentSignOff(row.topic, row.version, name, as_utc(row.signed_at)) for row, name in rows}
