"""What the case queue needs from outside: its stores, sending to a user, and writing to lawyers in Telegram.

The stores are implemented on SQLAlchemy in bot/storage/ (`SqlCaseStore`, `SqlLawyerStore`, `SqlRelayStore`);
tests may use the in-memory ones in tests/fakes/.

Each channel that can reach its users outside a reply implements `UserSender`; the composition root
registers it under the channel's name (see `Outbox.register_sender`). Lawyers work in Telegram, so
`LawyerNotifier` has one implementation, in bot/channels/telegram/lawyers.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Protocol

from bot.core.messages import Option, Reply
from bot.core.ports import ContactRecord
from bot.languages import Language
from bot.records.cases import CaseRecord, Direction, LawyerRecord, NewCase, RelayKind, RelayRecord

__all__ = ["CaseStore", "LawyerNotifier", "LawyerStore", "RelayStore", "UserSender"]


class UserSender(Protocol):
    async def send(
        self,
        contact: ContactRecord,
        text: str,
        language: Language,
        options: tuple[Option, ...] = (),
        *,
        relay_id: int | None = None,
    ) -> bool:
        """Hand a text to the channel for this contact, whenever it is; False means "try again later".

        True means the channel accepted it for delivery: WhatsApp may hold it until the person writes
        again (the 24-hour window) and send the approved template meanwhile. `relay_id` names the relay
        it carries, for a channel that reports delivery later (WhatsApp's status callbacks update it).
        """
        ...


class LawyerNotifier(Protocol):
    async def send(self, chat_id: int, reply: Reply) -> tuple[str, ...]:
        """Write to a lawyer's chat (or the lawyers' group): the ids of the messages sent, none on failure.

        A long text may take several messages; a lawyer may answer any of them.
        """
        ...

    async def delete(self, chat_id: int, message_id: str) -> bool:
        """Remove a message Pana sent to a lawyer's chat; True also when it is gone or too old to delete."""
        ...


class RemoteErasures(Protocol):
    """Copies of a deleted person's messages outside Pana, queued for deletion (bot/storage/erasures.py)."""

    async def pending(self, channel: str, limit: int = 100) -> list[tuple[int, str]]: ...

    async def done(self, erasure_id: int) -> None: ...

    async def failed(self, erasure_id: int) -> bool: ...


class CaseStore(Protocol):
    """The case queue's record: cases, their notes and the audit trail (bot/storage/cases.py)."""

    async def get(self, case_id: int) -> CaseRecord | None: ...

    async def open_case_of(self, contact_id: int) -> CaseRecord | None: ...

    async def latest_closed(self, contact_id: int, since: dt.datetime) -> CaseRecord | None: ...

    async def waiting(self) -> list[CaseRecord]: ...

    async def assigned_to(self, lawyer_id: int) -> list[CaseRecord]: ...

    async def position(self, case: CaseRecord) -> int:
        """1 for the next case a lawyer should take; urgent cases go before the others, then the oldest."""
        ...

    async def due_announcements(self, reannounce_before: dt.datetime) -> list[CaseRecord]:
        """Waiting cases never announced, or announced before the given moment."""
        ...

    async def idle_assigned(self, inactive_since: dt.datetime) -> list[CaseRecord]: ...

    async def recent_user_texts(self, contact_id: int, limit: int, since: dt.datetime | None = None) -> list[str]:
        """The person's last written messages, oldest first (what the lawyer is shown, with consent)."""
        ...

    async def open(self, new: NewCase, now: dt.datetime) -> CaseRecord | None:
        """Open a waiting case; None when the person already has an open one (the database refuses two)."""
        ...

    async def claim(self, case_id: int, lawyer_id: int, now: dt.datetime) -> bool:
        """waiting → assigned to this lawyer; False when someone else was first (or it is not waiting)."""
        ...

    async def release(self, case_id: int, lawyer_id: int, now: dt.datetime) -> bool:
        """assigned (to this lawyer) → waiting, announced again."""
        ...

    async def return_idle(self, case_id: int, inactive_since: dt.datetime, now: dt.datetime) -> bool:
        """assigned → waiting when the lawyer has not acted since `inactive_since` (checked in the UPDATE)."""
        ...

    async def close(self, case_id: int, lawyer_id: int, outcome: str, now: dt.datetime) -> bool: ...

    async def rate(self, case_id: int, contact_id: int, rating: int, now: dt.datetime) -> bool:
        """Record the person's rating once, for their own closed case."""
        ...

    async def set_city(self, case_id: int, contact_id: int, city: str) -> bool:
        """Record the city the person named, on their own open case; False for anyone else's or a closed one."""
        ...

    async def claim_announcement(
        self, case_id: int, reannounce_before: dt.datetime, now: dt.datetime, lease_until: dt.datetime
    ) -> bool:
        """Take the lease to announce a waiting case; False when another process holds it (or it was taken)."""
        ...

    async def confirm_announcement(self, case_id: int, now: dt.datetime) -> bool:
        """The announcement went out: the case counts as announced from now."""
        ...

    async def unclaim_announcement(self, case_id: int, now: dt.datetime) -> bool:
        """No lawyer could be told after all: the next sweep announces the case again."""
        ...

    async def opened_since(self, contact_id: int, since: dt.datetime) -> int:
        """How many cases this person opened since the moment (the daily cap)."""
        ...

    async def lawyer_acted(self, case_id: int, lawyer_id: int, action: str, now: dt.datetime) -> bool:
        """Note the holding lawyer's activity (it keeps the case from returning to the queue)."""
        ...

    async def add_note(self, case_id: int, lawyer_id: int, text: str, now: dt.datetime) -> bool:
        """A note by the lawyer holding the case; False for anyone else, and for a waiting or closed case."""
        ...

    async def notes(self, case_id: int) -> list[str]: ...

    async def audit(
        self, actor: str, action: str, now: dt.datetime, *, lawyer_id: int | None = None, case_id: int | None = None
    ) -> None:
        """Record an action that changes nothing (a lawyer viewing the queue, a refused claim)."""
        ...


