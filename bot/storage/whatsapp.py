"""The WhatsApp delivery ledger on SQLAlchemy: the 24-hour window per contact and the outbox.

Status callbacks read their delivery locked and move it only forward: concurrent or repeated callbacks never move
a delivery backwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, case, delete, false, func, insert, null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from bot.clock import as_utc, utc_now
from bot.records.whatsapp import (
    FAILED_STATUSES,
    FINAL_STATUSES,
    HELD,
    READY,
    SUBMITTING,
    TWILIO_STATUS_RANK,
    Delivery,
    Outgoing,
    StatusChange,
    Window,
    ranks_below,
)
from bot.storage import relay_delivery, reply_statements, turn_statements
from bot.storage.commits import Commits
from bot.storage.database import session_factory
from bot.storage.erasures import SqlRemoteErasures
from bot.storage.sealing import dialect_keyring, session_keyring
from bot.storage.tables import ContactRow, RemoteErasureRow, WhatsAppDeliveryRow, WhatsAppWindowRow

Row = WhatsAppDeliveryRow
CHANNEL = "whatsapp"


_deliveries: Table = Row.__table__  # type: ignore[assignment]  # a declared table is a Table
_DELIVERY_COLUMNS = tuple(
    _deliveries.c[name]
    for name in (
        "id",
        "recipient",
        "language",
        "body",
        "content_sid",
        "content_variables",
        "status",
        "message_sid",
        "error_code",
        "relay_id",
        "attempts",
    )
)


# The recipient's oldest ready delivery claimed, in one statement; the row comes back with the claim. On PostgreSQL
# the subquery locks the row it picks: a drain that finds it locked by another's claim waits, and then takes the
# next one still ready (or none); it never comes back empty while a ready delivery remains unclaimed. On SQLite
# the statement runs alone (one writer at a time).
_NEXT_READY = (
    select(_deliveries.c.id)
    .where(_deliveries.c.recipient_hash.in_(bindparam("p_hashes", expanding=True)), _deliveries.c.status == READY)
    .order_by(_deliveries.c.id)
    .limit(1)
    .with_for_update()
    .scalar_subquery()
)
_CLAIM = (
    update(_deliveries)
    .where(_deliveries.c.id == _NEXT_READY, _deliveries.c.status == READY)
    .values(status=SUBMITTING, attempts=_deliveries.c.attempts + 1, updated_at=bindparam("p_now"))
    .returning(*_DELIVERY_COLUMNS)
)
# Twilio refused a delivery outright: final, so its text and number go with the same UPDATE.
_FAILED = (
    update(_deliveries)
    .where(_deliveries.c.id == bindparam("p_id"))
    .values(
        status="failed",
        error_code=bindparam("p_code"),
        updated_at=bindparam("p_now"),
        body=None,
        content_variables=None,
        recipient=None,
        recipient_hash=None,
    )
    .returning(_deliveries.c.relay_id)
)
_HOLD = (
    update(_deliveries).where(_deliveries.c.id == bindparam("p_id")).values(status=HELD, updated_at=bindparam("p_now"))
)
# A sender still trying its claim: the lease starts again, if the claim is still the one it took (its attempt).
_RENEW = (
    update(_deliveries)
    .where(
        _deliveries.c.id == bindparam("p_id"),
        _deliveries.c.status == SUBMITTING,
        _deliveries.c.attempts == bindparam("p_attempts"),
    )
    .values(updated_at=bindparam("p_now"))
)


def _submitted(status: str | None) -> Any:
    """What three UPDATEs did, in one (each SET sees the row as it was); returns the relay the delivery carries.

    - Twilio's id recorded;
    - a resend's code (the earlier refusal) no longer describes it: cleared, unless a callback that came before
      create() returned already moved it on (its code, if any, is the news);
    - the status Twilio answered with (`status`; None: one Twilio does not rank), if it ranks above the stored one
      (a failed one has no code here);
    - a reply to someone who just had their data deleted ("Done"): Twilio has it, so nothing here needs their
      number or the text any more; a missing final status must not keep them for months.
    """
    c = _deliveries.c
    advances = c.status.in_(ranks_below(status)) if status is not None else false()
    no_code = [(c.status == SUBMITTING, null())]
    if status in FAILED_STATUSES:
        no_code.append((advances, null()))
    gone = c.contact_id.is_(None)
    return (
        update(_deliveries)
        .where(c.id == bindparam("p_id"))
        .values(
            message_sid=bindparam("p_sid"),
            updated_at=bindparam("p_now"),
            error_code=case(*no_code, else_=c.error_code),
            status=case((advances, status), else_=c.status) if status is not None else c.status,
            body=case((gone, null()), else_=c.body),
            content_variables=case((gone, null()), else_=c.content_variables),
            recipient=case((gone, null()), else_=c.recipient),
            recipient_hash=case((gone, null()), else_=c.recipient_hash),
        )
        .returning(c.relay_id)
    )


# Built once per status Twilio may answer create() with (the shape depends on it); None: a status it does not rank.
_SUBMITTED: dict[str | None, Any] = {status: _submitted(status) for status in (*TWILIO_STATUS_RANK, None)}


# A status callback's delivery, locked (PostgreSQL) until the callback is recorded: what it changes is worked out
# from the row as it is, so concurrent or repeated callbacks never move it backwards.
_CALLBACK_COLUMNS = (*_DELIVERY_COLUMNS, _deliveries.c.contact_id)
_CALLBACK_BY_ID = select(*_CALLBACK_COLUMNS).where(_deliveries.c.id == bindparam("p_id")).with_for_update()
_CALLBACK_BY_SID = select(*_CALLBACK_COLUMNS).where(_deliveries.c.message_sid == bindparam("p_sid")).with_for_update()


def _callback(*, advances: bool, clear: bool) -> Any:
    """The UPDATE a callback needs: Twilio's id (it may come before create() returned), the status and its code
    when it ranks above the stored one, and a final delivery's text and number cleared."""
    c = _deliveries.c
    values: dict[str, Any] = {"message_sid": bindparam("p_sid")}
    if advances:
        values |= {"status": bindparam("p_status"), "error_code": bindparam("p_code"), "updated_at": bindparam("p_now")}
    if clear:
        values |= {"body": None, "content_variables": None, "recipient": None, "recipient_hash": None}
    return update(_deliveries).where(c.id == bindparam("p_id")).values(**values)


