"""A relay's delivery state as it follows the WhatsApp message carrying it (Twilio's statuses, mapped).

Written inside the ledger's own transactions (bot/storage/whatsapp.py), so a status and the relay's state
never disagree. Each update is conditional: the state only moves up DELIVERY_RANK, and only for the message
the relay follows (`relays.message_sid`), so a late or repeated callback, or one for an older attempt,
changes nothing.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.records.cases import DELIVERY_RANK, DeliveryState
from bot.storage.handoff_tables import RelayRow

TWILIO_TO_STATE = {
    "accepted": DeliveryState.QUEUED,
    "scheduled": DeliveryState.QUEUED,
    "queued": DeliveryState.QUEUED,
    "sending": DeliveryState.QUEUED,
    "sent": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.READ,
    "undelivered": DeliveryState.FAILED,
    "failed": DeliveryState.FAILED,
    "canceled": DeliveryState.FAILED,
}


def _below(state: DeliveryState) -> list[str]:
    return [s.value for s, rank in DELIVERY_RANK.items() if rank < DELIVERY_RANK[state]]


async def queued(session: AsyncSession, relay_id: int) -> None:
    """A new WhatsApp message carries the relay: it shows `queued`, or keeps showing an earlier failure
    (with its code) until the new message is accepted, which it then follows instead."""
    await session.execute(
        update(RelayRow).where(RelayRow.id == relay_id, RelayRow.delivery.is_(None)).values(delivery="queued")
    )
    await session.execute(
        update(RelayRow)
        .where(RelayRow.id == relay_id, RelayRow.delivery == DeliveryState.FAILED.value)
        .values(message_sid=None)
    )


async def follow(session: AsyncSession, relay_id: int, message_sid: str) -> None:
    """Twilio accepted a message carrying the relay: the relay follows it unless it follows one already."""
    await session.execute(
        update(RelayRow)
        .where(RelayRow.id == relay_id, RelayRow.message_sid.is_(None))
        .values(message_sid=message_sid, delivery=DeliveryState.QUEUED.value, error_code=None)
    )


async def advance(
    session: AsyncSession, relay_id: int, message_sid: str | None, twilio_status: str, error_code: int | None
) -> None:
    """Move the relay's state up to what Twilio said of the message it follows (a None SID: refused at once)."""
    state = TWILIO_TO_STATE.get(twilio_status)
    if state is None:
        return
    values: dict[str, object] = {"delivery": state.value}
    if state is DeliveryState.FAILED:
        values["error_code"] = error_code
    same_message = RelayRow.message_sid.is_(None) if message_sid is None else RelayRow.message_sid == message_sid
    await session.execute(
        update(RelayRow)
        .where(RelayRow.id == relay_id, same_message, RelayRow.delivery.in_(_below(state)))
        .values(**values)
    )
