"""What "delete my data" leaves behind on purpose, and what it sends after the person's copies elsewhere.

- a tombstone per platform message id of theirs: its keyed hash, the language to answer in, an expiry, so a
  redelivered or replayed webhook is answered "Done" instead of re-creating them (bot/core/conversation.py);
- `remote_erasures` entries (bot/storage/erasures.py): their WhatsApp messages at Twilio, what Pana relayed
  about them to a lawyer's Telegram chat, and a word to the lawyer of an open case.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import utc_now
from bot.languages import FALLBACK_LANGUAGE, LANGUAGES
from bot.records.cases import CaseStatus
from bot.storage.handoff_tables import CaseRow, LawyerMessageRow, LawyerRow
from bot.storage.sealing import session_keyring
from bot.storage.tables import ContactRow, MessageRow, RemoteErasureRow, TombstoneRow, WhatsAppDeliveryRow

# How long a deleted person's platform message ids are remembered (as keyed hashes): Telegram keeps an
# unconfirmed update for 24 hours and Twilio retries within minutes; a week also covers a queue replayed late.
TOMBSTONE_LIFETIME = dt.timedelta(days=7)
# Channels whose platform keeps copies Pana can delete: Twilio's Messages API deletes a WhatsApp message by SID.
REMOTE_COPIES = frozenset({"whatsapp"})


def delivery_digest(session: AsyncSession, channel: str, channel_message_id: str) -> str:
    return session_keyring(session).blind(f"{channel}:{channel_message_id}")


async def bury(session: AsyncSession, contact_id: int) -> None:
    """Before a person is deleted (same transaction): tombstones of their message ids, copies elsewhere queued."""
    contact = await session.get(ContactRow, contact_id)
    if contact is None:
        return
    query = select(MessageRow.channel_message_id).where(
        MessageRow.contact_id == contact_id, MessageRow.channel_message_id.is_not(None)
    )
    message_ids = {str(channel_message_id) for channel_message_id in (await session.execute(query)).scalars()}
    if contact.channel in REMOTE_COPIES:
        await _erase_remotely(session, contact.channel, contact_id, message_ids)
    await _withdraw_from_lawyers(session, contact_id)
    digests = {delivery_digest(session, contact.channel, message_id) for message_id in message_ids}
    known = select(TombstoneRow.digest).where(TombstoneRow.digest.in_(digests))
    digests -= set((await session.execute(known)).scalars())
    expires_at = utc_now() + TOMBSTONE_LIFETIME
    language = contact.language if contact.language in LANGUAGES else FALLBACK_LANGUAGE
    session.add_all(TombstoneRow(digest=digest, language=language, expires_at=expires_at) for digest in digests)
    await session.flush()


async def _erase_remotely(session: AsyncSession, channel: str, contact_id: int, inbound: set[str]) -> None:
    """Queue the person's messages at the platform, received and sent, for deletion there (the channel does it)."""
    sent = select(WhatsAppDeliveryRow.message_sid).where(
        WhatsAppDeliveryRow.contact_id == contact_id, WhatsAppDeliveryRow.message_sid.is_not(None)
    )
    remote_ids = inbound | {str(sid) for sid in (await session.execute(sent)).scalars()}
    known = select(RemoteErasureRow.remote_id).where(
        RemoteErasureRow.channel == channel, RemoteErasureRow.remote_id.in_(remote_ids)
    )
    remote_ids -= set((await session.execute(known)).scalars())
    session.add_all(RemoteErasureRow(channel=channel, remote_id=remote_id, attempts=0) for remote_id in remote_ids)


async def _withdraw_from_lawyers(session: AsyncSession, contact_id: int) -> None:
    """Queue the messages in lawyers' chats about the person's cases, and a word to each lawyer of an open case.

    All of them: Telegram itself refuses to let a bot delete one older than 48 hours (taken as done then).
    """
    recent = (
        select(LawyerMessageRow.chat_id, LawyerMessageRow.message_id)
        .join(CaseRow, CaseRow.id == LawyerMessageRow.case_id)
        .where(CaseRow.contact_id == contact_id)
    )
    entries = {("telegram", f"{chat_id}:{message_id}") for chat_id, message_id in (await session.execute(recent)).all()}
    lawyers = (
        select(CaseRow.id, LawyerRow.telegram_id, LawyerRow.languages)
        .join(LawyerRow, LawyerRow.id == CaseRow.lawyer_id)
        .where(CaseRow.contact_id == contact_id, CaseRow.status != CaseStatus.CLOSED.value)
    )
    for case_id, telegram_id, languages in (await session.execute(lawyers)).all():
        language = languages.split(",")[0] or FALLBACK_LANGUAGE
        entries.add(("telegram-notice", f"{telegram_id}:{case_id}:{language}"))
    session.add_all(RemoteErasureRow(channel=channel, remote_id=remote, attempts=0) for channel, remote in entries)
