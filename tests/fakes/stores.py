"""The core's ConversationStore in memory, with the record's rules (one stored copy per platform message)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

from bot.core.ports import ContactRecord, Redelivery
from bot.languages import FALLBACK_LANGUAGE, Language


@dataclass
class StoredMessage:
    id: int
    contact_id: int
    direction: str
    text: str
    channel_message_id: str | None = None
    intent: str | None = None
    confidence: float | None = None
    language: Language | None = None
    turn: str | None = None
    answered: bool = False


@dataclass
class MemoryConversationStore:
    contacts: dict[int, ContactRecord] = field(default_factory=dict)
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    tombstones: dict[tuple[str, str], Language] = field(default_factory=dict)  # (channel, message id) -> language
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def get_or_create_contact(self, channel: str, platform_id: str) -> ContactRecord:
        for contact in self.contacts.values():
            if (contact.channel, contact.platform_id) == (channel, platform_id):
                return contact
        contact = ContactRecord(len(self.contacts) + 1, channel, platform_id, None, False)
        self.contacts[contact.id] = contact
        return contact

    async def set_language(self, contact_id: int, language: Language, *, chosen: bool) -> None:
        self.contacts[contact_id] = replace(self.contacts[contact_id], language=language, language_chosen=chosen)

    async def record_inbound(self, contact_id: int, text: str, *, channel_message_id: str | None = None) -> int | None:
        if channel_message_id is not None and self._find(contact_id, channel_message_id) is not None:
            return None
        return self._add(StoredMessage(0, contact_id, "in", text, channel_message_id))

    async def redelivery(self, contact_id: int, channel_message_id: str) -> Redelivery | None:
        found = self._find(contact_id, channel_message_id)
        return None if found is None else Redelivery(found.id, found.answered, found.turn)

    async def keep_turn(self, message_id: int, turn: str) -> None:
        self.messages[message_id].turn = turn

    async def mark_answered(self, message_id: int) -> None:
        self.messages[message_id].answered = True
        self.messages[message_id].turn = None

    async def annotate(
        self, message_id: int, *, intent: str | None, confidence: float | None, language: Language
    ) -> None:
        stored = self.messages[message_id]
        stored.intent, stored.confidence, stored.language = intent, confidence, language

    async def record_outbound(self, contact_id: int, text: str, *, intent: str | None, language: Language) -> int:
        return self._add(StoredMessage(0, contact_id, "out", text, intent=intent, language=language))

    async def delete_contact(self, contact_id: int) -> None:
        contact = self.contacts.pop(contact_id, None)
        if contact is not None:
            for message in self.messages.values():
                if message.contact_id == contact_id and message.channel_message_id is not None:
                    key = (contact.channel, message.channel_message_id)
                    self.tombstones[key] = contact.language or FALLBACK_LANGUAGE
        self.messages = {k: m for k, m in self.messages.items() if m.contact_id != contact_id}

    async def forgotten(self, channel: str, channel_message_id: str) -> Language | None:
        return self.tombstones.get((channel, channel_message_id))

    def _add(self, message: StoredMessage) -> int:
        message.id = next(self._ids)
        self.messages[message.id] = message
        return message.id

    def _find(self, contact_id: int, channel_message_id: str) -> StoredMessage | None:
        return next(
            (
                m
                for m in self.messages.values()
                if (m.contact_id, m.channel_message_id) == (contact_id, channel_message_id)
            ),
            None,
        )
