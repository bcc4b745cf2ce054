"""The statements of a turn's hot path, in SQLAlchemy Core: built once, compiled once (the engine's cache).

A turn writes the same few statements every time; the ORM's unit of work (identity map, flush, attribute
events) cost more CPU than the database did (issue 15's profile: SQLAlchemy ~41 % of a turn). These run on
the driver connection a turn step holds (bot/storage/driver.py: compiled once per dialect, bound by the column
types), inside the caller's transaction; `RETURNING` gives the ids a re-select gave before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.ports import ContactRecord, TurnRecord
from bot.languages import LANGUAGES
from bot.storage.driver import Held
from bot.storage.tables import ContactRow, ConversationRow, MessageRow, TombstoneRow

MAX_STORED_CHARS = 8000  # long texts are kept whole up to this size; the rest of a 20,000-character paste adds nothing

_contacts: Table = ContactRow.__table__  # type: ignore[assignment]  # declared tables are Tables
_conversations: Table = ConversationRow.__table__  # type: ignore[assignment]  # declared tables are Tables
_messages: Table = MessageRow.__table__  # type: ignore[assignment]  # declared tables are Tables
_tombstones: Table = TombstoneRow.__table__  # type: ignore[assignment]  # declared tables are Tables

# Bound parameters are named p_*: a name of a column the statement writes is reserved for its VALUES / SET.

_TOMBSTONE = (
    select(_tombstones.c.language)
    .where(
        _tombstones.c.digest.in_(bindparam("p_digests", expanding=True)), _tombstones.c.expires_at > bindparam("p_now")
    )
    .limit(1)
)
# The person, found by the keyed hash of their platform id under every key (rows from before a rotation), and
# marked seen in the same statement; it also answers whether the message is a forgotten person's (a tombstone),
# so a returning person's message costs no statement of its own for that (the caller rolls the mark back then).
_TOUCH_CONTACT = (
    update(_contacts)
    .where(
        _contacts.c.id
        == select(_contacts.c.id)
        .where(
            _contacts.c.channel == bindparam("p_channel"),
            _contacts.c.platform_hash.in_(bindparam("p_hashes", expanding=True)),
        )
        .order_by(_contacts.c.id)
        .limit(1)
        .scalar_subquery()
    )
    .values(last_seen_at=bindparam("p_now"))
    .returning(
        _contacts.c.id,
        _contacts.c.language,
        _contacts.c.language_chosen,
        _TOMBSTONE.scalar_subquery().label("forgotten"),
    )
)
_NEW_CONTACT = insert(_contacts).returning(_contacts.c.id)
# The person's latest conversation goes on unless it has been idle too long.
_CONTINUE_CONVERSATION = (
    update(_conversations)
    .where(
        _conversations.c.id
        == select(_conversations.c.id)
        .where(_conversations.c.contact_id == bindparam("p_contact_id"))
        .order_by(_conversations.c.id.desc())
        .limit(1)
        .scalar_subquery(),
        _conversations.c.last_message_at > bindparam("p_idle_since"),
    )
    .values(last_message_at=bindparam("p_now"))
    .returning(_conversations.c.id)
)
_NEW_CONVERSATION = insert(_conversations).returning(_conversations.c.id)
_NEW_MESSAGE = insert(_messages).returning(_messages.c.id)
_NEW_MESSAGES = insert(_messages)
# Conditional on the message being undecided, so two processes deciding it at once store one decision.
_DECIDE = (
    update(_messages)
    .where(_messages.c.id == bindparam("p_message_id"), _messages.c.turn.is_(None), _messages.c.answered_at.is_(None))
    .values(
        intent=bindparam("p_intent"),
        confidence=bindparam("p_confidence"),
        language=bindparam("p_language"),
        turn=bindparam("p_turn"),
        parts_sent=0,
    )
    .returning(_messages.c.conversation_id)
)
# The channel sent the replies, or holds them durably (WhatsApp's outbox): a redelivery gets no second answer.
_ANSWERED = (
    update(_messages)
    .where(_messages.c.id == bindparam("p_message_id"))
    .values(answered_at=bindparam("p_now"), turn=None, lease_until=None)
)
# A part went out: a replay goes on after it, and the hold is renewed.
_SENT = (
    update(_messages)
    .where(_messages.c.id == bindparam("p_message_id"))
    .values(parts_sent=bindparam("p_parts_sent"), lease_until=bindparam("p_lease_until"))
)
_LEARN_LANGUAGE = (
    update(_contacts)
    .where(_contacts.c.id == bindparam("p_contact_id"), _contacts.c.language_chosen.is_(False))
    .values(language=bindparam("p_language"))
)


def contact_record(channel: str, platform_id: str, row: Sequence[Any]) -> ContactRecord:
    """A person from a row of (id, language, language_chosen, ...)."""
    contact_id, language, chosen = row[0], row[1], row[2]
    return ContactRecord(
        id=contact_id,
        channel=channel,
        platform_id=platform_id,
        language=language if language in LANGUAGES else None,
        language_chosen=bool(chosen),
    )


async def forgotten_language(held: Held, digests: Sequence[str], now: dt.datetime) -> str | None:
    """The language of the tombstone among `digests` still in force, if any."""
    if not digests:
        return None
    rows = await held.rows(_TOMBSTONE, {"p_digests": list(digests), "p_now": now})
    return rows[0][0] if rows else None


async def touch_contact(
    held: Held,
    channel: str,
    platform_id: str,
    hashes: Sequence[str],
    digests: Sequence[str],
    now: dt.datetime,
) -> tuple[ContactRecord | None, str | None]:
    """The person, marked seen now (None when there is no such person), and the language of the tombstone among
    `digests` still in force (None when there is none, or no such person: then ask `forgotten_language`)."""
    params = {"p_channel": channel, "p_hashes": list(hashes), "p_digests": list(digests), "p_now": now}
    rows = await held.rows(_TOUCH_CONTACT, params)
    if not rows:
        return None, None
    return contact_record(channel, platform_id, rows[0]), rows[0][3]


async def add_contact(
    held: Held, channel: str, platform_id: str, platform_hash: str, now: dt.datetime
) -> ContactRecord:
    values = {
        "channel": channel,
        "platform_id": platform_id,
        "platform_hash": platform_hash,
        "language_chosen": False,
        "created_at": now,
        "last_seen_at": now,
    }
    ((contact_id,),) = await held.rows(_NEW_CONTACT, values)
    return ContactRecord(id=contact_id, channel=channel, platform_id=platform_id, language=None, language_chosen=False)


async def conversation_for(
    held: Held, contact_id: int, now: dt.datetime, idle: dt.timedelta, *, new_contact: bool
) -> int:
    """The conversation a message of this person at `now` belongs to: the latest one unless idle, else a new one."""
    if not new_contact:
        params = {"p_contact_id": contact_id, "p_idle_since": now - idle, "p_now": now}
        if current := await held.rows(_CONTINUE_CONVERSATION, params):
            return int(current[0][0])
    values = {"contact_id": contact_id, "started_at": now, "last_message_at": now}
    ((conversation_id,),) = await held.rows(_NEW_CONVERSATION, values)
    return int(conversation_id)


async def add_message(held: Held, values: Mapping[str, object]) -> int:
    ((message_id,),) = await held.rows(_NEW_MESSAGE, values)
    return int(message_id)


async def decide(held: Held, message_id: int, contact_id: int, record: TurnRecord, now: dt.datetime) -> bool:
    """The decision on the message, its replies as outbound messages in its conversation, the person's language."""
    params = {
        "p_message_id": message_id,
        "p_intent": record.intent,
        "p_confidence": record.confidence,
        "p_language": record.language,
        "p_turn": record.turn,
    }
    decided = await held.rows(_DECIDE, params)
    if not decided:
        return False
    conversation_id = decided[0][0]
    replies = [
        {
            "conversation_id": conversation_id,
            "contact_id": contact_id,
            "direction": "out",
            "text": text[:MAX_STORED_CHARS],
            "intent": record.intent,
            "language": record.language,
            "parts_sent": 0,
            "created_at": now,
        }
        for text in record.replies
    ]
    if replies:
        await held.run_many(_NEW_MESSAGES, replies)
    if record.contact_language is not None:
        await held.run(_LEARN_LANGUAGE, {"p_contact_id": contact_id, "p_language": record.contact_language})
    return True


async def mark_answered(on: AsyncConnection | Held, message_id: int, now: dt.datetime) -> None:
    """On a turn's held driver connection, or inside a SQLAlchemy transaction (the WhatsApp ledger's)."""
    params = {"p_message_id": message_id, "p_now": now}
    if isinstance(on, Held):
        await on.run(_ANSWERED, params)
    else:
        await on.execute(_ANSWERED, params)


async def mark_sent(held: Held, message_id: int, parts_sent: int, lease_until: dt.datetime) -> None:
    params = {"p_message_id": message_id, "p_parts_sent": parts_sent, "p_lease_until": lease_until}
    await held.run(_SENT, params)
