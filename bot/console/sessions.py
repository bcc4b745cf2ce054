"""Signed-in browsers: begun after the password (and code), checked on every request, ended one or all.

The store (database or Redis) only keeps entries; whether one still opens is decided here against the
account in the database on every request, so a disabled account or "sign out everywhere" (a new session
epoch) takes effect at once whichever store holds the sessions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Protocol

from bot.console.security import new_token
from bot.records.staff import SessionEntry, StaffRecord, StaffSession
from bot.storage.staff import SqlStaffStore

CODE_WINDOW = dt.timedelta(minutes=5)  # how long a right password waits for its one-time code


class SessionStore(Protocol):
    async def put(self, token_hash: str, entry: SessionEntry, ttl: dt.timedelta) -> None: ...
    async def get(self, token_hash: str) -> SessionEntry | None: ...
    async def touch(self, token_hash: str, now: dt.datetime) -> None: ...
    async def drop(self, token_hash: str) -> None: ...


class ConsoleSessions:
    def __init__(
        self, store: SessionStore, staff: SqlStaffStore, *, idle: dt.timedelta, lifetime: dt.timedelta
    ) -> None:
        self.store = store
        self._staff = staff
        self._idle = idle
        self._lifetime = lifetime

    async def start(self, staff: StaffRecord, token_hash: str, now: dt.datetime, *, awaiting_code: bool) -> None:
        """A session for the account; one `awaiting_code` opens nothing but the code page until `confirm`."""
        entry = SessionEntry(staff.id, staff.session_epoch, new_token(), now, now, awaiting_code)
        await self.store.put(token_hash, entry, CODE_WINDOW if awaiting_code else self._lifetime)
        if not awaiting_code:
            await self._staff.signed_in(staff.id, now)

    async def confirm(self, token_hash: str, new_token_hash: str, now: dt.datetime) -> bool:
        """The code was right: the session opens under a new token (the waiting one is spent)."""
        entry = await self.store.get(token_hash)
        if entry is None or not entry.awaiting_code:
            return False
        await self.store.drop(token_hash)
        opened = dataclasses.replace(entry, created_at=now, last_seen_at=now, awaiting_code=False)
        await self.store.put(new_token_hash, opened, self._lifetime)
        await self._staff.signed_in(entry.staff_id, now)
        return True

    async def current(self, token_hash: str, now: dt.datetime, *, touch: bool = True) -> StaffSession | None:
        """The live session with this token: None when unknown, idle too long, too old, signed out everywhere,
        or the account disabled. Checked on every request."""
        entry = await self.store.get(token_hash)
        if entry is None:
            return None
        staff = await self._staff.get(entry.staff_id)
        limit = CODE_WINDOW if entry.awaiting_code else self._lifetime
        if (
            staff is None
            or not staff.active
            or staff.session_epoch != entry.epoch
            or entry.created_at + limit <= now
            or entry.last_seen_at + self._idle <= now
        ):
            await self.store.drop(token_hash)
            return None
        if touch:  # a page left open (its live stream) must not keep an idle session alive
            await self.store.touch(token_hash, now)
        return StaffSession(
            staff=staff,
            csrf=entry.csrf,
            created_at=entry.created_at,
            last_seen_at=entry.last_seen_at,
            awaiting_code=entry.awaiting_code,
        )

    async def end(self, token_hash: str) -> None:
        await self.store.drop(token_hash)

    async def end_all(self, staff_id: int) -> None:
        await self._staff.end_all_sessions(staff_id)
