"""Staff accounts of the web console and their server-side sessions (`pana staff ...`, the console's login).

One identity: a lawyer's account points at their `lawyers` row, the one the Telegram desk uses, so a
lawyer registered with `pana lawyers add` keeps working there and sees the same cases on the web.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import as_utc
from bot.languages import Language, known_or_fallback
from bot.records.cases import CaseStatus
from bot.records.staff import Role, StaffRecord
from bot.storage.handoff_tables import AuditRow, CaseRow, LawyerRow
from bot.storage.staff_tables import StaffRow, StaffSessionRow


def _record(row: StaffRow) -> StaffRecord:
    return StaffRecord(
        id=row.id,
        username=row.username,
        name=row.name,
        role=Role(row.role),
        lawyer_id=row.lawyer_id,
        ui_language=known_or_fallback(row.ui_language),
        active=row.active,
        has_totp=row.totp_secret is not None,
        session_epoch=row.session_epoch,
    )


async def _sign_out_everywhere(session: AsyncSession, staff_id: int) -> None:
    await session.execute(
        update(StaffRow).where(StaffRow.id == staff_id).values(session_epoch=StaffRow.session_epoch + 1)
    )
    await session.execute(delete(StaffSessionRow).where(StaffSessionRow.staff_id == staff_id))  # tidy, if kept here


class StaffExists(ValueError):
    """The username is taken (accounts are never deleted, so also by a disabled one)."""


class SqlStaffStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    # --- accounts --------------------------------------------------------------------------------------
    async def add(
        self,
        *,
        username: str,
        name: str,
        role: Role,
        password_hash: str,
        languages: tuple[Language, ...],
        telegram_id: int | None,
        now: dt.datetime,
    ) -> StaffRecord:
        """Create an account; a lawyer's is linked to their lawyers row (found by Telegram id, or made)."""
        async with self._sessions() as session:
            if (await session.execute(select(StaffRow.id).where(StaffRow.username == username))).first():
                raise StaffExists(username)
            lawyer_id = None
            if role is Role.LAWYER:
                lawyer = None
                if telegram_id is not None:
                    query = select(LawyerRow).where(LawyerRow.telegram_id == telegram_id)
                    lawyer = (await session.execute(query)).scalar()
                if lawyer is None:
                    lawyer = LawyerRow(telegram_id=telegram_id, name=name, languages=",".join(languages), active=True)
                    session.add(lawyer)
                    await session.flush()
                    session.add(AuditRow(at=now, actor="admin", lawyer_id=lawyer.id, action="lawyer_added"))
                lawyer.active = True
                lawyer_id = lawyer.id
            row = StaffRow(
                username=username,
                name=name,
                role=role.value,
                password_hash=password_hash,
                lawyer_id=lawyer_id,
                ui_language=languages[0],
                active=True,
                failed_logins=0,
                created_at=now,
            )
            session.add(row)
            await session.flush()
            session.add(AuditRow(at=now, actor="admin", staff_id=row.id, lawyer_id=lawyer_id, action="staff_added"))
            await session.commit()
            return _record(row)

    async def all(self) -> list[StaffRecord]:
        async with self._sessions() as session:
            rows = (await session.execute(select(StaffRow).order_by(StaffRow.id))).scalars().all()
            return [_record(row) for row in rows]

    async def get(self, staff_id: int) -> StaffRecord | None:
        async with self._sessions() as session:
            row = await session.get(StaffRow, staff_id)
            return _record(row) if row else None

    async def by_username(self, username: str) -> StaffRecord | None:
        async with self._sessions() as session:
            row = (await session.execute(select(StaffRow).where(StaffRow.username == username))).scalar()
            return _record(row) if row else None

    async def credentials(self, username: str) -> tuple[StaffRecord, str, dt.datetime | None] | None:
        """The account, its password hash and its lock, for a login attempt."""
        async with self._sessions() as session:
            row = (await session.execute(select(StaffRow).where(StaffRow.username == username))).scalar()
            return (_record(row), row.password_hash, as_utc(row.locked_until)) if row else None

    async def login_failed(self, staff_id: int, now: dt.datetime, limit: int, lockout: dt.timedelta) -> bool:
        """Count a wrong password or one-time code; at `limit` in a row the account is locked for `lockout`.

        True when locked."""
        async with self._sessions() as session:
            row = await session.get(StaffRow, staff_id)
            if row is None:
                return False
            row.failed_logins += 1
            locked = row.failed_logins >= limit
            if locked:
                row.locked_until, row.failed_logins = now + lockout, 0
                # a sign-in waiting for its code ends too: the lock must not be outlived by a half-open door
                await session.execute(
                    delete(StaffSessionRow).where(
                        StaffSessionRow.staff_id == staff_id, StaffSessionRow.awaiting_code.is_(True)
                    )
                )
                session.add(AuditRow(at=now, actor="system", staff_id=staff_id, action="login_locked"))
            session.add(AuditRow(at=now, actor="system", staff_id=staff_id, action="login_failed"))
            await session.commit()
            return locked

    async def set_password(self, username: str, password_hash: str, now: dt.datetime) -> StaffRecord | None:
        """A new password ends every session of the account and lifts a lock."""
        async with self._sessions() as session:
            row = (await session.execute(select(StaffRow).where(StaffRow.username == username))).scalar()
            if row is None:
                return None
            row.password_hash, row.failed_logins, row.locked_until = password_hash, 0, None
            await _sign_out_everywhere(session, row.id)
            session.add(AuditRow(at=now, actor="admin", staff_id=row.id, action="password_reset"))
            await session.commit()
            return _record(row)

    async def rehash(self, staff_id: int, password_hash: str) -> None:
        async with self._sessions() as session:
            await session.execute(update(StaffRow).where(StaffRow.id == staff_id).values(password_hash=password_hash))
            await session.commit()

    async def disable(self, username: str, now: dt.datetime) -> tuple[StaffRecord, list[int]] | None:
        """Disable an account at once: its sessions end; a lawyer's held cases go back to the queue.

        Returns the account and the cases that went back (their people are told by the caller).
        """
        async with self._sessions() as session:
            row = (await session.execute(select(StaffRow).where(StaffRow.username == username))).scalar()
            if row is None:
                return None
            row.active = False
            await _sign_out_everywhere(session, row.id)
            session.add(
                AuditRow(at=now, actor="admin", staff_id=row.id, lawyer_id=row.lawyer_id, action="staff_disabled")
            )
            returned: list[int] = []
            if row.lawyer_id is not None:
                lawyer = await session.get(LawyerRow, row.lawyer_id)
                if lawyer is not None:
                    lawyer.active, lawyer.current_case_id = False, None
                held = select(CaseRow.id).where(
                    CaseRow.lawyer_id == row.lawyer_id, CaseRow.status == CaseStatus.ASSIGNED.value
                )
                returned = list((await session.execute(held)).scalars().all())
                await session.execute(
                    update(CaseRow)
                    .where(CaseRow.id.in_(returned))
                    .values(status=CaseStatus.WAITING.value, lawyer_id=None, assigned_at=None, announced_at=None)
                )
                for case_id in returned:
                    session.add(
                        AuditRow(
                            at=now, actor="admin", lawyer_id=row.lawyer_id, action="returned_removed", case_id=case_id
                        )
                    )
            await session.commit()
            return _record(row), returned

    async def enrol_totp(self, username: str, secret: str, now: dt.datetime) -> StaffRecord | None:
        """Give the account a new one-time-code secret; codes of an earlier one stop working, its sessions end."""
        async with self._sessions() as session:
            row = (await session.execute(select(StaffRow).where(StaffRow.username == username))).scalar()
            if row is None:
                return None
            row.totp_secret, row.totp_last_step = secret, None
            await _sign_out_everywhere(session, row.id)
            session.add(AuditRow(at=now, actor="admin", staff_id=row.id, action="totp_enrolled"))
            await session.commit()
            return _record(row)

    async def totp_secret(self, staff_id: int) -> str | None:
        async with self._sessions() as session:
            row = await session.get(StaffRow, staff_id)
            return row.totp_secret if row else None

    async def claim_totp_step(self, staff_id: int, step: int) -> bool:
        """Mark the step's code used. False when it (or a later one) already was: a replay.

        One conditional UPDATE, so two requests racing with the same code cannot both win.
        """
        async with self._sessions() as session:
            result = await session.execute(
                update(StaffRow)
                .where(
                    StaffRow.id == staff_id,
                    or_(StaffRow.totp_last_step.is_(None), StaffRow.totp_last_step < step),
                )
                .values(totp_last_step=step)
            )
            await session.commit()
            return int(result.rowcount) == 1  # type: ignore[attr-defined]

    async def set_language(self, staff_id: int, language: Language) -> None:
        async with self._sessions() as session:
            await session.execute(update(StaffRow).where(StaffRow.id == staff_id).values(ui_language=language))
            await session.commit()

    # --- sign-in ---------------------------------------------------------------------------------------
    async def signed_in(self, staff_id: int, now: dt.datetime) -> None:
        """The sign-in is complete (password, and code when enrolled): failed attempts are forgiven only now,
        or a known password would reset the count before every guessed code."""
        async with self._sessions() as session:
            await session.execute(
                update(StaffRow).where(StaffRow.id == staff_id).values(failed_logins=0, locked_until=None)
            )
            session.add(AuditRow(at=now, actor="system", staff_id=staff_id, action="login"))
            await session.commit()

    async def end_all_sessions(self, staff_id: int) -> None:
        """Every session of the account stops opening, wherever it is kept (see StaffRow.session_epoch)."""
        async with self._sessions() as session:
            await _sign_out_everywhere(session, staff_id)
            await session.commit()

    # --- the trail ---------------------------------------------------------------------------------------
    async def audit(
        self,
        staff: StaffRecord,
        action: str,
        now: dt.datetime,
        *,
        case_id: int | None = None,
        unless_within: dt.timedelta | None = None,
    ) -> None:
        """A view or an action in the console; never any text, never anything that names a person.

        With `unless_within`, nothing is written when the account's same entry (action and case) is that
        recent: an open page refreshing itself is one view, not one row per refresh.
        """
        async with self._sessions() as session:
            if unless_within is not None:
                recent = select(AuditRow.id).where(
                    AuditRow.staff_id == staff.id,
                    AuditRow.action == action,
                    AuditRow.case_id.is_(None) if case_id is None else AuditRow.case_id == case_id,
                    AuditRow.at > now - unless_within,
                )
                if (await session.execute(recent.limit(1))).first() is not None:
                    return
            session.add(
                AuditRow(
                    at=now,
                    actor=staff.role.value,
                    staff_id=staff.id,
                    lawyer_id=staff.lawyer_id,
                    action=action,
                    case_id=case_id,
                )
            )
            await session.commit()
