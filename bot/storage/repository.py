"""The ConversationStore port on SQLAlchemy: contacts, conversations and messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import as_utc, utc_now
from bot.core.messages import IncomingMessage
from bot.core.ports import Accepted, ContactRecord, Redelivery, TurnRecord, Unanswered
from bot.errors import RecordChanged
from bot.languages import FALLBACK_LANGUAGE, LANGUAGES, Language
from bot.storage import turn_statements as statements
from bot.storage.burial import bury
from bot.storage.commits import Commits
from bot.storage.database import session_factory
from bot.storage.driver import Held
from bot.storage.sealing import dialect_keyring, session_keyring
from bot.storage.tables import ContactRow, ConversationRow, MessageRow, TombstoneRow
from bot.storage.turn_statements import MAX_STORED_CHARS

__all__ = ["MAX_STORED_CHARS", "SqlConversationStore"]

MAX_HINT_CHARS = 16
RECOVERY_BATCH = 50


def _record(row: ContactRow) -> ContactRecord:
    language = row.language if row.language in LANGUAGES else None
    return ContactRecord(
        id=row.id,
        channel=row.channel,
        platform_id=row.platform_id,
        language=language,
        language_chosen=row.language_chosen,
    )


# The turn's UPDATEs touch rows this session has not loaded (or no longer reads): SQLAlchemy's default 'auto'
# synchronisation searched the session for them on every statement, ~0.45 ms of CPU each under cProfile.
UNSYNCED = {"synchronize_session": False}


class SqlConversationStore:
    """Durable record of who wrote what, when, and what Pana answered."""

    def __init__(self, commits: Commits, *, idle: dt.timedelta) -> None:
        # A turn's own statements run on the driver connection (bot/storage/turn_statements.py), the rest in sessions.
        self._commits = commits
        self._engine = commits.engine
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(commits.engine)
        self._idle = idle
        self._keyring = dialect_keyring(self._engine.sync_engine.dialect)

    async def accept(self, message: IncomingMessage, text: str, *, lease_until: dt.datetime) -> Accepted:
        """The tombstone check, the person (created when new) and the message stored: one transaction.

        A concurrent first message of the same person creates the person too: the loser's transaction is rolled
        back and tried once more, and then finds them.
        """
        for attempt in (1, 2):
            try:
                return await self._accept(message, text, lease_until)
            except _ContactRace:
                if attempt == 2:
                    raise RecordChanged(f"contact on {message.channel} vanished while being created") from None
        raise AssertionError("unreachable")

    async def _accept(self, message: IncomingMessage, text: str, lease_until: dt.datetime) -> Accepted:
        """Durable: once this commits the platform may stop redelivering, and nothing else has the message."""
        async with self._commits.durable_held() as held:
            accepted = await self._store_inbound(held, message, text, lease_until, utc_now())
            if accepted.message_id is None:
                held.discard()  # nothing new: a redelivery or a forgotten person's message
            return accepted

    async def _store_inbound(
        self,
        held: Held,
        message: IncomingMessage,
        text: str,
        lease_until: dt.datetime,
        now: dt.datetime,
    ) -> Accepted:
        channel, platform_id = message.channel, message.user_id
        # A person who deleted their data is not brought back by a redelivery: a tombstone of the message's id.
        digests = self._keyring.blinds(f"{channel}:{message.channel_message_id}") if message.channel_message_id else []
        hashes = self._keyring.blinds(platform_id)
        contact, language = await statements.touch_contact(held, channel, platform_id, hashes, digests, now)
        if contact is None:
            language = await statements.forgotten_language(held, digests, now)
        if language is not None:  # the caller rolls back: nothing stored, not even "seen"
            return Accepted(None, None, forgotten=language if language in LANGUAGES else FALLBACK_LANGUAGE)
        new_contact = contact is None
        if contact is None:
            try:
                contact = await statements.add_contact(held, channel, platform_id, hashes[0], now)
            except IntegrityError:  # the caller rolls back and tries again
                raise _ContactRace from None
        conversation_id = await statements.conversation_for(held, contact.id, now, self._idle, new_contact=new_contact)
        values = self._inbound_values(message, text, lease_until)
        values.update(conversation_id=conversation_id, contact_id=contact.id, created_at=now)
        try:
            return Accepted(contact, await statements.add_message(held, values))
        except IntegrityError:  # the platform delivered this message again: the caller rolls back, nothing changed
            if message.channel_message_id is None or new_contact:
                raise
            return Accepted(contact, None)

    @staticmethod
    def _inbound_values(message: IncomingMessage, text: str, lease_until: dt.datetime) -> dict[str, object]:
        return {
            "direction": "in",
            "text": text[:MAX_STORED_CHARS],
            "channel_message_id": message.channel_message_id,
            "payload": message.payload,
            "attachment": message.attachment,
            "language_hint": (message.language_hint or "")[:MAX_HINT_CHARS] or None,
            "parts_sent": 0,
            "lease_until": lease_until,
        }

    async def get_or_create_contact(self, channel: str, platform_id: str) -> ContactRecord:
        async with self._sessions() as session:
            row = await self._find_contact(session, channel, platform_id)
            if row is not None:
                return _record(row)
            hashed = session_keyring(session).blind(platform_id)
            row = ContactRow(channel=channel, platform_id=platform_id, platform_hash=hashed, language_chosen=False)
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:  # created by a concurrent message of the same person
                await session.rollback()
                row = await self._find_contact(session, channel, platform_id)
                if row is None:  # and deleted again ("delete my data") before we read it
                    raise RecordChanged(f"contact on {channel} vanished while being created") from None
            return _record(row)

    @staticmethod
    async def _find_contact(session: AsyncSession, channel: str, platform_id: str) -> ContactRow | None:
        hashes = session_keyring(session).blinds(platform_id)  # under every key: rows from before a rotation
        query = (
            select(ContactRow)
            .where(ContactRow.channel == channel, ContactRow.platform_hash.in_(hashes))
            .order_by(ContactRow.id)
            .limit(1)
        )
        return (await session.execute(query)).scalars().first()

    async def find_contact(self, channel: str, platform_id: str) -> ContactRecord | None:
        async with self._sessions() as session:
            row = await self._find_contact(session, channel, platform_id)
            return _record(row) if row else None

    async def set_language(self, contact_id: int, language: Language, *, chosen: bool) -> None:
        async with self._sessions() as session:
            await session.execute(
                update(ContactRow).where(ContactRow.id == contact_id).values(language=language, language_chosen=chosen),
                execution_options=UNSYNCED,
            )
            await session.commit()

    async def _conversation_id(self, session: AsyncSession, contact_id: int, now: dt.datetime) -> int:
        query = (
            select(ConversationRow)
            .where(ConversationRow.contact_id == contact_id)
            .order_by(ConversationRow.id.desc())
            .limit(1)
        )
        current = (await session.execute(query)).scalar_one_or_none()
        if current is not None and as_utc(current.last_message_at) > now - self._idle:
            current.last_message_at = now
            return current.id
        conversation = ConversationRow(contact_id=contact_id, started_at=now, last_message_at=now)
        session.add(conversation)
        await session.flush()
        return conversation.id

    async def _add_message(self, session: AsyncSession, contact_id: int, now: dt.datetime, **values: object) -> int:
        (message_id,) = await self._add_messages(session, contact_id, now, values)
        return message_id

    async def _add_messages(
        self, session: AsyncSession, contact_id: int, now: dt.datetime, *messages: Mapping[str, object]
    ) -> list[int]:
        """Messages of one contact, in order: one conversation lookup, one flush, one contact update for all."""
        if not messages:
            return []
        conversation_id = await self._conversation_id(session, contact_id, now)
        rows = [
            MessageRow(conversation_id=conversation_id, contact_id=contact_id, created_at=now, **values)
            for values in messages
        ]
        session.add_all(rows)
        await session.flush()
        update_contact = update(ContactRow).where(ContactRow.id == contact_id).values(last_seen_at=now)
        await session.execute(update_contact, execution_options=UNSYNCED)
        return [row.id for row in rows]

    async def record_inbound(
        self, contact_id: int, message: IncomingMessage, text: str, *, lease_until: dt.datetime
    ) -> int | None:
        """Store an accepted message, held until `lease_until`; None when it was stored before (a redelivery)."""
        try:
            async with self._sessions() as session:
                message_id = await self._add_message(
                    session,
                    contact_id,
                    utc_now(),
                    direction="in",
                    text=text[:MAX_STORED_CHARS],
                    channel_message_id=message.channel_message_id,
                    payload=message.payload,
                    attachment=message.attachment,
                    language_hint=(message.language_hint or "")[:MAX_HINT_CHARS] or None,
                    parts_sent=0,
                    lease_until=lease_until,
                )
                await session.commit()
                return message_id
        except IntegrityError:
            if message.channel_message_id is None:
                raise
            return None

    async def redelivery(self, contact_id: int, channel_message_id: str) -> Redelivery | None:
        """What became of a platform message stored before: its id, whether it was answered, its replies."""
        async with self._sessions() as session:
            query = select(MessageRow).where(
                MessageRow.contact_id == contact_id, MessageRow.channel_message_id == channel_message_id
            )
            row = (await session.execute(query)).scalar_one_or_none()
            if row is None:
                return None
            return Redelivery(row.id, row.answered_at is not None, row.turn, row.parts_sent or 0)

    async def take(self, message_id: int, now: dt.datetime, until: dt.datetime) -> bool:
        """Hold an unanswered message whose earlier hold ended (a conditional UPDATE: one taker wins)."""
        return await self._set_where(
            message_id,
            (MessageRow.answered_at.is_(None), or_(MessageRow.lease_until.is_(None), MessageRow.lease_until <= now)),
            lease_until=until,
        )

    async def release(self, message_id: int) -> None:
        await self._set(message_id, lease_until=None)

    async def record_turn(self, message_id: int, contact_id: int, record: TurnRecord) -> bool:
        """What was understood, the replies as outbound messages, the turn to send and the person's language
        learned: one transaction.

        Conditional on the message being undecided, so two processes deciding it at once store one decision.
        Relaxed (bot/storage/commits.py): lost in a database crash, the stored message is decided again.
        """
        async with self._commits.relaxed_held() as held:
            return await statements.decide(held, message_id, contact_id, record, utc_now())

    async def mark_sent(self, message_id: int, parts_sent: int, lease_until: dt.datetime) -> None:
        """Relaxed: lost in a database crash, the parts already sent go again (a duplicate, nothing missing)."""
        async with self._commits.relaxed_statement_held() as held:
            await statements.mark_sent(held, message_id, parts_sent, lease_until)

    async def mark_answered(self, message_id: int) -> None:
        """The channel sent (or durably queued) the replies: they are no longer needed.

        Relaxed: lost in a database crash, the message shows unanswered and the recovery sweep answers it again.
        """
        async with self._commits.relaxed_statement_held() as held:
            await statements.mark_answered(held, message_id, utc_now())

    async def _set(self, message_id: int, **values: object) -> None:
        async with self._sessions() as session:
            await session.execute(
                update(MessageRow).where(MessageRow.id == message_id).values(**values), execution_options=UNSYNCED
            )
            await session.commit()

    async def _set_where(self, message_id: int, conditions: Sequence[object], **values: object) -> bool:
        async with self._sessions() as session:
            result = await session.execute(
                update(MessageRow).where(MessageRow.id == message_id, *conditions).values(**values),  # type: ignore[arg-type]
                execution_options=UNSYNCED,
            )
            await session.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def unanswered(
        self, channels: Sequence[str], *, stored_after: dt.datetime, stored_before: dt.datetime, now: dt.datetime
    ) -> list[Unanswered]:
        """Platform messages stored in that period, never answered and held by no process, oldest first."""
        query = (
            select(MessageRow, ContactRow.channel, ContactRow.platform_id)
            .join(ContactRow, ContactRow.id == MessageRow.contact_id)
            .where(
                MessageRow.direction == "in",
                MessageRow.answered_at.is_(None),
                MessageRow.channel_message_id.is_not(None),
                MessageRow.created_at > stored_after,
                MessageRow.created_at <= stored_before,
                or_(MessageRow.lease_until.is_(None), MessageRow.lease_until <= now),
                ContactRow.channel.in_(list(channels)),
            )
            .order_by(MessageRow.id)
            .limit(RECOVERY_BATCH)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [
            Unanswered(
                row.id,
                IncomingMessage(
                    channel=channel,
                    user_id=platform_id,
                    text=row.text,
                    payload=row.payload,
                    language_hint=row.language_hint,
                    attachment=row.attachment,
                    channel_message_id=row.channel_message_id,
                ),
            )
            for row, channel, platform_id in rows
        ]

    async def delete_contact(self, contact_id: int) -> None:
        """Delete everything stored about one person (explicitly, whatever the database's cascade support).

        Their platform message ids outlive them only as keyed hashes in `tombstones`, for TOMBSTONE_LIFETIME;
        copies elsewhere are queued for deletion there (bot/storage/burial.py).
        """
        async with self._sessions() as session:
            await bury(session, contact_id)
            await session.execute(delete(MessageRow).where(MessageRow.contact_id == contact_id))
            await session.execute(delete(ConversationRow).where(ConversationRow.contact_id == contact_id))
            await session.execute(delete(ContactRow).where(ContactRow.id == contact_id))
            await session.commit()

    async def forgotten(self, channel: str, channel_message_id: str) -> Language | None:
        """For a platform message of a person whose data was deleted: the language to say so in; else None."""
        async with self._sessions() as session:
            digests = session_keyring(session).blinds(f"{channel}:{channel_message_id}")  # also before a rotation
            query = select(TombstoneRow).where(TombstoneRow.digest.in_(digests), TombstoneRow.expires_at > utc_now())
            row = (await session.execute(query.limit(1))).scalars().first()
            if row is None:
                return None
            return row.language if row.language in LANGUAGES else FALLBACK_LANGUAGE

    async def purge_tombstones(self, _cutoff: dt.datetime) -> int:
        """Tombstones go when their own lifetime ends, not with the retention period."""
        async with self._sessions() as session:
            result = await session.execute(delete(TombstoneRow).where(TombstoneRow.expires_at <= utc_now()))
            await session.commit()
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def purge_older_than(self, cutoff: dt.datetime) -> int:
        """Delete message texts older than the retention period; returns how many messages went."""
        async with self._sessions() as session:
            result = await session.execute(delete(MessageRow).where(MessageRow.created_at < cutoff))
            await session.commit()
            return int(result.rowcount or 0)  # type: ignore[attr-defined]


class _ContactRace(Exception):
    """The person was created by a concurrent message between looking for them and creating them."""
