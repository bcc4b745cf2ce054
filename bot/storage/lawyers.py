"""The lawyers an administrator registered (`pana lawyers ...`)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.languages import LANGUAGES, Language
from bot.records.cases import CaseStatus, LawyerRecord
from bot.storage.database import reading
from bot.storage.handoff_tables import AuditRow, CaseRow, LawyerRow


def _languages(value: str) -> tuple[Language, ...]:
    return tuple(code for code in value.split(",") if code in LANGUAGES)


def _record(row: LawyerRow) -> LawyerRecord:
    return LawyerRecord(
        id=row.id,
        telegram_id=row.telegram_id,
        name=row.name,
        languages=_languages(row.languages),
        active=row.active,
        current_case_id=row.current_case_id,
    )


class SqlLawyerStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._reads = reading(sessions)

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
            return _record(row), len(held)

    async def all(self) -> list[LawyerRecord]:
        async with self._sessions() as session:
            rows = (await session.execute(select(LawyerRow).order_by(LawyerRow.id))).scalars().all()
            return [_record(row) for row in rows]

    async def active(self) -> list[LawyerRecord]:
        # Filtered in SQL: topic answers ask this on every turn (lawyer availability), and removed lawyers stay rows.
        async with self._reads() as session:
            query = select(LawyerRow).where(LawyerRow.active.is_(True)).order_by(LawyerRow.id)
            return [_record(row) for row in (await session.execute(query)).scalars().all()]

    async def active_by_telegram_id(self, telegram_id: int) -> LawyerRecord | None:
        async with self._reads() as session:  # on every Telegram update: is the sender a lawyer?
            query = select(LawyerRow).where(LawyerRow.telegram_id == telegram_id, LawyerRow.active.is_(True))
            row = (await session.execute(query)).scalar()
            return _record(row) if row else None

    async def get(self, lawyer_id: int) -> LawyerRecord | None:
        async with self._sessions() as session:
            row = await session.get(LawyerRow, lawyer_id)
            return _record(row) if row else None

    async def set_current_case(self, lawyer_id: int, case_id: int | None) -> None:
        async with self._sessions() as session:
            await session.execute(update(LawyerRow).where(LawyerRow.id == lawyer_id).values(current_case_id=case_id))
            await session.commit()
