"""The case queue on SQLAlchemy: every state change is one conditional UPDATE plus its audit row.

A change happens only if the case is still in the state the caller saw (`WHERE status = ...`), so two
lawyers, or two processes on one PostgreSQL database, can never both win: the loser's UPDATE matches
no row. PostgreSQL re-checks the WHERE clause after waiting for the winner's lock; SQLite writes one
transaction at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Select

from bot.clock import as_utc
from bot.languages import known_or_fallback
from bot.records.cases import CaseRecord, CaseStatus, NewCase, Reason
from bot.storage.database import reading_engine
from bot.storage.handoff_tables import AuditRow, CaseNoteRow, CaseRow
from bot.storage.tables import ContactRow, MessageRow

log = logging.getLogger(__name__)

QUEUE_ORDER = (CaseRow.urgent.desc(), CaseRow.created_at, CaseRow.id)  # urgent first, then oldest


def _record(row: CaseRow, contact: ContactRow) -> CaseRecord:
    return _case_record(row, contact.id, contact.channel, contact.platform_id)


def _case_record(row: Any, contact_id: int, channel: str, platform_id: str) -> CaseRecord:
    """A case from its mapped row, or from a row of `_CASES` (which has the same names)."""
    language = known_or_fallback(row.language)
    created = as_utc(row.created_at)
    return CaseRecord(
        id=row.id,
        contact_id=contact_id,  # joined on it: never a detached case
        channel=channel,
        platform_id=platform_id,
        language=language,
        topic=row.topic,
        urgent=row.urgent,
        reason=Reason(row.reason),
        summary=row.summary,
        status=CaseStatus(row.status),
        lawyer_id=row.lawyer_id,
        created_at=created,
        assigned_at=as_utc(row.assigned_at),
        lawyer_active_at=as_utc(row.lawyer_active_at),
        announced_at=as_utc(row.announced_at),
        closed_at=as_utc(row.closed_at),
        outcome=row.outcome,
        rating=row.rating,
        city=row.city,
    )


def _cases() -> Select[tuple[CaseRow, ContactRow]]:
    """Cases with their person as mapped rows, for the console's lists (bot/storage/console.py)."""
    return select(CaseRow, ContactRow).join(ContactRow, ContactRow.id == CaseRow.contact_id)


# The queue's reads in SQLAlchemy Core, built once at import: the person's open case is read on every turn, and
# building an ORM query per call (and loading mapped objects) cost more CPU than the database did (issue 15).
# Columns of the mapped tables keep their types, so the sealed ones (summary, outcome, city, platform_id) are
# opened on reading as before.
_case_table: Table = CaseRow.__table__  # type: ignore[assignment]  # declared tables are Tables
_contact_table: Table = ContactRow.__table__  # type: ignore[assignment]  # declared tables are Tables
_c = _case_table.c
_ANNOUNCER_ONLY = ("announcing_until", "announce_attempts", "announce_attempts_ended")  # no CaseRecord field
_CASES = select(
    *(column for column in _case_table.c if column.key not in _ANNOUNCER_ONLY),
    _contact_table.c.channel,
    _contact_table.c.platform_id,
).join_from(_case_table, _contact_table, _contact_table.c.id == _c.contact_id)
_QUEUE_ORDER = (_c.urgent.desc(), _c.created_at, _c.id)  # QUEUE_ORDER on the table's columns
_GET = _CASES.where(_c.id == bindparam("p_case_id"))
_OPEN_CASE_OF = _CASES.where(_c.contact_id == bindparam("p_contact_id"), _c.status != CaseStatus.CLOSED.value).limit(1)
_LATEST_CLOSED = (
    _CASES.where(
        _c.contact_id == bindparam("p_contact_id"),
        _c.status == CaseStatus.CLOSED.value,
        _c.closed_at >= bindparam("p_since"),
    )
    .order_by(_c.closed_at.desc())
    .limit(1)
)
_WAITING = _CASES.where(_c.status == CaseStatus.WAITING.value).order_by(*_QUEUE_ORDER)
_ASSIGNED_TO = _CASES.where(_c.status == CaseStatus.ASSIGNED.value, _c.lawyer_id == bindparam("p_lawyer_id")).order_by(
    _c.assigned_at, _c.id
)
_DUE_ANNOUNCEMENTS = _CASES.where(
    _c.status == CaseStatus.WAITING.value,
    or_(_c.announced_at.is_(None), _c.announced_at <= bindparam("p_before")),
).order_by(*_QUEUE_ORDER)
_IDLE_ASSIGNED = _CASES.where(
    _c.status == CaseStatus.ASSIGNED.value, _c.lawyer_active_at < bindparam("p_since")
).order_by(_c.id)


class SqlCaseStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._reads = reading_engine(sessions.kw["bind"])

    # --- reading -------------------------------------------------------------------------------------
    async def _many(self, query: Select[Any], params: dict[str, Any] | None = None) -> list[CaseRecord]:
        async with self._reads.connect() as connection:  # one statement (e.g. the person's open case, every turn)
            rows = (await connection.execute(query, params)).all()
        return [_case_record(row, row.contact_id, row.channel, row.platform_id) for row in rows]

    async def _one(self, query: Select[Any], params: dict[str, Any]) -> CaseRecord | None:
        found = await self._many(query, params)  # the statements of _one have their LIMIT 1
        return found[0] if found else None

    async def get(self, case_id: int) -> CaseRecord | None:
        return await self._one(_GET, {"p_case_id": case_id})

    async def open_case_of(self, contact_id: int) -> CaseRecord | None:
        return await self._one(_OPEN_CASE_OF, {"p_contact_id": contact_id})

    async def latest_closed(self, contact_id: int, since: dt.datetime) -> CaseRecord | None:
        return await self._one(_LATEST_CLOSED, {"p_contact_id": contact_id, "p_since": since})

    async def waiting(self) -> list[CaseRecord]:
        return await self._many(_WAITING)

    async def assigned_to(self, lawyer_id: int) -> list[CaseRecord]:
        return await self._many(_ASSIGNED_TO, {"p_lawyer_id": lawyer_id})

    async def position(self, case: CaseRecord) -> int:
        """1 for the next case a lawyer should take; urgent cases go before the others, then the oldest."""
        same_priority_before = and_(
            CaseRow.urgent == case.urgent,
            or_(
                CaseRow.created_at < case.created_at,
                and_(CaseRow.created_at == case.created_at, CaseRow.id < case.id),
            ),
        )
        ahead = same_priority_before if case.urgent else or_(CaseRow.urgent.is_(True), same_priority_before)
        ahead = and_(CaseRow.status == CaseStatus.WAITING.value, CaseRow.id != case.id, ahead)
        async with self._sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(CaseRow).where(ahead)) or 0) + 1

    async def due_announcements(self, reannounce_before: dt.datetime) -> list[CaseRecord]:
        """Waiting cases never announced, or announced before the given moment."""
        return await self._many(_DUE_ANNOUNCEMENTS, {"p_before": reannounce_before})

    async def idle_assigned(self, inactive_since: dt.datetime) -> list[CaseRecord]:
        return await self._many(_IDLE_ASSIGNED, {"p_since": inactive_since})

    async def recent_user_texts(self, contact_id: int, limit: int, since: dt.datetime | None = None) -> list[str]:
        """The person's last written messages, oldest first (what the lawyer is shown, with consent)."""
        if limit <= 0:
            return []
        query = select(MessageRow.text).where(
            MessageRow.contact_id == contact_id, MessageRow.direction == "in", MessageRow.text != ""
        )
        if since is not None:
            query = query.where(MessageRow.created_at > since)
        async with self._sessions() as session:
            texts = (await session.execute(query.order_by(MessageRow.id.desc()).limit(limit))).scalars().all()
        return list(reversed(texts))

    async def opened_since(self, contact_id: int, since: dt.datetime) -> int:
        """How many cases this person opened since the moment (the daily cap)."""
        query = (
            select(func.count())
            .select_from(CaseRow)
            .where(CaseRow.contact_id == contact_id, CaseRow.created_at >= since)
        )
        async with self._sessions() as session:
            return int(await session.scalar(query) or 0)

    # --- changing ------------------------------------------------------------------------------------
    async def open(self, new: NewCase, now: dt.datetime) -> CaseRecord | None:
        """Open a waiting case; None when the person already has an open one (the database refuses two)."""
        async with self._sessions() as session:
            row = CaseRow(
                contact_id=new.contact_id,
                language=new.language,
                topic=new.topic,
                urgent=new.urgent,
                reason=new.reason.value,
                summary=new.summary,
                status=CaseStatus.WAITING.value,
                created_at=now,
            )
            session.add(row)
            try:
                await session.flush()
            except IntegrityError:
                await session.rollback()
                return None
            session.add(AuditRow(at=now, actor="user", action="opened", case_id=row.id))
            await session.commit()
        return await self.get(row.id)

    async def _change(
        self,
        case_id: int,
        where: list[Any],
        values: dict[str, Any],
        audit: AuditRow,
    ) -> bool:
        async with self._sessions() as session:
            result = await session.execute(update(CaseRow).where(CaseRow.id == case_id, *where).values(**values))
            changed = bool(result.rowcount)  # type: ignore[attr-defined]
            if changed:
                session.add(audit)
            await session.commit()
            return changed

    async def claim(self, case_id: int, lawyer_id: int, now: dt.datetime) -> bool:
        """waiting → assigned to this lawyer; False when someone else was first (or it is not waiting)."""
        return await self._change(
            case_id,
            [CaseRow.status == CaseStatus.WAITING.value],
            {"status": CaseStatus.ASSIGNED.value, "lawyer_id": lawyer_id, "assigned_at": now, "lawyer_active_at": now},
            AuditRow(at=now, actor="lawyer", lawyer_id=lawyer_id, action="took", case_id=case_id),
        )

    async def release(self, case_id: int, lawyer_id: int, now: dt.datetime) -> bool:
        """assigned (to this lawyer) → waiting, announced again."""
        return await self._change(
            case_id,
            [CaseRow.status == CaseStatus.ASSIGNED.value, CaseRow.lawyer_id == lawyer_id],
            {"status": CaseStatus.WAITING.value, "lawyer_id": None, "assigned_at": None, "announced_at": None},
            AuditRow(at=now, actor="lawyer", lawyer_id=lawyer_id, action="released", case_id=case_id),
        )

    async def return_idle(self, case_id: int, inactive_since: dt.datetime, now: dt.datetime) -> bool:
        """assigned → waiting when the lawyer has not acted since `inactive_since` (checked in the UPDATE)."""
        return await self._change(
            case_id,
            [CaseRow.status == CaseStatus.ASSIGNED.value, CaseRow.lawyer_active_at < inactive_since],
            {"status": CaseStatus.WAITING.value, "lawyer_id": None, "assigned_at": None, "announced_at": None},
            AuditRow(at=now, actor="system", action="returned_idle", case_id=case_id),
        )

    async def close(self, case_id: int, lawyer_id: int, outcome: str, now: dt.datetime) -> bool:
        return await self._change(
            case_id,
            [CaseRow.status == CaseStatus.ASSIGNED.value, CaseRow.lawyer_id == lawyer_id],
            {"status": CaseStatus.CLOSED.value, "closed_at": now, "outcome": outcome, "lawyer_active_at": now},
            AuditRow(at=now, actor="lawyer", lawyer_id=lawyer_id, action="closed", case_id=case_id),
        )

    async def rate(self, case_id: int, contact_id: int, rating: int, now: dt.datetime) -> bool:
        """Record the person's rating once, for their own closed case."""
        return await self._change(
            case_id,
            [
                CaseRow.contact_id == contact_id,
                CaseRow.status == CaseStatus.CLOSED.value,
                CaseRow.rating.is_(None),
            ],
            {"rating": rating},
            AuditRow(at=now, actor="user", action="rated", case_id=case_id),
        )

    async def set_city(self, case_id: int, contact_id: int, city: str) -> bool:
        async with self._sessions() as session:
            result = await session.execute(
                update(CaseRow)
                .where(
                    CaseRow.id == case_id,
                    CaseRow.contact_id == contact_id,
                    CaseRow.status != CaseStatus.CLOSED.value,
                )
                .values(city=city)
            )
            await session.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def claim_announcement(
        self, case_id: int, reannounce_before: dt.datetime, now: dt.datetime, lease_until: dt.datetime
    ) -> bool:
        """Take the lease to announce a waiting case, counting the attempt; False when another process holds it (or
        it was taken).

        The attempt is counted in the lease's UPDATE and ended with the outcome's (`confirm_announcement`,
        `unclaim_announcement`): one begun and never ended was cut off by a kill, and its announcement may have
        reached lawyers already (Telegram has no idempotency key), as a relay's (bot/storage/relays.py).
        """
        async with self._sessions() as session:
            result = await session.execute(
                update(CaseRow)
                .where(
                    CaseRow.id == case_id,
                    CaseRow.status == CaseStatus.WAITING.value,
                    or_(CaseRow.announced_at.is_(None), CaseRow.announced_at <= reannounce_before),
                    or_(CaseRow.announcing_until.is_(None), CaseRow.announcing_until < now),
                )
                .values(announcing_until=lease_until, announce_attempts=CaseRow.announce_attempts + 1)
                .returning(CaseRow.announce_attempts, CaseRow.announce_attempts_ended)
            )
            counts = result.one_or_none()
            await session.commit()
        if counts is None:
            return False
        if counts.announce_attempts - 1 > counts.announce_attempts_ended:
            log.warning(
                "Case %d: an earlier announcement was cut off before its outcome was written (its process stopped); "
                "announcing it again, lawyers may get it twice",
                case_id,
            )
        return True

    async def confirm_announcement(self, case_id: int, now: dt.datetime) -> bool:
        """The announcement went out: the case counts as announced from now, and the attempt as ended."""
        ended = {"announcing_until": None, "announce_attempts_ended": CaseRow.announce_attempts_ended + 1}
        if await self._change(
            case_id,
            [CaseRow.status == CaseStatus.WAITING.value],
            {"announced_at": now, **ended},
            AuditRow(at=now, actor="system", action="announced", case_id=case_id),
        ):
            return True
        await self._end_announcement_attempt(case_id)  # taken while it was announced: the attempt ended all the same
        return False

    async def unclaim_announcement(self, case_id: int, now: dt.datetime) -> bool:
        """No lawyer could be told after all: give the lease back (the attempt ended), the next sweep announces the
        case again."""
        if await self._change(
            case_id,
            [CaseRow.announcing_until.is_not(None)],
            {
                "announcing_until": None,
                "announced_at": None,
                "announce_attempts_ended": CaseRow.announce_attempts_ended + 1,
            },
            AuditRow(at=now, actor="system", action="announcement_failed", case_id=case_id),
        ):
            return True
        await self._end_announcement_attempt(case_id)
        return False

    async def _end_announcement_attempt(self, case_id: int) -> None:
        """Count an attempt as ended when its outcome changed nothing else (never more ended than begun)."""
        async with self._sessions() as session:
            await session.execute(
                update(CaseRow)
                .where(CaseRow.id == case_id, CaseRow.announce_attempts > CaseRow.announce_attempts_ended)
                .values(announce_attempts_ended=CaseRow.announce_attempts_ended + 1)
            )
            await session.commit()

    async def lawyer_acted(self, case_id: int, lawyer_id: int, action: str, now: dt.datetime) -> bool:
        """Note the holding lawyer's activity (it keeps the case from returning to the queue)."""
        return await self._change(
            case_id,
            [CaseRow.status == CaseStatus.ASSIGNED.value, CaseRow.lawyer_id == lawyer_id],
            {"lawyer_active_at": now},
            AuditRow(at=now, actor="lawyer", lawyer_id=lawyer_id, action=action, case_id=case_id),
        )

    async def add_note(self, case_id: int, lawyer_id: int, text: str, now: dt.datetime) -> bool:
        """A note by the lawyer holding the case; False for anyone else, and for a waiting or closed case."""
        async with self._sessions() as session:
            # The note is work on the case: it keeps the case from returning to the queue.
            result = await session.execute(
                update(CaseRow)
                .where(
                    CaseRow.id == case_id,
                    CaseRow.status == CaseStatus.ASSIGNED.value,
                    CaseRow.lawyer_id == lawyer_id,
                )
                .values(lawyer_active_at=now)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                await session.rollback()
                return False
            session.add(CaseNoteRow(case_id=case_id, lawyer_id=lawyer_id, text=text, created_at=now))
            session.add(AuditRow(at=now, actor="lawyer", lawyer_id=lawyer_id, action="noted", case_id=case_id))
            await session.commit()
            return True

    async def notes(self, case_id: int) -> list[str]:
        async with self._sessions() as session:
            query = select(CaseNoteRow.text).where(CaseNoteRow.case_id == case_id).order_by(CaseNoteRow.id)
            return list((await session.execute(query)).scalars().all())

    async def audit(
        self, actor: str, action: str, now: dt.datetime, *, lawyer_id: int | None = None, case_id: int | None = None
    ) -> None:
        """Record an action that changes nothing (a lawyer viewing the queue, a refused claim)."""
        async with self._sessions() as session:
            session.add(AuditRow(at=now, actor=actor, lawyer_id=lawyer_id, action=action, case_id=case_id))
            await session.commit()
