"""The statements of a WhatsApp turn's replies (`SqlWhatsAppLedger.answer`), in SQLAlchemy Core, built once.

They run on every WhatsApp turn, in the one transaction that opens the window, releases what waited for it,
queues the replies and marks the message answered; through the ORM (a session, a flush per row) they cost
more CPU than the rest of the turn's storage together (cProfile of `python -m bench --profile`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Table, TextClause, bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.records.whatsapp import HELD, READY, Outgoing
from bot.storage import turn_statements
from bot.storage.tables import ContactRow, WhatsAppDeliveryRow, WhatsAppWindowRow

_contacts: Table = ContactRow.__table__  # type: ignore[assignment]  # a declared table is a Table
_deliveries: Table = WhatsAppDeliveryRow.__table__  # type: ignore[assignment]
_windows: Table = WhatsAppWindowRow.__table__  # type: ignore[assignment]

# Bound parameters are named p_*: a written column's name is reserved for its VALUES / SET.
_CONTACT_ID = (
    select(_contacts.c.id)
    .where(
        _contacts.c.channel == bindparam("p_channel"),
        _contacts.c.platform_hash.in_(bindparam("p_hashes", expanding=True)),
    )
    .order_by(_contacts.c.id)
    .limit(1)
)
_RELEASE = (
    update(_deliveries)
    .where(_deliveries.c.recipient_hash.in_(bindparam("p_hashes", expanding=True)), _deliveries.c.status == HELD)
    .values(status=READY, updated_at=bindparam("p_now"))
)
_NEW_DELIVERY = insert(_deliveries)


def _window_upsert(dialect: str) -> TextClause:
    """The first message opens the window; a later one moves it on, one that arrives late never back.

    A dialect's INSERT ... ON CONFLICT has no cache key (SQLAlchemy compiled it again on every turn): compiled
    here once, it runs as text whose parameters keep the columns' types.
    """
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(_windows).values(
        contact_id=bindparam("contact_id"), last_inbound_at=bindparam("last_inbound_at")
    )
    upsert = statement.on_conflict_do_update(
        index_elements=[_windows.c.contact_id],
        set_={"last_inbound_at": statement.excluded.last_inbound_at},
        where=_windows.c.last_inbound_at < statement.excluded.last_inbound_at,
    )
    sql = str(upsert.compile(dialect=module.dialect(paramstyle="named")))
    return text(sql).bindparams(
        bindparam("contact_id", type_=_windows.c.contact_id.type),
        bindparam("last_inbound_at", type_=_windows.c.last_inbound_at.type),
    )


_WINDOW_UPSERT = {dialect: _window_upsert(dialect) for dialect in ("postgresql", "sqlite")}


async def answer(
    connection: AsyncConnection,
    *,
    channel: str,
    platform_id: str,
    hashes: Sequence[str],
    messages: Sequence[Outgoing],
    reply_to: int | None,
    wrote_at: dt.datetime | None,
    now: dt.datetime,
) -> int:
    """See `SqlWhatsAppLedger.answer`; `hashes` are the number's keyed hashes, the current key's first."""
    contact_id = (await connection.execute(_CONTACT_ID, {"p_channel": channel, "p_hashes": list(hashes)})).scalar()
    released = 0
    if wrote_at is not None:
        if contact_id is not None:  # None: the contact was just deleted at their request
            upsert = _WINDOW_UPSERT[connection.dialect.name]
            await connection.execute(upsert, {"contact_id": contact_id, "last_inbound_at": wrote_at})
        result = await connection.execute(_RELEASE, {"p_hashes": list(hashes), "p_now": now})
        released = int(result.rowcount or 0)
    for part, message in enumerate(messages):  # one by one, so ids follow the order the messages must arrive in
        values = {
            "contact_id": contact_id,
            "recipient": platform_id,
            "recipient_hash": hashes[0],
            "language": message.language,
            "body": message.body,
            "content_sid": message.content_sid,
            "content_variables": message.content_variables,
            "status": READY,
            "attempts": 0,
            "reply_key": None if reply_to is None else f"{reply_to}:{part}",
            "relay_id": None,
            "created_at": now,
            "updated_at": now,
        }
        await connection.execute(_NEW_DELIVERY, values)
    if reply_to is not None:
        await turn_statements.mark_answered(connection, reply_to, now)
    return released
