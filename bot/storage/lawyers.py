"""The lawyers an administrator registered (`pana lawyers ...`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.languages import LANGUAGES, Language
from bot.records.cases import CaseStatus, LawyerRecord
from bot.storage.database import reading_engine
from bot.storage.handoff_tables import AuditRow, CaseRow, LawyerRow
from bot.storage.lawyer_roster import Roster, RosterCache

# The reads a turn makes, in SQLAlchemy Core, built once at import (not an ORM query built on every call).
_lawyers: Table = LawyerRow.__table__  # type: ignore[assignment]  # declared tables are Tables
_LAWYERS = select(
    _lawyers.c.id,
    _lawyers.c.telegram_id,
    _lawyers.c.name,
    _lawyers.c.languages,
    _lawyers.c.active,
    _lawyers.c.current_case_id,
)
_ACTIVE = _LAWYERS.where(_lawyers.c.active.is_(True)).order_by(_lawyers.c.id)
_ACTIVE_BY_TELEGRAM_ID = _LAWYERS.where(
    _lawyers.c.telegram_id == bindparam("p_telegram_id"), _lawyers.c.active.is_(True)
)
_ROSTER = select(_lawyers.c.telegram_id).where(_lawyers.c.active.is_(True))


def _languages(value: str) -> tuple[Language, ...]:
    return tuple(code for code in value.split(",") if code in LANGUAGES)


def _record(row: Any) -> LawyerRecord:
    """A lawyer from their mapped row or a row of `_LAWYERS` (the same names)."""
    return LawyerRecord(
        id=row.id,
        telegram_id=row.telegram_id,
        name=row.name,
        languages=_languages(row.languages),
        active=row.active,
        current_case_id=row.current_case_id,
    )


class SqlLawyerStore:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, roster_clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._sessions = sessions
        self._reads = reading_engine(sessions.kw["bind"])
        self._roster = RosterCache(self._read_roster, clock=roster_clock)

    async def _read_roster(self) -> Roster:
        async with self._reads.connect() as connection:
            ids = (await connection.execute(_ROSTER)).scalars().all()
        return Roster(frozenset(telegram_id for telegram_id in ids if telegram_id is not None), bool(ids))

    async def add(self, telegram_id: int, name: str, languages: tuple[Language, ...]) -> LawyerRecord:
        """Register a lawyer, or update and reactivate one registered before."""
        async with self._sessions() as session:
            row = (await session.execute(select(LawyerRow).where(LawyerRow.telegram_id == telegram_id))).scalar()
            if row is None:
                row = LawyerRow(telegram_id=telegram_id, name=name, languages=",".join(languages), active=True)
                session.add(row)
            else:
                row.name, row.languages, row.active = name, ",".join(languages), True
            await session.flush()
            session.add(AuditRow(actor="admin", lawyer_id=row.id, action="lawyer_added"))
            await session.commit()
            self._roster.forget()
            return _record(row)

    async def deactivate(self, telegram_id: int) -> tuple[LawyerRecord, int] | None:
        """Stop a lawyer from seeing or acting on cases; the cases they held go back to the queue.

        Their record stays for the audit trail. Returns the lawyer and how many cases went back.
        """
        async with self._sessions() as session:
            row = (await session.execute(select(LawyerRow).where(LawyerRow.telegram_id == telegram_id))).scalar()
            if row is None:
                return None
            row.active, row.current_case_id = False, None
            session.add(AuditRow(actor="admin", lawyer_id=row.id, action="lawyer_removed"))
            held = (
                (
                    await session.execute(
                        select(CaseRow.id).where(
                            CaseRow.lawyer_id == row.id, CaseRow.status == CaseStatus.ASSIGNED.value
                        )
                    )
                )
                .scalars()
                .all()
            )
            # announced_at cleared: the running worker announces them again at its next sweep.
            await session.execute(
                update(CaseRow)
                .where(CaseRow.id.in_(held))
                .values(status=CaseStatus.WAITING.value, lawyer_id=None, assigned_at=None, announced_at=None)
            )
            for case_id in held:
                session.add(AuditRow(actor="admin", lawyer_id=row.id, action="returned_removed", case_id=case_id))
            await session.commit()
            self._roster.forget()
            return _record(row), len(held)

    async def all(self) -> list[LawyerRecord]:
        async with self._sessions() as session:
            rows = (await session.execute(select(LawyerRow).order_by(LawyerRow.id))).scalars().all()
            return [_record(row) for row in rows]

    async def active(self) -> list[LawyerRecord]:
        # Filtered in SQL: removed lawyers stay rows (the audit trail names them).
        async with self._reads.connect() as connection:
            return [_record(row) for row in (await connection.execute(_ACTIVE)).all()]

    async def any_active(self) -> bool:
        """Whether any lawyer is registered and active, as known at most a few seconds ago (topic answers ask)."""
        return (await self._roster.get()).any_active

    async def active_by_telegram_id(self, telegram_id: int) -> LawyerRecord | None:
        """The active lawyer with this Telegram id, from the record; None for everyone else.

        Asked on every Telegram update. An id not among the active lawyers' of a few seconds ago is nobody's
        (bot/storage/lawyer_roster.py): no query for an ordinary person. One among them is checked here, so a
        lawyer removed a moment ago, by any process, is refused at once.
        """
        if telegram_id not in (await self._roster.get()).telegram_ids:
            return None
        async with self._reads.connect() as connection:
            row = (await connection.execute(_ACTIVE_BY_TELEGRAM_ID, {"p_telegram_id": telegram_id})).first()
        return _record(row) if row else None

    async def get(self, lawyer_id: int) -> LawyerRecord | None:
        async with self._sessions() as session:
            row = await session.get(LawyerRow, lawyer_id)
            return _record(row) if row else None

    async def set_current_case(self, lawyer_id: int, case_id: int | None) -> None:
        async with self._sessions() as session:
            await session.execute(update(LawyerRow).where(LawyerRow.id == lawyer_id).values(current_case_id=case_id))
            await session.commit()
