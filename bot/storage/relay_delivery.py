"""A relay's delivery state from the WhatsApp messages carrying it (Twilio's statuses, mapped): the worst part.

A lawyer's answer longer than one WhatsApp message goes out as several (bot/channels/split.py); the person has
the answer only once every part arrived. So the relay shows its least advanced part, and "failed" (with that
part's code) while any part failed. Only the first part used to count: an answer whose second part failed
showed as delivered.

Written inside the ledger's own transactions (bot/storage/whatsapp.py), so a status and the relay's state never
disagree. The state is worked out again from the parts after each change; a part's own status only moves up
(the ledger's conditional updates), so a late or repeated callback changes nothing. A part refused outside the
24-hour window is sent again as a new message that takes its place (`carried_by_resend`): until that one is
accepted it still shows the failure and its code.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.records.cases import DELIVERY_RANK, DeliveryState
from bot.records.whatsapp import HELD, READY, SUBMITTING
from bot.storage.handoff_tables import RelayRow
from bot.storage.tables import WhatsAppDeliveryRow

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
NOT_YET_AT_TWILIO = (HELD, READY, SUBMITTING)


def part_state(status: str, error_code: int | None) -> DeliveryState:
    """One part's state; one still in the outbox with a code is the resend of a refused part: failed until sent."""
    if status in NOT_YET_AT_TWILIO:
        return DeliveryState.FAILED if error_code is not None else DeliveryState.QUEUED
    return TWILIO_TO_STATE.get(status, DeliveryState.QUEUED)


def worst(parts: list[tuple[DeliveryState, int | None]]) -> tuple[DeliveryState, int | None]:
    """Failed (the first failed part's code) if any part failed, else the least advanced part."""
    failed = [code for state, code in parts if state is DeliveryState.FAILED]
    if failed:
        return DeliveryState.FAILED, failed[0]
    return min((state for state, _code in parts), key=DELIVERY_RANK.__getitem__), None


async def refresh(session: AsyncSession | AsyncConnection, relay_id: int) -> None:
    """Set the relay's state from every message carrying it; it names the first part's Twilio message."""
    query = (
        select(WhatsAppDeliveryRow.status, WhatsAppDeliveryRow.error_code, WhatsAppDeliveryRow.message_sid)
        .where(WhatsAppDeliveryRow.relay_id == relay_id)
        .order_by(WhatsAppDeliveryRow.id)
    )
    rows = (await session.execute(query)).all()
    if not rows:
        return
    state, error_code = worst([(part_state(status, code), code) for status, code, _sid in rows])
    first_sid = rows[0].message_sid
    await session.execute(
        update(RelayRow)
        .where(RelayRow.id == relay_id)
        .values(delivery=state.value, error_code=error_code, message_sid=first_sid)
    )


async def carried_by_resend(session: AsyncSession, refused_delivery_id: int) -> None:
    """The refused message no longer carries its relay: the resend that takes its place does."""
    await session.execute(
        update(WhatsAppDeliveryRow).where(WhatsAppDeliveryRow.id == refused_delivery_id).values(relay_id=None)
    )
