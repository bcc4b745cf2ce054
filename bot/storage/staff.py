"""Staff accounts of the web console and their server-side sessions (`pana staff ...`, the console's login).

One identity: a lawyer's account points at their `lawyers` row, the one the Telegram desk uses, so a
lawyer registered with `pana lawyers add` keeps working there and sees the same cases on the web.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import as_utc
from bot.languages import Language, known_or_fallback
from bot.records.cases import CaseStatus
from bot.records.staff import AccountOverview, Role, StaffRecord
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
        password_temporary=row.password_temporary,
    )


async def _sign_out_everywhere(session: AsyncSession, staff_id: int) -> None:
    await session.execute(
        update(StaffRow).where(StaffRow.id == staff_id).values(session_epoch=StaffRow.session_epoch + 1)
    )
    await session.execute(delete(StaffSessionRow).where(StaffSessionRow.staff_id == staff_id))  # tidy, if kept here


def _about(now: dt.datetime, by: StaffRecord | None, row: StaffRow, action: str) -> AuditRow:
    """An admin's act on an account: who did it (None: `pana staff` on the server) and whom it was about."""
    return AuditRow(
        at=now,
        actor="admin",
        staff_id=by.id if by else None,
        subject_staff_id=row.id,
        action=action,
    )


async def _return_cases(session: AsyncSession, row: StaffRow, now: dt.datetime, by: StaffRecord | None) -> list[int]:
    """A lawyer leaves the desk (disabled, or no longer a lawyer): their lawyers row stops, held cases go back."""
    if row.lawyer_id is None:
        return []
    lawyer = await session.get(LawyerRow, row.lawyer_id)
    if lawyer is not None:
        lawyer.active, lawyer.current_case_id = False, None
    held = select(CaseRow.id).where(CaseRow.lawyer_id == row.lawyer_id, CaseRow.status == CaseStatus.ASSIGNED.value)
    returned = list((await session.execute(held)).scalars().all())
    await session.execute(
        update(CaseRow)
        .where(CaseRow.id.in_(returned))
        .values(status=CaseStatus.WAITING.value, lawyer_id=None, assigned_at=None, announced_at=None)
    )
    for case_id in returned:
        session.add(
            AuditRow(
                at=now,
                actor="admin",
                staff_id=by.id if by else None,
                lawyer_id=row.lawyer_id,
                action="returned_removed",
                case_id=case_id,
            )
        )
    return returned


async def _keep_an_admin(session: AsyncSession, row: StaffRow) -> None:
    """Refuse to disable or demote the last active admin: nobody could manage the accounts on the web then.

    The active admins' rows are locked (PostgreSQL; SQLite writes one at a time anyway), so two admins
    disabling each other at once cannot both succeed.
    """
    if row.role != Role.ADMIN.value or not row.active:
        return
    admins = select(StaffRow.id).where(StaffRow.role == Role.ADMIN.value, StaffRow.active.is_(True))
    active_admins = (await session.execute(admins.with_for_update())).scalars().all()
    if not [staff_id for staff_id in active_admins if staff_id != row.id]:
        raise LastAdmin(row.username)


class StaffExists(ValueError):
    """The username is taken (accounts are never deleted, so also by a disabled one)."""


class NoSuchAccount(LookupError):
    pass


