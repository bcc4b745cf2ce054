"""The values of the case queue that cross layers (storage hands these out, never ORM rows)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from bot.languages import FALLBACK_LANGUAGE, Language

__all__ = [
    "CITIES",
    "DELIVERY_RANK",
    "CaseRecord",
    "CaseStatus",
    "DeliveryState",
    "Direction",
    "LawyerRecord",
    "NewCase",
    "Reason",
    "RelayKind",
    "RelayRecord",
    "RelayStatus",
]


class CaseStatus(StrEnum):
    WAITING = "waiting"  # in the queue, no lawyer yet
    ASSIGNED = "assigned"  # one lawyer holds it; the user's messages are relayed to them
    CLOSED = "closed"


class Reason(StrEnum):
    """Why Pana offered a lawyer; lawyers see it on the case."""

    ASKED = "a"
    URGENT = "u"
    NOT_UNDERSTOOD = "f"


class Direction(StrEnum):
    TO_LAWYER = "to_lawyer"
    TO_USER = "to_user"


class RelayKind(StrEnum):
    MESSAGE = "message"  # written by the user or the lawyer; shown with who wrote it
    NOTICE = "notice"  # Pana telling the user about their case (already in their language)
    CLOSED = "closed"  # the case was closed: the notice, with the rating options


class RelayStatus(StrEnum):
    PENDING = "pending"  # stored, not yet accepted by the channel (retried)
    SENT = "sent"  # accepted by the channel
    FAILED = "failed"  # gave up after the last attempt; the sender was told


class DeliveryState(StrEnum):
    """How far a message to the person got, as the console shows it; stored on the relay."""

    QUEUED = "queued"  # stored, or handed to the channel but not yet on its way (WhatsApp: Twilio queued it)
    SENT = "sent"  # the platform took it (Telegram: sendMessage succeeded; bots get no receipts beyond this)
    DELIVERED = "delivered"  # WhatsApp only: it reached the phone
    READ = "read"  # WhatsApp only: the person opened it (when their read receipts are on)
    FAILED = "failed"  # given up: the relay's tries ran out, or Twilio reported failed/undelivered


# A state is recorded only over a lower one, so late or repeated callbacks never move it backwards. The ranks
# mirror Twilio's (bot/records/whatsapp.py): delivered and failed are both an end of the road for a message and
# neither replaces the other; only "read" comes after them.
DELIVERY_RANK = {
    DeliveryState.QUEUED: 1,
    DeliveryState.SENT: 2,
    DeliveryState.DELIVERED: 3,
    DeliveryState.FAILED: 3,
    DeliveryState.READ: 4,
}

# The cities a person may name when asking for a lawyer (nothing more precise is asked); "other" is any other.
CITIES = ("almaty", "astana", "shymkent", "other")


@dataclass(frozen=True, slots=True)
class LawyerRecord:
    id: int
    telegram_id: int | None  # None: a lawyer who works only on the web console
    name: str
    languages: tuple[Language, ...]
    active: bool
    current_case_id: int | None = None

    @property
    def ui_language(self) -> Language:
        """Lawyers read Pana's own messages in the first language they were registered with."""
        return self.languages[0] if self.languages else FALLBACK_LANGUAGE


@dataclass(frozen=True, slots=True)
class CaseRecord:
    id: int  # the case number people see ("#12")
    contact_id: int
    channel: str
    platform_id: str
    language: Language
    topic: str | None
    urgent: bool
    reason: Reason
    summary: str
    status: CaseStatus
    lawyer_id: int | None
    created_at: dt.datetime
    assigned_at: dt.datetime | None
    lawyer_active_at: dt.datetime | None
    announced_at: dt.datetime | None
    closed_at: dt.datetime | None
    outcome: str | None
    rating: int | None
    city: str | None = None  # one of CITIES, when the person chose to say


@dataclass(frozen=True, slots=True)
class NewCase:
    contact_id: int
    language: Language
    topic: str | None
    urgent: bool
    reason: Reason
    summary: str


@dataclass(frozen=True, slots=True)
class RelayRecord:
    """One message passed between a user and a lawyer, with its delivery state."""

    id: int
    case_id: int
    direction: Direction
    kind: RelayKind
    text: str
    lawyer_id: int | None
    status: RelayStatus
    attempts: int
    delivery: DeliveryState | None = None  # None until the channel took it or it failed
    error_code: int | None = None  # WhatsApp: Twilio's code for a failure