_CALLBACK = {
    (advances, clear): _callback(advances=advances, clear=clear)
    for advances in (False, True)
    for clear in (False, True)
}
_ERASURE_QUEUED = select(RemoteErasureRow.id).where(
    RemoteErasureRow.channel == CHANNEL, RemoteErasureRow.remote_id == bindparam("p_sid")
)
_QUEUE_ERASURE = insert(RemoteErasureRow).values(channel=CHANNEL, remote_id=bindparam("p_sid"), attempts=0)
_DELETE_DELIVERY = delete(_deliveries).where(_deliveries.c.id == bindparam("p_id"))


def _delivery(row: Row | Any) -> Delivery:
    """A delivery from its ORM row or from a row of `_DELIVERY_COLUMNS`."""
    return Delivery(
        id=row.id,
        recipient=row.recipient,
        language=row.language,
        body=row.body,
        content_sid=row.content_sid,
        content_variables=row.content_variables,
        status=row.status,
        message_sid=row.message_sid,
        error_code=row.error_code,
        relay_id=row.relay_id,
        attempts=row.attempts,
    )


class SqlWhatsAppLedger:
    """Implements the channel's DeliveryLedger; contacts are found by their WhatsApp platform id."""

    def __init__(self, commits: Commits, *, channel: str = "whatsapp") -> None:
        self._commits = commits  # a turn's replies and the outbox claims are written on a plain connection
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(commits.engine)
        self._keyring = dialect_keyring(commits.engine.sync_engine.dialect)
        self._channel = channel
        self._erasures = SqlRemoteErasures(self._sessions)

    async def _contact_id(self, session: AsyncSession, platform_id: str) -> int | None:
        hashes = session_keyring(session).blinds(platform_id)
        query = select(ContactRow.id).where(ContactRow.channel == self._channel, ContactRow.platform_hash.in_(hashes))
        return (await session.execute(query.order_by(ContactRow.id).limit(1))).scalar_one_or_none()

    @staticmethod
    def _to(session: AsyncSession, platform_id: str) -> ColumnElement[bool]:
        """Deliveries to this number, found by its keyed hash (the stored number is encrypted)."""
        return Row.recipient_hash.in_(session_keyring(session).blinds(platform_id))

    async def _load(self, session: AsyncSession, delivery_id: int) -> Row | None:
        query = select(Row).where(Row.id == delivery_id).execution_options(populate_existing=True)
        return (await session.execute(query)).scalar_one_or_none()

    # --- the 24-hour window ------------------------------------------------------------------------
    async def note_inbound(self, platform_id: str, at: dt.datetime) -> None:
        async with self._sessions() as session:
            contact_id = await self._contact_id(session, platform_id)
            if contact_id is None:  # the contact was just deleted at their request
                return
            if await session.get(WhatsAppWindowRow, contact_id) is None:
                session.add(WhatsAppWindowRow(contact_id=contact_id, last_inbound_at=at))
                try:
                    await session.commit()
                    return
                except IntegrityError:  # another message of the same person opened the window first
                    await session.rollback()
            await session.execute(  # a message that arrives late never moves the window back
                update(WhatsAppWindowRow)
                .where(WhatsAppWindowRow.contact_id == contact_id, WhatsAppWindowRow.last_inbound_at < at)
                .values(last_inbound_at=at)
            )
            await session.commit()

    async def window(self, platform_id: str) -> Window:
        async with self._sessions() as session:
            query = (
                select(WhatsAppWindowRow)
                .join(ContactRow, ContactRow.id == WhatsAppWindowRow.contact_id)
                .where(
                    ContactRow.channel == self._channel,
                    ContactRow.platform_hash.in_(session_keyring(session).blinds(platform_id)),
                )
                .order_by(ContactRow.id)
                .limit(1)
            )
            row = (await session.execute(query)).scalar_one_or_none()
            if row is None:
                return Window()
            return Window(last_inbound_at=as_utc(row.last_inbound_at), invited_at=as_utc(row.invited_at))

    async def note_invited(self, platform_id: str, at: dt.datetime) -> None:
        async with self._sessions() as session:
            contact_id = await self._contact_id(session, platform_id)
            if contact_id is None:
                return
            await session.execute(
                update(WhatsAppWindowRow).where(WhatsAppWindowRow.contact_id == contact_id).values(invited_at=at)
            )
            await session.commit()

    # --- the outbox ----------------------------------------------------------------------------------
    async def add(
        self,
        platform_id: str,
        messages: Sequence[Outgoing],
        *,
        held: bool = False,
        reply_to: int | None = None,
        relay_id: int | None = None,
        resend_of: Delivery | None = None,
    ) -> list[int]:
        now = utc_now()
        async with self._sessions() as session:
            contact_id = await self._contact_id(session, platform_id)
            rows = self._rows(
                session,
                contact_id,
                platform_id,
                messages,
                now,
                held=held,
                reply_to=reply_to,
                relay_id=relay_id,
                # a resend keeps the refusal's code until Twilio takes it: its relay shows failed meanwhile
                error_code=resend_of.error_code if resend_of else None,
            )
            try:
                await self._insert(session, rows)
                if resend_of is not None:
                    await relay_delivery.carried_by_resend(session, resend_of.id)
                if relay_id is not None:
                    await relay_delivery.refresh(session, relay_id)
                await session.commit()
            except IntegrityError:
                if reply_to is None:
                    raise
                return []  # queued before a crash, with the same keys: once is enough
            return [row.id for row in rows]

    async def answer(
        self, platform_id: str, messages: Sequence[Outgoing], *, reply_to: int | None, wrote_at: dt.datetime | None
    ) -> int:
        """Replies to a message: in one transaction, the window opened at `wrote_at` (when the person just wrote),
        what waited for it released (it goes first), the replies queued once per `reply_to`, and that message
        marked answered (the outbox holds its replies now). How many held deliveries were released.

        Relaxed when it answers a stored message (bot/storage/commits.py): lost in a database crash, that message
        shows unanswered and is answered again. Without one (the goodbye after "delete my data": the message went
        with the person) nothing could redo it: durable."""
        hashes = self._keyring.blinds(platform_id)
        commit = self._commits.relaxed() if reply_to is not None else self._commits.durable()
        try:
            async with commit as connection:  # Core on one connection: bot/storage/reply_statements.py
                return await reply_statements.answer(
                    connection,
                    channel=self._channel,
                    platform_id=platform_id,
                    hashes=hashes,
                    messages=messages,
                    reply_to=reply_to,
                    wrote_at=wrote_at,
                    now=utc_now(),
                )
        except IntegrityError:
            if reply_to is None:
                raise
            # queued before a crash, with the same keys (the transaction was rolled back): the rest on its own
            return await self._answered_again(platform_id, reply_to, wrote_at)

    async def _answered_again(self, platform_id: str, reply_to: int, wrote_at: dt.datetime | None) -> int:
        released = 0
        if wrote_at is not None:
            await self.note_inbound(platform_id, wrote_at)
            released = await self.release_held(platform_id)
        async with self._sessions() as session:
            await turn_statements.mark_answered(await session.connection(), reply_to, utc_now())
            await session.commit()
        return released

    def _rows(
        self,
        session: AsyncSession,
        contact_id: int | None,
        platform_id: str,
        messages: Sequence[Outgoing],
        now: dt.datetime,
        *,
        held: bool,
        reply_to: int | None,
        relay_id: int | None = None,
        error_code: int | None = None,
    ) -> list[Row]:
        return [
            Row(
                contact_id=contact_id,
                recipient=platform_id,
                recipient_hash=session_keyring(session).blind(platform_id),
                language=message.language,
                body=message.body,
                content_sid=message.content_sid,
                content_variables=message.content_variables,
                status=HELD if held else READY,
                error_code=error_code,
                attempts=0,
                reply_key=None if reply_to is None else f"{reply_to}:{part}",
                relay_id=relay_id,
                created_at=now,
                updated_at=now,
            )
            for part, message in enumerate(messages)
        ]

    @staticmethod
    async def _insert(session: AsyncSession, rows: list[Row]) -> None:
        for row in rows:  # one by one, so ids follow the order the messages must arrive in
            session.add(row)
            await session.flush()

    async def _release(self, session: AsyncSession, platform_id: str, now: dt.datetime) -> int:
        result = await session.execute(
            update(Row).where(self._to(session, platform_id), Row.status == HELD).values(status=READY, updated_at=now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def release_held(self, platform_id: str) -> int:
        async with self._sessions() as session:
            released = await self._release(session, platform_id, utc_now())
            await session.commit()
            return released

    async def held_count(self, platform_id: str) -> int:
        async with self._sessions() as session:
            query = select(func.count()).select_from(Row).where(self._to(session, platform_id), Row.status == HELD)
            return int(await session.scalar(query) or 0)

    async def claim_next(self, platform_id: str) -> Delivery | None:
        """The recipient's oldest ready delivery, now `submitting`: one statement.

        Relaxed (bot/storage/commits.py): a claim lost in a database crash leaves the delivery ready, and it is
        sent again (a duplicate at worst; `submitted`, durable, keeps every claim before it).
        """
        async with self._commits.relaxed() as connection:
            return await self._claim(connection, platform_id)

    async def _claim(self, connection: AsyncConnection, platform_id: str) -> Delivery | None:
        params = {"p_hashes": list(self._keyring.blinds(platform_id)), "p_now": utc_now()}
        claimed = (await connection.execute(_CLAIM, params)).first()
        return None if claimed is None else _delivery(claimed)

    async def submitted(self, delivery_id: int, message_sid: str, status: str) -> None:
        """Twilio took the delivery: one UPDATE (and the relay it carries, if any), durable.

        Durable because a goodbye to someone who deleted their data is cleared here, and a lawyer's answer's
        relay moves on here: neither is worked out again from a stored message.
        """
        async with self._commits.durable() as connection:
            await self._submitted(connection, delivery_id, message_sid, status)

    async def submitted_then_next(
        self, delivery_id: int, message_sid: str, status: str, platform_id: str
    ) -> Delivery | None:
        """`submitted`, and the recipient's next ready delivery claimed in the same (durable) transaction: a drain
        pays one commit per message instead of two."""
        async with self._commits.durable() as connection:
            await self._submitted(connection, delivery_id, message_sid, status)
            return await self._claim(connection, platform_id)

    @staticmethod
    async def _submitted(connection: AsyncConnection, delivery_id: int, message_sid: str, status: str) -> None:
        statement = _SUBMITTED[status if status in TWILIO_STATUS_RANK else None]
        params = {"p_id": delivery_id, "p_sid": message_sid, "p_now": utc_now()}
        relay_id = (await connection.execute(statement, params)).scalar()
        if relay_id is not None:
            await relay_delivery.refresh(connection, relay_id)

    async def failed(self, delivery_id: int, error_code: int | None) -> None:
        """Twilio refused it outright: final, its text and number cleared (one UPDATE), its relay moved on."""
        async with self._commits.durable() as connection:
            params = {"p_id": delivery_id, "p_code": error_code, "p_now": utc_now()}
            relay_id = (await connection.execute(_FAILED, params)).scalar()
            if relay_id is not None:
                await relay_delivery.refresh(connection, relay_id)

    async def renew(self, delivery: Delivery) -> bool:
        """Relaxed: a renewal lost in a database crash lets the delivery go again after its lease (a duplicate at
        worst, never a loss)."""
        async with self._commits.relaxed() as connection:
            params = {"p_id": delivery.id, "p_attempts": delivery.attempts, "p_now": utc_now()}
            return bool((await connection.execute(_RENEW, params)).rowcount)

    async def hold(self, delivery_id: int) -> None:
        async with self._commits.durable() as connection:
            await connection.execute(_HOLD, {"p_id": delivery_id, "p_now": utc_now()})

    async def record_status(
        self, delivery_id: int | None, message_sid: str, status: str, error_code: int | None
    ) -> StatusChange | None:
        """Apply a callback: the delivery read and locked, then one UPDATE if anything changes (none for a repeated
        or out-of-date one that finds its id and text already settled); its relay and a goodbye's erasure after."""
        if status not in TWILIO_STATUS_RANK:
            return None
        async with self._commits.durable() as connection:
            row = await self._find(connection, delivery_id, message_sid)
            if row is None:
                return None
            changed = row.status in ranks_below(status)
            now_status = status if changed else row.status
            now_code = error_code if changed and status in FAILED_STATUSES else row.error_code
            final = now_status in FINAL_STATUSES
            clear = final and (row.body, row.content_variables, row.recipient) != (None, None, None)
            if changed or clear or row.message_sid is None:  # the callback came before create() returned
                params = {"p_id": row.id, "p_sid": message_sid, "p_status": status, "p_code": now_code}
                await connection.execute(_CALLBACK[changed, clear], params | {"p_now": utc_now()})
            if changed and row.relay_id is not None:  # the relay moves only with its parts
                await relay_delivery.refresh(connection, row.relay_id)
            if row.contact_id is None and final:
                await self._forget_goodbye(connection, row.id, message_sid)
        # As it was before its text was cleared, with what the callback changed.
        before = replace(_delivery(row), status=now_status, message_sid=message_sid, error_code=now_code)
        return StatusChange(before, changed)

    @staticmethod
    async def _find(connection: AsyncConnection, delivery_id: int | None, message_sid: str) -> Any:
        row = None
        if delivery_id is not None:
            row = (await connection.execute(_CALLBACK_BY_ID, {"p_id": delivery_id})).first()
            if row is not None and row.message_sid not in (None, message_sid):
                return None  # our id in the URL does not belong to this message: trust neither
        if row is None:
            row = (await connection.execute(_CALLBACK_BY_SID, {"p_sid": message_sid})).first()
        return row

    @staticmethod
    async def _forget_goodbye(connection: AsyncConnection, delivery_id: int, message_sid: str) -> None:
        """The last message to someone who deleted their data reached its end: delete it here and at Twilio."""
        if (await connection.execute(_ERASURE_QUEUED, {"p_sid": message_sid})).first() is None:
            await connection.execute(_QUEUE_ERASURE, {"p_sid": message_sid})
        await connection.execute(_DELETE_DELIVERY, {"p_id": delivery_id})

    # --- copies at Twilio of deleted people's messages ----------------------------------------------
    async def erasures(self, limit: int = 100) -> list[tuple[int, str]]:
        """(id, message SID) of messages still to delete at Twilio, oldest first."""
        return await self._erasures.pending(CHANNEL, limit)

    async def erased(self, erasure_id: int) -> None:
        await self._erasures.done(erasure_id)

    async def erase_failed(self, erasure_id: int) -> bool:
        return await self._erasures.failed(erasure_id)

    async def recipients_to_resume(
        self, stale_before: dt.datetime, *, ready_before: dt.datetime | None = None
    ) -> list[str]:
        async with self._sessions() as session:
            await session.execute(  # `updated_at` kept: the delivery shows as left since then (`ready_before`)
                update(Row).where(Row.status == SUBMITTING, Row.updated_at < stale_before).values(status=READY)
            )
            await session.commit()
            query = select(Row.recipient).where(Row.status == READY, Row.recipient.is_not(None))
            if ready_before is not None:
                query = query.where(Row.updated_at < ready_before)
            recipients = (await session.execute(query)).scalars()
            return list(dict.fromkeys(r for r in recipients if r))  # one per number (every sealing differs)

    async def purge_older_than(self, cutoff: dt.datetime) -> int:
        async with self._sessions() as session:
            result = await session.execute(delete(Row).where(Row.created_at < cutoff))
            await session.commit()
            return int(result.rowcount or 0)  # type: ignore[attr-defined]