class LastAdmin(ValueError):
    """The change would leave no active admin."""


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
        by: StaffRecord | None = None,
        temporary: bool = False,
    ) -> StaffRecord:
        """Create an account; a lawyer's is linked to their lawyers row (found by Telegram id, or made).

        `temporary`: the password was made for them by an admin and is to be replaced at the first sign-in."""
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
                password_temporary=temporary,
            )
            session.add(row)
            await session.flush()
            session.add(_about(now, by, row, "staff_added"))
            await session.commit()
            return _record(row)

    async def all(self) -> list[StaffRecord]:
        async with self._sessions() as session:
            rows = (await session.execute(select(StaffRow).order_by(StaffRow.id))).scalars().all()
            return [_record(row) for row in rows]

    async def overview(self) -> list[AccountOverview]:
        """Every account with its languages, Telegram link and last sign-in (from the audit trail)."""
        last = (
            select(AuditRow.staff_id, func.max(AuditRow.at).label("at"))
            .where(AuditRow.action == "login")
            .group_by(AuditRow.staff_id)
            .subquery()
        )
        query = (
            select(StaffRow, LawyerRow, last.c.at)
            .outerjoin(LawyerRow, LawyerRow.id == StaffRow.lawyer_id)
            .outerjoin(last, last.c.staff_id == StaffRow.id)
            .order_by(StaffRow.username)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        overviews = []
        for row, lawyer, last_at in rows:
            record = _record(row)
            is_lawyer = record.role is Role.LAWYER and lawyer is not None
            codes = tuple(known_or_fallback(code) for code in lawyer.languages.split(",") if code) if is_lawyer else ()
            overviews.append(
                AccountOverview(
                    staff=record,
                    languages=codes or (record.ui_language,),
                    telegram_linked=is_lawyer and lawyer.telegram_id is not None,
                    last_sign_in=as_utc(last_at),
                )
            )
        return overviews

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

    async def set_password(
        self,
        username: str,
        password_hash: str,
        now: dt.datetime,
        *,
        by: StaffRecord | None = None,
        temporary: bool = False,
    ) -> StaffRecord | None:
        """A new password ends every session of the account and lifts a lock.

        `temporary`: an admin made it; the person replaces it at their next sign-in."""
        async with self._sessions() as session:
            row = (await session.execute(select(StaffRow).where(StaffRow.username == username))).scalar()
            if row is None:
                return None
            row.password_hash, row.failed_logins, row.locked_until = password_hash, 0, None
            row.password_temporary = temporary
            await _sign_out_everywhere(session, row.id)
            session.add(_about(now, by, row, "password_reset"))
            await session.commit()
            return _record(row)

    async def replace_password(self, staff_id: int, password_hash: str, now: dt.datetime) -> StaffRecord | None:
        """The person chose their own password: every other session ends (the caller opens a new one)."""
        async with self._sessions() as session:
            row = await session.get(StaffRow, staff_id)
            if row is None:
                return None
            row.password_hash, row.password_temporary = password_hash, False
            await _sign_out_everywhere(session, row.id)
            session.add(AuditRow(at=now, actor=row.role, staff_id=row.id, action="password_changed"))
            await session.commit()
            return _record(row)

    async def rehash(self, staff_id: int, password_hash: str) -> None:
        async with self._sessions() as session:
            await session.execute(update(StaffRow).where(StaffRow.id == staff_id).values(password_hash=password_hash))
            await session.commit()

    async def disable(
        self, username: str, now: dt.datetime, *, by: StaffRecord | None = None
    ) -> tuple[StaffRecord, list[int]] | None:
        """Disable an account at once: its sessions end; a lawyer's held cases go back to the queue.

        Returns the account and the cases that went back (their people are told by the caller).
        Raises LastAdmin rather than disable the last active admin.
        """
        async with self._sessions() as session:
            row = (await session.execute(select(StaffRow).where(StaffRow.username == username))).scalar()
            if row is None:
                return None
            await _keep_an_admin(session, row)
            row.active = False
            await _sign_out_everywhere(session, row.id)
            session.add(_about(now, by, row, "staff_disabled"))
            returned = await _return_cases(session, row, now, by)
            await session.commit()
            return _record(row), returned

    async def enable(self, username: str, now: dt.datetime, *, by: StaffRecord | None = None) -> StaffRecord | None:
        """Let a disabled account sign in again (with its old password and code); a lawyer's desk reopens."""
        async with self._sessions() as session:
            row = (await session.execute(select(StaffRow).where(StaffRow.username == username))).scalar()
            if row is None:
                return None
            row.active, row.failed_logins, row.locked_until = True, 0, None
            if row.role == Role.LAWYER.value and row.lawyer_id is not None:
                lawyer = await session.get(LawyerRow, row.lawyer_id)
                if lawyer is not None:
                    lawyer.active = True
            session.add(_about(now, by, row, "staff_enabled"))
            await session.commit()
            return _record(row)

    async def change(
        self,
        username: str,
        role: Role,
        languages: tuple[Language, ...],
        now: dt.datetime,
        *,
        by: StaffRecord | None = None,
    ) -> tuple[StaffRecord, list[int]] | None:
        """A new role and languages. A new role signs the account out everywhere (no page stays open under the
        old one); a lawyer who stops being one leaves the desk and their cases go back (returned here).

        Raises LastAdmin rather than demote the last active admin.
        """
        async with self._sessions() as session:
            row = (await session.execute(select(StaffRow).where(StaffRow.username == username))).scalar()
            if row is None:
                return None
            returned: list[int] = []
            old = Role(row.role)
            if old is Role.ADMIN and role is not Role.ADMIN:
                await _keep_an_admin(session, row)
            lawyer = await session.get(LawyerRow, row.lawyer_id) if row.lawyer_id is not None else None
            if old is Role.LAWYER and role is not Role.LAWYER:
                returned = await _return_cases(session, row, now, by)
            elif role is Role.LAWYER:
                if lawyer is None:
                    lawyer = LawyerRow(telegram_id=None, name=row.name, languages="", active=row.active)
                    session.add(lawyer)
                    await session.flush()
                    row.lawyer_id = lawyer.id
                lawyer.languages, lawyer.active = ",".join(languages), row.active
            row.ui_language = languages[0]
            if role is not old:
                row.role = role.value
                await _sign_out_everywhere(session, row.id)
            session.add(_about(now, by, row, "role_changed" if role is not old else "languages_changed"))
            await session.commit()
            return _record(row), returned

    async def enrol_totp(
        self, username: str, secret: str, now: dt.datetime, *, by: StaffRecord | None = None
    ) -> StaffRecord | None:
        """Give the account a new one-time-code secret; codes of an earlier one stop working, its sessions end."""
        async with self._sessions() as session:
            row = (await session.execute(select(StaffRow).where(StaffRow.username == username))).scalar()
            if row is None:
                return None
            row.totp_secret, row.totp_last_step = secret, None
            await _sign_out_everywhere(session, row.id)
            session.add(_about(now, by, row, "totp_enrolled"))
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

    async def sign_out(self, username: str, now: dt.datetime, *, by: StaffRecord | None = None) -> StaffRecord | None:
        """An admin signs an account out everywhere (a lost phone, a shared computer)."""
        async with self._sessions() as session:
            row = (await session.execute(select(StaffRow).where(StaffRow.username == username))).scalar()
            if row is None:
                return None
            await _sign_out_everywhere(session, row.id)
            session.add(_about(now, by, row, "signed_out_by_admin"))
            await session.commit()
            await session.refresh(row)
            return _record(row)

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
        subject_id: int | None = None,
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
                    lawyer_id=staff.lawyer_id if staff.role is Role.LAWYER else None,
                    action=action,
                    case_id=case_id,
                    subject_staff_id=subject_id,
                )
            )
            await session.commit()
