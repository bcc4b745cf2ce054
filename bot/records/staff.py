"""The values of the web console's accounts that cross layers (storage hands these out, never ORM rows)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from bot.languages import Language

__all__ = ["AccountOverview", "LoginResult", "Role", "SessionEntry", "StaffRecord", "StaffSession"]


class Role(StrEnum):
    LAWYER = "lawyer"  # the queue and the cases they hold
    SUPERVISOR = "supervisor"  # every case's state (never the words), reassigning, the audit log, numbers, content
    ADMIN = "admin"  # what a supervisor sees, and the accounts (on the web or with `pana staff`)


@dataclass(frozen=True, slots=True)
class StaffRecord:
    id: int
    username: str
    name: str
    role: Role
    lawyer_id: int | None  # the lawyers row of a lawyer: the same person on Telegram and on the web
    ui_language: Language
    active: bool
    has_totp: bool = False  # enrolled with `pana staff totp`: signing in asks for a one-time code
    session_epoch: int = 0  # raised to sign the account out everywhere: older sessions stop opening
    password_temporary: bool = False  # set by an admin: to be replaced before any other page opens

    @property
    def oversees(self) -> bool:
        return self.role in (Role.SUPERVISOR, Role.ADMIN)


@dataclass(frozen=True, slots=True)
class AccountOverview:
    """An account as the admin's list and `pana staff list` show it."""

    staff: StaffRecord
    languages: tuple[Language, ...]  # a lawyer's case languages; for others, their console language
    telegram_linked: bool  # a lawyer who also works in the Telegram desk
    last_sign_in: dt.datetime | None


@dataclass(frozen=True, slots=True)
class SessionEntry:
    """A signed-in browser as a session store keeps it (database or Redis), under its token's hash."""

    staff_id: int
    epoch: int  # the account's session_epoch when it began; a different one now means "signed out everywhere"
    csrf: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    awaiting_code: bool


@dataclass(frozen=True, slots=True)
class StaffSession:
    staff: StaffRecord
    csrf: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    awaiting_code: bool = False  # the password was right; the one-time code is still to come


class LoginResult(StrEnum):
    OK = "ok"
    WRONG = "wrong"  # unknown name, wrong password or disabled account: one answer for all three
    LOCKED = "locked"
    CODE_NEEDED = "code_needed"  # right password; the account's one-time code comes next
    ENROL = "enrol"  # right password, but this role must use one-time codes and has none yet
