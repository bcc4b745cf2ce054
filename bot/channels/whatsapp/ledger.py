"""The WhatsApp delivery ledger as the channel needs it (the values it holds are in bot/records/whatsapp.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from bot.records.whatsapp import Delivery, Outgoing, StatusChange, Window


class DeliveryLedger(Protocol):
    async def note_inbound(self, platform_id: str, at: dt.datetime) -> None:
        """Remember that the contact wrote at `at` (their window is open for 24 hours)."""
        ...

    async def window(self, platform_id: str) -> Window: ...

    async def note_invited(self, platform_id: str, at: dt.datetime) -> None: ...

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
        """Store deliveries in order, `ready` to send (or `held` for the window); their ids.

        With `reply_to` (the inbound message they answer) they are stored once: none if they were before.
        With `relay_id` (a lawyer's answer or a case notice) the relay's delivery state follows them: every part,
        the worst one shown. `resend_of`: a message refused outside the window, whose relay these carry instead.
        """
        ...

    async def answer(
        self, platform_id: str, messages: Sequence[Outgoing], *, reply_to: int | None, wrote_at: dt.datetime | None
    ) -> int:
        """A turn's replies, in one transaction: the window opened at `wrote_at` (None: a replay by the recovery
        sweep), the contact's held deliveries released to go first, the replies queued `ready` once per
        `reply_to` (the inbound message they answer), which is marked answered: the outbox holds its replies.
        How many held deliveries were released."""
        ...

    async def release_held(self, platform_id: str) -> int:
        """Make the contact's held deliveries ready; how many there were."""
        ...

    async def held_count(self, platform_id: str) -> int: ...

    async def claim_next(self, platform_id: str) -> Delivery | None:
        """The contact's oldest ready delivery, marked `submitting` so no other sender takes it."""
        ...

    async def renew(self, delivery: Delivery) -> bool:
        """Its sender tries again: the claim's lease starts again; False when the claim is no longer that one
        (its lease ran out and it was taken back as cut off by a crash)."""
        ...

    async def submitted(self, delivery_id: int, message_sid: str, status: str) -> None: ...

    async def submitted_then_next(
        self, delivery_id: int, message_sid: str, status: str, platform_id: str
    ) -> Delivery | None:
        """`submitted`, then `claim_next(platform_id)`, in one transaction."""
        ...

    async def failed(self, delivery_id: int, error_code: int | None) -> None: ...

    async def hold(self, delivery_id: int) -> None:
        """Put a delivery back to wait for the window (Twilio said it is closed)."""
        ...

    async def record_status(
        self, delivery_id: int | None, message_sid: str, status: str, error_code: int | None
    ) -> StatusChange | None:
        """Apply a status callback; None when no delivery matches."""
        ...

    async def recipients_to_resume(
        self, stale_before: dt.datetime, *, ready_before: dt.datetime | None = None
    ) -> list[str]:
        """Contacts with ready deliveries (left since before `ready_before`, if given), after returning `submitting`
        ones whose claim was last taken or renewed before `stale_before` to ready."""
        ...

    async def erasures(self, limit: int = 100) -> list[tuple[int, str]]:
        """(id, message SID) of a deleted person's messages still to delete at Twilio."""
        ...

    async def erased(self, erasure_id: int) -> None: ...

    async def erase_failed(self, erasure_id: int) -> bool:
        """Count a failed attempt; True when the entry was given up on."""
        ...

    async def purge_older_than(self, cutoff: dt.datetime) -> int: ...
