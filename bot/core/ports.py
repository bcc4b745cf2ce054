"""What the conversation core needs from the outside world, as Protocols.

The composition root (bot/app.py) supplies implementations; tests may supply their own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from bot.content.schema import Directory, Menu, Organisation, TopicEntry
from bot.core.messages import IncomingMessage, Reply, Turn
from bot.languages import Language

__all__ = [
    "Accepted",
    "Classification",
    "ContactRecord",
    "ContentCatalog",
    "ConversationStore",
    "Dialogue",
    "Handoff",
    "HandoffOutcome",
    "HandoffReason",
    "IntentClassifier",
    "IntentScore",
    "Redelivery",
    "StateStore",
    "TurnRecord",
    "Unanswered",
    "UnansweredMessages",
]


@dataclass(frozen=True, slots=True)
class IntentScore:
    name: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Classification:
    """What the NLU made of one text: the ranking, best first."""

    ranking: tuple[IntentScore, ...]

    @property
    def top(self) -> IntentScore | None:
        return self.ranking[0] if self.ranking else None


class Dialogue(Protocol):
    """What a channel adapter calls: one message in, one Turn out, then confirm the replies went out."""

    async def handle(self, message: IncomingMessage) -> Turn:
        """Record the message and decide the replies; `Turn.outcome` says whether to send them."""
        ...

    async def progress(self, turn: Turn, parts_sent: int) -> None:
        """The first `parts_sent` messages of the turn went out (a channel that sends part by part)."""
        ...

    async def unsent(self, turn: Turn) -> None:
        """Sending failed: a redelivery (or the recovery sweep) may send the rest at once."""
        ...

    async def delivered(self, turn: Turn) -> None:
        """The channel sent the turn's replies (or queued them durably): a redelivery gets no second answer."""
        ...


class IntentClassifier(Protocol):
    async def classify(self, text: str) -> Classification:
        """Rank the intents for a text; raise NluUnavailable when that cannot be done in time."""
        ...


@dataclass(frozen=True, slots=True)
class ContactRecord:
    id: int
    channel: str
    platform_id: str
    language: Language | None
    language_chosen: bool


@dataclass(frozen=True, slots=True)
class Redelivery:
    """A platform message that was stored before: answered already, or with replies still to send."""

    message_id: int
    answered: bool
    turn: str | None  # the replies decided for it (JSON), kept until a channel sent them
    parts_sent: int = 0  # how many of its messages a channel that sends part by part has sent


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """What `record_turn` writes in one transaction: what was understood and the replies decided."""

    intent: str | None
    confidence: float | None
    language: Language
    replies: Sequence[str]  # stored as outbound messages
    turn: str  # the whole turn (JSON), kept with the inbound message until a channel sent it
    # The language learned for a person who has not chosen one: stored with the decision, not in a commit of its own.
    contact_language: Language | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    """What `accept` found and stored in its one transaction.

    `forgotten` is set (and nothing stored) for a message of a person who deleted their data; otherwise
    `contact` is the person (created when new) and `message_id` the stored message, None for a redelivery.
    """

    contact: ContactRecord | None
    message_id: int | None
    forgotten: Language | None = None


