"""The core's Handoff port, recording what it was asked; it answers like a queue with no lawyer working."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.messages import Reply
from bot.core.ports import ContactRecord, HandoffOutcome, HandoffReason
from bot.languages import Language

CONSENT = ("case:consent:yes", "case:consent:no")


@dataclass
class Request:
    contact_id: int
    language: Language
    topic: str | None
    urgent: bool
    reason: HandoffReason


@dataclass
class RecordingHandoff:
    """Each request asks for consent (a yes/no question); a chosen payload and routed texts are recorded."""

    requests: list[Request] = field(default_factory=list)
    chosen: list[str] = field(default_factory=list)
    holding: set[int] = field(default_factory=set)  # contacts whose messages a lawyer holds
    routed: list[str] = field(default_factory=list)

    async def request(
        self,
        contact: ContactRecord,
        language: Language,
        *,
        topic: str | None,
        urgent: bool,
        reason: HandoffReason = "asked",
    ) -> HandoffOutcome:
        self.requests.append(Request(contact.id, language, topic, urgent, reason))
        return HandoffOutcome((Reply("May a lawyer read this conversation?"),), confirm=CONSENT)

    async def choose(self, contact: ContactRecord, language: Language, payload: str) -> HandoffOutcome:
        self.chosen.append(payload)
        return HandoffOutcome((Reply(f"chosen {payload}"),), case_id="1")

    async def route(
        self,
        contact: ContactRecord,
        language: Language,
        text: str,
        attachment: str | None,
        *,
        message_id: int | None = None,
    ) -> HandoffOutcome | None:
        if contact.id not in self.holding:
            return None
        self.routed.append(text)
        return HandoffOutcome((), case_id="1")
