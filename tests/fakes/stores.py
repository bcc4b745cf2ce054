"""The core's ConversationStore in memory, with the record's rules (one stored copy per platform message)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from bot.core.messages import IncomingMessage
from bot.core.ports import Accepted, ContactRecord, Redelivery, TurnRecord, Unanswered
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
    parts_sent: int = 0
    lease_until: dt.datetime | None = None
    incoming: IncomingMessage | None = None


@dataclass
class MemoryConversationStore:
    contacts: dict[int, ContactRecord] = field(default_factory=dict)
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    tombstones: dict[tuple[str, str], Language] = field(default_factory=dict)  # (channel, message id) -> language
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def accept(self, message: IncomingMessage, text: str, *, lease_until: dt.datetime) -> Accepted:
        if message.channel_message_id and (gone := await self.forgotten(message.channel, message.channel_message_id)):
            return Accepted(None, None, forgotten=gone)
        contact = await self.get_or_create_contact(message.channel, message.user_id)
        return Accepted(contact, await self.record_inbound(contact.id, message, text, lease_until=lease_until))

    async def get_or_create_contact(self, channel: str, platform_id: str) -> ContactRecord:
        for contact in self.contacts.values():
            if (contact.channel, contact.platform_id) == (channel, platform_id):
                return contact
        contact = ContactRecord(len(self.contacts) + 1, channel, platform_id, None, False)
        self.contacts[contact.id] = contact
        return contact

    async def set_language(self, contact_id: int, language: Language, *, chosen: bool) -> None:
        self.contacts[contact_id] = replace(self.contacts[contact_id], language=language, language_chosen=chosen)

    async def record_inbound(
        self, contact_id: int, message: IncomingMessage, text: str, *, lease_until: dt.datetime
    ) -> int | None:
        channel_message_id = message.channel_message_id
        if channel_message_id is not None and self._find(contact_id, channel_message_id) is not None:
            return None
        stored = StoredMessage(0, contact_id, "in", text, channel_message_id, lease_until=lease_until)
        stored.incoming = replace(message, text=text)
        return self._add(stored)

    async def redelivery(self, contact_id: int, channel_message_id: str) -> Redelivery | None:
        found = self._find(contact_id, channel_message_id)
        return None if found is None else Redelivery(found.id, found.answered, found.turn, found.parts_sent)

    async def take(self, message_id: int, now: dt.datetime, until: dt.datetime) -> bool:
        stored = self.messages.get(message_id)
        if stored is None or stored.answered or (stored.lease_until is not None and stored.lease_until > now):
            return False
        stored.lease_until = until
        return True

    async def release(self, message_id: int) -> None:
        if message_id in self.messages:
            self.messages[message_id].lease_until = None

    async def record_turn(self, message_id: int, contact_id: int, record: TurnRecord) -> bool:
        stored = self.messages.get(message_id)
        if stored is None or stored.turn is not None or stored.answered:
            return False
        stored.intent, stored.confidence, stored.language = record.intent, record.confidence, record.language
        stored.turn, stored.parts_sent = record.turn, 0
        contact = self.contacts[contact_id]
        if record.contact_language is not None and not contact.language_chosen:
            self.contacts[contact_id] = replace(contact, language=record.contact_language)
        for text in record.replies:
            self._add(StoredMessage(0, contact_id, "out", text, intent=record.intent, language=record.language))
        return True

    async def mark_sent(self, message_id: int, parts_sent: int, lease_until: dt.datetime) -> None:
        self.messages[message_id].parts_sent = parts_sent
        self.messages[message_id].lease_until = lease_until

    async def mark_answered(self, message_id: int) -> None:
        if message_id in self.messages:
            stored = self.messages[message_id]
            stored.answered, stored.turn, stored.lease_until = True, None, None

    async def unanswered(
        self, channels: Sequence[str], *, stored_after: dt.datetime, stored_before: dt.datetime, now: dt.datetime
    ) -> list[Unanswered]:
        """Every unanswered platform message nobody holds (the fake keeps no timestamps)."""
        return [
            Unanswered(m.id, replace(m.incoming, user_id=self.contacts[m.contact_id].platform_id))
            for m in self.messages.values()
            if m.incoming is not None
            and m.channel_message_id is not None
            and not m.answered
            and (m.lease_until is None or m.lease_until <= now)
            and self.contacts[m.contact_id].channel in channels
        ]

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
