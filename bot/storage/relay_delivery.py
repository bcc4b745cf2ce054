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

from sqlalchemy import Table, bindparam, select, update
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


_deliveries: Table = WhatsAppDeliveryRow.__table__  # type: ignore[assignment]  # a declared table is a Table
_relays: Table = RelayRow.__table__  # type: ignore[assignment]
# Built once (a relay's parts, then its state): SQLAlchemy builds nothing per status change.
_PARTS = (
    select(_deliveries.c.status, _deliveries.c.error_code, _deliveries.c.message_sid)
    .where(_deliveries.c.relay_id == bindparam("p_relay"))
    .order_by(_deliveries.c.id)
)
_SET_STATE = (
    update(_relays)
    .where(_relays.c.id == bindparam("p_relay"))
    .values(delivery=bindparam("p_state"), error_code=bindparam("p_code"), message_sid=bindparam("p_sid"))
)
_NO_LONGER_CARRIES = update(_deliveries).where(_deliveries.c.id == bindparam("p_id")).values(relay_id=None)


async def refresh(session: AsyncSession | AsyncConnection, relay_id: int) -> None:
    """Set the relay's state from every message carrying it; it names the first part's Twilio message."""
    rows = (await session.execute(_PARTS, {"p_relay": relay_id})).all()
    if not rows:
        return
    state, error_code = worst([(part_state(status, code), code) for status, code, _sid in rows])
    params = {"p_relay": relay_id, "p_state": state.value, "p_code": error_code, "p_sid": rows[0].message_sid}
    await session.execute(_SET_STATE, params)


async def carried_by_resend(session: AsyncSession | AsyncConnection, refused_delivery_id: int) -> None:
    """The refused message no longer carries its relay: the resend that takes its place does."""
    await session.execute(_NO_LONGER_CARRIES, {"p_id": refused_delivery_id})
