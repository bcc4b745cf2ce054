"""The web console's reads over the case record, and a supervisor's reassignment.

Only the holding lawyer's page asks for `thread` (the person's words); the supervisor's lists carry
states and times only.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.clock import as_utc
from bot.records.cases import CaseRecord, CaseStatus, DeliveryState, Direction, RelayKind
from bot.records.console import AuditEntry, CaseOverview, LawyerLoad, ThreadEntry
from bot.records.staff import StaffRecord
from bot.storage.cases import _cases, _record
from bot.storage.handoff_tables import AuditRow, CaseNoteRow, CaseRow, LawyerRow, RelayRow
from bot.storage.staff_tables import StaffRow
from bot.storage.tables import MessageRow, WhatsAppWindowRow

VIEW_PREFIX = "viewed"  # audit actions of looking, not changing: they do not wake live pages
WAITING_MESSAGES = 20  # the person's messages written while the case waited, shown to the lawyer who takes it


class SqlConsoleQueries:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def cases(self, status: CaseStatus | None, limit: int = 200) -> list[CaseOverview]:
        """The newest cases (or those in one state) with their lawyer's name, open ones first."""
        query = _cases().add_columns(LawyerRow.name).outerjoin(LawyerRow, LawyerRow.id == CaseRow.lawyer_id)
        if status is not None:
            query = query.where(CaseRow.status == status.value)
        query = query.order_by((CaseRow.status == CaseStatus.CLOSED.value), CaseRow.urgent.desc(), CaseRow.id.desc())
        async with self._sessions() as session:
            rows = (await session.execute(query.limit(limit))).all()
        return [CaseOverview(_record(case, contact), name) for case, contact, name in rows]

    async def thread(self, case: CaseRecord) -> list[ThreadEntry]:
        """Everything on a case since it was opened, oldest first: the consented words, relays and notes."""
        async with self._sessions() as session:
            waited = select(MessageRow.text, MessageRow.created_at).where(
                MessageRow.contact_id == case.contact_id,
                MessageRow.direction == "in",
                MessageRow.text != "",
                MessageRow.created_at > case.created_at,
            )
            if case.assigned_at is not None:
                waited = waited.where(MessageRow.created_at <= case.assigned_at)
            waited_rows = (await session.execute(waited.order_by(MessageRow.id.desc()).limit(WAITING_MESSAGES))).all()
            relays = (
                await session.execute(
                    select(RelayRow, LawyerRow.name)
                    .outerjoin(LawyerRow, LawyerRow.id == RelayRow.lawyer_id)
                    .where(RelayRow.case_id == case.id)
                    .order_by(RelayRow.id)
                )
            ).all()
            notes = (
                await session.execute(
                    select(CaseNoteRow, LawyerRow.name)
                    .join(LawyerRow, LawyerRow.id == CaseNoteRow.lawyer_id)
                    .where(CaseNoteRow.case_id == case.id)
                    .order_by(CaseNoteRow.id)
                )
            ).all()
        entries = [ThreadEntry(as_utc(at), "person", text) for text, at in reversed(waited_rows)]
        for relay, name in relays:
            at = as_utc(relay.created_at)
            if relay.direction == Direction.TO_LAWYER.value:
                entries.append(ThreadEntry(at, "person", relay.text))
            else:
                author, lawyer = ("lawyer", name) if relay.kind == RelayKind.MESSAGE.value else ("pana", None)
                delivery = relay.delivery or DeliveryState.QUEUED.value
                entries.append(ThreadEntry(at, author, relay.text, lawyer, delivery, relay.error_code))
        entries += [ThreadEntry(as_utc(note.created_at), "note", note.text, name) for note, name in notes]
        return sorted(entries, key=lambda entry: entry.at)

    async def last_whatsapp_message(self, contact_id: int) -> dt.datetime | None:
        """When the person last wrote on WhatsApp: free-form answers are allowed for 24 hours after it."""
        async with self._sessions() as session:
            row = await session.get(WhatsAppWindowRow, contact_id)
            return as_utc(row.last_inbound_at) if row else None

    async def reassign(self, case_id: int, lawyer_id: int, by: StaffRecord, now: dt.datetime) -> bool:
        """A supervisor gives an open case to an active lawyer; False when it is closed or the lawyer inactive."""
        async with self._sessions() as session:
            lawyer = await session.get(LawyerRow, lawyer_id)
            if lawyer is None or not lawyer.active:
                return False
            result = await session.execute(
                update(CaseRow)
                .where(CaseRow.id == case_id, CaseRow.status != CaseStatus.CLOSED.value)
                .values(
                    status=CaseStatus.ASSIGNED.value,
                    lawyer_id=lawyer_id,
                    assigned_at=now,
                    lawyer_active_at=now,
                )
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                await session.rollback()
                return False
            session.add(
                AuditRow(
                    at=now,
                    actor=by.role.value,
                    staff_id=by.id,
                    lawyer_id=lawyer_id,
                    action="reassigned",
                    case_id=case_id,
                )
            )
            await session.commit()
            return True

    async def audit(
        self,
        *,
        lawyer_id: int | None = None,
        case_id: int | None = None,
        action: str | None = None,
        limit: int = 500,
    ) -> list[AuditEntry]:
        subject = aliased(StaffRow)
        query = (
            select(AuditRow, LawyerRow.name, StaffRow.username, subject.username)
            .outerjoin(LawyerRow, LawyerRow.id == AuditRow.lawyer_id)
            .outerjoin(StaffRow, StaffRow.id == AuditRow.staff_id)
            .outerjoin(subject, subject.id == AuditRow.subject_staff_id)
        )
        if lawyer_id is not None:
            query = query.where(AuditRow.lawyer_id == lawyer_id)
        if case_id is not None:
            query = query.where(AuditRow.case_id == case_id)
        if action:
            query = query.where(AuditRow.action == action)
        async with self._sessions() as session:
            rows = (await session.execute(query.order_by(AuditRow.id.desc()).limit(limit))).all()
        return [
            AuditEntry(row.id, as_utc(row.at), row.actor, row.action, row.case_id, name, username, about)
            for row, name, username, about in rows
        ]

    async def actions(self) -> list[str]:
        async with self._sessions() as session:
            return list((await session.execute(select(AuditRow.action).distinct().order_by(AuditRow.action))).scalars())

    async def load(self, now: dt.datetime) -> list[LawyerLoad]:
        """Each lawyer's open cases, the oldest of them, and the cases they closed in the last 30 days."""
        month_ago = now - dt.timedelta(days=30)
        held = (
            select(CaseRow.lawyer_id, func.count(), func.min(CaseRow.assigned_at))
            .where(CaseRow.status == CaseStatus.ASSIGNED.value)
            .group_by(CaseRow.lawyer_id)
        )
        closed = (
            select(CaseRow.lawyer_id, func.count())
            .where(CaseRow.status == CaseStatus.CLOSED.value, CaseRow.closed_at >= month_ago)
            .group_by(CaseRow.lawyer_id)
        )
        async with self._sessions() as session:
            lawyers = (await session.execute(select(LawyerRow).order_by(LawyerRow.name))).scalars().all()
            holding = {lawyer_id: (count, oldest) for lawyer_id, count, oldest in (await session.execute(held)).all()}
            closing = dict((await session.execute(closed)).tuples().all())
        return [
            LawyerLoad(
                lawyer.id,
                lawyer.name,
                lawyer.active,
                int(holding.get(lawyer.id, (0, None))[0]),
                as_utc(holding.get(lawyer.id, (0, None))[1]),
                int(closing.get(lawyer.id, 0)),
            )
            for lawyer in lawyers
            if lawyer.active or lawyer.id in holding
        ]

    async def stamp(self) -> tuple[object, ...]:
        """Changes when a case, a relay or a case's state changes: what wakes the live pages."""
        async with self._sessions() as session:
            cases = (await session.execute(select(func.max(CaseRow.id)))).scalar()
            relays = (
                await session.execute(select(func.max(RelayRow.id), func.count()).where(RelayRow.status != "pending"))
            ).one()
            last_relay = (await session.execute(select(func.max(RelayRow.id)))).scalar()
            # States only move forward, so a changed count per state is a changed state (a receipt came in).
            states = (await session.execute(select(RelayRow.delivery, func.count()).group_by(RelayRow.delivery))).all()
            acts = (
                await session.execute(select(func.max(AuditRow.id)).where(AuditRow.action.not_like(f"{VIEW_PREFIX}%")))
            ).scalar()
            notes = (await session.execute(select(func.max(CaseNoteRow.id)))).scalar()
        return cases, tuple(relays), last_relay, tuple(sorted(map(tuple, states), key=str)), acts, notes
