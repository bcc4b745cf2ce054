"""Managing the console's accounts: one implementation behind `pana staff` and the admin's web pages.

Both front-ends call `AccountAdmin`; it adds what neither may skip: the last active admin stays, an admin
on the web cannot lock themself out, passwords are argon2id, and people whose lawyer left get told.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.console.passwords import hash_in_thread
from bot.console.totp import new_secret
from bot.handoff import notices
from bot.handoff.outbox import Outbox
from bot.handoff.ports import CaseStore
from bot.i18n import Translations, bound
from bot.languages import Language
from bot.records.cases import RelayKind
from bot.records.staff import AccountOverview, Role, StaffRecord
from bot.storage.staff import LastAdmin, NoSuchAccount, SqlStaffStore, StaffExists

__all__ = ["AccountAdmin", "LastAdmin", "NoSuchAccount", "OwnAccount", "StaffExists", "initial_password"]

# 20 characters from 31 unambiguous ones (about 99 bits): typed by hand once, then replaced
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
INITIAL_LENGTH = 20

TellPeople = Callable[[list[int]], Awaitable[None]]


class OwnAccount(ValueError):
    """On the web an admin may not disable, demote or reset their own account: a slip would lock them out."""


def initial_password() -> str:
    """A password an admin hands over; the person must replace it at their first sign-in."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(INITIAL_LENGTH))


async def tell_people(cases: CaseStore, outbox: Outbox, translations: Translations, case_ids: list[int]) -> None:
    """Each person whose case went back to the queue is told; stored, so a running server delivers it."""
    for case_id in case_ids:
        case = await cases.get(case_id)
        if case is not None:
            text = notices.back_in_queue(bound(translations, case.language), case_id)
            await outbox.to_user(case, RelayKind.NOTICE, text)


@dataclass
class AccountAdmin:
    staff: SqlStaffStore
    tell: TellPeople  # people whose cases went back when their lawyer left the desk

    async def overview(self) -> list[AccountOverview]:
        return await self.staff.overview()

    async def add(
        self,
        *,
        username: str,
        name: str,
        role: Role,
        languages: tuple[Language, ...],
        telegram_id: int | None,
        now: dt.datetime,
        password: str | None = None,
        by: StaffRecord | None = None,
    ) -> tuple[StaffRecord, str | None]:
        """Create an account. Without `password`, an initial one is made, returned to be shown once, and
        must be replaced at the first sign-in. Raises StaffExists or WeakPassword."""
        made = initial_password() if password is None else None
        record = await self.staff.add(
            username=username.strip(),
            name=(name or username).strip(),
            role=role,
            password_hash=await hash_in_thread(password if password is not None else str(made)),
            languages=languages,
            telegram_id=telegram_id,
            now=now,
            by=by,
            temporary=made is not None,
        )
        return record, made

    async def disable(
        self, username: str, now: dt.datetime, by: StaffRecord | None = None
    ) -> tuple[StaffRecord, list[int]]:
        """Signed out at once; a lawyer's held cases go back (returned) and their people are told."""
        _not_self(username, by)
        disabled = await self.staff.disable(username, now, by=by)
        if disabled is None:
            raise NoSuchAccount(username)
        await self.tell(disabled[1])
        return disabled

    async def enable(self, username: str, now: dt.datetime, by: StaffRecord | None = None) -> StaffRecord:
        return _found(await self.staff.enable(username, now, by=by), username)

    async def change(
        self,
        username: str,
        role: Role,
        languages: tuple[Language, ...],
        now: dt.datetime,
        by: StaffRecord | None = None,
    ) -> StaffRecord:
        if by is not None and by.username == username and role is not by.role:
            raise OwnAccount(username)
        changed = await self.staff.change(username, role, languages, now, by=by)
        if changed is None:
            raise NoSuchAccount(username)
        record, returned = changed
        await self.tell(returned)
        return record

    async def reset_password(
        self, username: str, now: dt.datetime, by: StaffRecord | None = None, password: str | None = None
    ) -> str | None:
        """A new password; every session ends. Without `password`, an initial one is made and returned."""
        _not_self(username, by)
        made = initial_password() if password is None else None
        password_hash = await hash_in_thread(password if password is not None else str(made))
        _found(await self.staff.set_password(username, password_hash, now, by=by, temporary=made is not None), username)
        return made

    async def reset_totp(self, username: str, now: dt.datetime, by: StaffRecord | None = None) -> str:
        """A new one-time-code secret (the old one's codes stop); returned to be shown once."""
        _not_self(username, by)
        secret = new_secret()
        _found(await self.staff.enrol_totp(username, secret, now, by=by), username)
        return secret

    async def sign_out(self, username: str, now: dt.datetime, by: StaffRecord | None = None) -> StaffRecord:
        return _found(await self.staff.sign_out(username, now, by=by), username)


def _not_self(username: str, by: StaffRecord | None) -> None:
    if by is not None and by.username == username:
        raise OwnAccount(username)


def _found(record: StaffRecord | None, username: str) -> StaffRecord:
    if record is None:
        raise NoSuchAccount(username)
    return record
