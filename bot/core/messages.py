"""The values that cross the boundary between channels and the conversation core."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bot.languages import Language

__all__ = ["IncomingMessage", "Option", "Outcome", "Reply", "Turn"]


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """One message from a user, whatever the channel.

    `payload` is set instead of (or with) `text` when the user picked an option (a button, a number).
    `language_hint` is what the platform says about the user's language (Telegram's language_code).
    """

    channel: str
    user_id: str
    text: str = ""
    payload: str | None = None
    language_hint: str | None = None
    attachment: str | None = None  # kind of non-text content: voice, photo, document, sticker, location
    channel_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class Option:
    """A quick reply: what the user sees and what comes back when they pick it."""

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to send: plain text (channels format it) and optional quick replies."""

    text: str
    options: tuple[Option, ...] = ()


class Outcome(Enum):
    """What a channel does with a Turn: send its replies, or nothing (and why)."""

    ANSWERED = "answered"  # replies decided now: send them, then confirm with `delivered`
    REPLAYED = "replayed"  # a redelivered message whose replies were never confirmed: send them again
    DUPLICATE = "duplicate"  # answered before: send nothing
    DELETED = "deleted"  # the person's data was deleted: send the replies, forget what the channel keeps
    UNSTORED = "unstored"  # the record is unreachable: send the static replies without storing anything


@dataclass(frozen=True, slots=True)
class Turn:
    """Everything the core decided for one incoming message."""

    language: Language
    replies: tuple[Reply, ...]
    intent: str | None = None
    confidence: float | None = None
    topic: str | None = None
    handoff: str | None = None  # a case id once a lawyer queue holds one
    outcome: Outcome = Outcome.ANSWERED
    message_id: int | None = None  # the stored inbound message; channels confirm delivery with it
    parts_sent: int = 0  # messages of this turn sent before (a replay goes on from there)