class ConversationStore(Protocol):
    """The durable record: contacts, conversations, messages.

    A turn is three commits: `accept` stores the inbound message first (persist first, with a lease: this
    process handles it), `record_turn` writes the decision in one transaction, and `mark_answered` once the
    replies went out. A crash leaves each of them whole or not at all.
    """

    async def accept(self, message: IncomingMessage, text: str, *, lease_until: dt.datetime) -> Accepted:
        """In one transaction: the tombstone check, the person (created when new), the message held until
        `lease_until` (see `record_inbound`)."""
        ...

    async def get_or_create_contact(self, channel: str, platform_id: str) -> ContactRecord: ...

    async def set_language(self, contact_id: int, language: Language, *, chosen: bool) -> None: ...

    async def record_inbound(
        self, contact_id: int, message: IncomingMessage, text: str, *, lease_until: dt.datetime
    ) -> int | None:
        """Store a message, held by this process until `lease_until`; None if it was stored before (a redelivery)."""
        ...

    async def redelivery(self, contact_id: int, channel_message_id: str) -> Redelivery | None: ...

    async def take(self, message_id: int, now: dt.datetime, until: dt.datetime) -> bool:
        """Hold an unanswered message until `until`; False when it is answered or another process holds it."""
        ...

    async def release(self, message_id: int) -> None:
        """Let go of a message before the lease ends (handling failed): a redelivery may take it at once."""
        ...

    async def record_turn(self, message_id: int, contact_id: int, record: TurnRecord) -> bool:
        """Store the decision for a message in one transaction; False when it was decided before."""
        ...

    async def mark_sent(self, message_id: int, parts_sent: int, lease_until: dt.datetime) -> None:
        """Progress of a part-by-part send; the lease is renewed with it."""
        ...

    async def mark_answered(self, message_id: int) -> None: ...

    async def delete_contact(self, contact_id: int) -> None:
        """Delete the person; their platform message ids stay only as keyed hashes for the dedupe window."""
        ...

    async def forgotten(self, channel: str, channel_message_id: str) -> Language | None:
        """For a platform message of a person whose data was deleted: the language to say so in; else None."""
        ...


@dataclass(frozen=True, slots=True)
class Unanswered:
    """A message stored but not answered: what the recovery sweeper hands back to its channel."""

    message_id: int
    message: IncomingMessage


class UnansweredMessages(Protocol):
    async def unanswered(
        self, channels: Sequence[str], *, stored_after: dt.datetime, stored_before: dt.datetime, now: dt.datetime
    ) -> list[Unanswered]:
        """Platform messages stored in that period, not answered, and held by no process; oldest first."""
        ...


class StateStore(Protocol):
    """Short-lived dialogue state that may be lost (pending confirmations, failure counts)."""

    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def set(self, key: str, value: dict[str, Any], ttl_seconds: int) -> None: ...

    async def delete(self, key: str) -> None: ...


HandoffReason = Literal["asked", "urgent", "not_understood"]


@dataclass(frozen=True, slots=True)
class HandoffOutcome:
    replies: tuple[Reply, ...]
    case_id: str | None = None
    # The payloads a typed "yes" / "no" stands for, when the replies end with such a question (consent).
    confirm: tuple[str, str] | None = None


class Handoff(Protocol):
    """The seam to the lawyer queue."""

    async def request(
        self,
        contact: ContactRecord,
        language: Language,
        *,
        topic: str | None,
        urgent: bool,
        reason: HandoffReason = "asked",
    ) -> HandoffOutcome:
        """The person asked for a lawyer (or needs one): their open case's status, or what happens next."""
        ...

    async def choose(self, contact: ContactRecord, language: Language, payload: str) -> HandoffOutcome:
        """One of the handoff's own options was picked (a `payloads.CASE` payload: consent, a rating)."""
        ...

    async def route(
        self,
        contact: ContactRecord,
        language: Language,
        text: str,
        attachment: str | None,
        *,
        message_id: int | None = None,
    ) -> HandoffOutcome | None:
        """Take a message that belongs to a case (for the lawyer holding it); None lets the core answer it.

        The relay is keyed by `message_id`: a message decided again after a crash reaches the lawyer once.
        """
        ...


class ContentCatalog(Protocol):
    """The validated content (bot/content/catalog.py): what the core answers from."""

    @property
    def topics(self) -> Mapping[str, TopicEntry]: ...

    @property
    def directory(self) -> Directory: ...

    @property
    def menu(self) -> Menu: ...

    def is_topic(self, intent: str) -> bool: ...

    def is_urgent(self, intent: str) -> bool: ...

    def organisations(self, kinds: tuple[str, ...], city: str | None = None) -> list[Organisation]:
        """Organisations of the given kinds; with a city, those there plus the ones serving everyone."""
        ...


class LawyerAvailability(Protocol):
    """The seam to the lawyers' roster and hours: what is true now about reaching a lawyer."""

    async def sentence(self, language: Language) -> str:
        """One sentence: lawyers at work now, from when they are, or none registered."""
        ...