class LawyerStore(Protocol):
    """Registered lawyers and the case each is answering now (bot/storage/lawyers.py)."""

    async def add(self, telegram_id: int, name: str, languages: tuple[Language, ...]) -> LawyerRecord:
        """Register a lawyer, or update and reactivate one registered before."""
        ...

    async def deactivate(self, telegram_id: int) -> tuple[LawyerRecord, int] | None:
        """Stop a lawyer from seeing or acting on cases; the cases they held go back to the queue.

        Their record stays for the audit trail. Returns the lawyer and how many cases went back.
        """
        ...

    async def all(self) -> list[LawyerRecord]: ...

    async def active(self) -> list[LawyerRecord]: ...

    async def any_active(self) -> bool:
        """Whether any lawyer is active; may be a few seconds old (it says what to tell a person, not who acts)."""
        ...

    async def active_by_telegram_id(self, telegram_id: int) -> LawyerRecord | None:
        """The active lawyer with this Telegram id, never one removed (asked on every Telegram update)."""
        ...

    async def get(self, lawyer_id: int) -> LawyerRecord | None: ...

    async def set_current_case(self, lawyer_id: int, case_id: int | None) -> None: ...


class RelayStore(Protocol):
    """Messages passed between a person and a lawyer, with their delivery state (bot/storage/relays.py)."""

    async def add(
        self,
        case_id: int,
        direction: Direction,
        kind: RelayKind,
        text: str,
        now: dt.datetime,
        *,
        lawyer_id: int | None = None,
        source_message_id: int | None = None,
    ) -> RelayRecord:
        """Store a relay, pending; with `source_message_id`, the one stored before for that message if any."""
        ...

    async def claim(self, relay_id: int, now: dt.datetime) -> RelayRecord | None:
        """Take the relay for one delivery attempt; None when it is sent, failed or being sent elsewhere."""
        ...

    async def due(
        self, now: dt.datetime, *, user_channels: Collection[str], to_lawyers: bool, limit: int = 100
    ) -> list[RelayRecord]:
        """Pending relays due now that this process can deliver, oldest first (a conversation keeps its order).

        Filtered here, not after: relays only another process can reach must not fill the batch and starve
        the ones this process can send.
        """
        ...

    async def sent(self, relay_id: int, now: dt.datetime) -> None: ...

    async def retry_at(self, relay_id: int, moment: dt.datetime) -> None: ...

    async def failed(self, relay_id: int) -> None: ...

    async def map_message(self, case_id: int, chat_id: int, message_id: str, now: dt.datetime) -> None:
        """Remember that a message in a lawyer's chat belongs to a case, so a reply to it reaches the user."""
        ...

    async def case_of_message(self, chat_id: int, message_id: str) -> int | None: ...
