"""Where console sessions are kept: the database, or Redis when REDIS_URL is set (one port, two stores).

Both keep only what `SessionEntry` holds, under the SHA-256 of the cookie's token; whether a session still
opens (account active, same session epoch, not idle or too old) is decided by bot/console/sessions.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import orjson
from redis.asyncio import Redis
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import as_utc
from bot.keys import Keyring
from bot.records.staff import SessionEntry
from bot.storage.staff_tables import StaffSessionRow


class SqlSessionStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def put(self, token_hash: str, entry: SessionEntry, ttl: dt.timedelta) -> None:
        del ttl  # expiry is checked on every read; expired rows are removed then
        async with self._sessions() as session:
            session.add(
                StaffSessionRow(
                    id=token_hash,
                    staff_id=entry.staff_id,
                    epoch=entry.epoch,
                    csrf=entry.csrf,
                    created_at=entry.created_at,
                    last_seen_at=entry.last_seen_at,
                    awaiting_code=entry.awaiting_code,
                )
            )
            await session.commit()

    async def get(self, token_hash: str) -> SessionEntry | None:
        async with self._sessions() as session:
            row = await session.get(StaffSessionRow, token_hash)
            if row is None:
                return None
            return SessionEntry(
                staff_id=row.staff_id,
                epoch=row.epoch,
                csrf=row.csrf,
                created_at=as_utc(row.created_at),
                last_seen_at=as_utc(row.last_seen_at),
                awaiting_code=row.awaiting_code,
            )

    async def touch(self, token_hash: str, now: dt.datetime) -> None:
        async with self._sessions() as session:
            await session.execute(
                update(StaffSessionRow).where(StaffSessionRow.id == token_hash).values(last_seen_at=now)
            )
            await session.commit()

    async def drop(self, token_hash: str) -> None:
        async with self._sessions() as session:
            await session.execute(delete(StaffSessionRow).where(StaffSessionRow.id == token_hash))
            await session.commit()


def _encode(entry: SessionEntry) -> bytes:
    return orjson.dumps(
        {
            "staff_id": entry.staff_id,
            "epoch": entry.epoch,
            "csrf": entry.csrf,
            "created_at": entry.created_at.isoformat(),
            "last_seen_at": entry.last_seen_at.isoformat(),
            "awaiting_code": entry.awaiting_code,
        }
    )


class RedisSessionStore:
    """Sessions shared by every `pana serve` process through Redis, each key expiring with its session.

    Keys are keyed hashes of the token's hash (like every Redis key of Pana): a copy of Redis alone does not
    even tell which cookie goes with which key. After a key rotation the old keys are not found: everyone
    signs in again, which is the safe side.
    """

    def __init__(self, redis: Redis, keyring: Keyring, *, prefix: str = "pana:console:session:") -> None:
        self._redis = redis
        self._keyring = keyring
        self._prefix = prefix

    def _key(self, token_hash: str) -> str:
        return self._prefix + self._keyring.blind(token_hash)

    async def put(self, token_hash: str, entry: SessionEntry, ttl: dt.timedelta) -> None:
        await self._redis.set(self._key(token_hash), _encode(entry), ex=max(math.ceil(ttl.total_seconds()), 1))

    async def get(self, token_hash: str) -> SessionEntry | None:
        raw = await self._redis.get(self._key(token_hash))
        if raw is None:
            return None
        value = orjson.loads(raw)
        return SessionEntry(
            staff_id=int(value["staff_id"]),
            epoch=int(value["epoch"]),
            csrf=str(value["csrf"]),
            created_at=dt.datetime.fromisoformat(value["created_at"]),
            last_seen_at=dt.datetime.fromisoformat(value["last_seen_at"]),
            awaiting_code=bool(value["awaiting_code"]),
        )

    async def touch(self, token_hash: str, now: dt.datetime) -> None:
        """The new last-seen time, keeping the key's expiry (the session's absolute end).

        Written only if the key still exists (XX): a sign-out landing between the read and this write must
        not bring the session back.
        """
        entry = await self.get(token_hash)
        if entry is None:
            return
        touched = dataclasses.replace(entry, last_seen_at=now)
        await self._redis.set(self._key(token_hash), _encode(touched), xx=True, keepttl=True)

    async def drop(self, token_hash: str) -> None:
        await self._redis.delete(self._key(token_hash))
