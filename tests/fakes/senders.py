"""The handoff's ways out (bot/handoff/ports.py), recording what they were given."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.messages import Option, Reply
from bot.core.ports import ContactRecord
from bot.languages import Language


@dataclass
class RecordingNotifier:
    """A LawyerNotifier: what was written to which lawyer's chat, each given a message id."""

    sent: list[tuple[int, str]] = field(default_factory=list)
    fail: bool = False  # True: Telegram refuses every message (nothing is sent)
    deleted: list[tuple[int, str]] = field(default_factory=list)

    async def send(self, chat_id: int, reply: Reply) -> tuple[str, ...]:
        if self.fail:
            return ()
        self.sent.append((chat_id, reply.text))
        return (str(len(self.sent)),)

    async def delete(self, chat_id: int, message_id: str) -> bool:
        self.deleted.append((chat_id, message_id))
        return True


@dataclass
class RecordingSender:
    """A UserSender that accepts everything."""

    sent: list[tuple[str, str, tuple[Option, ...]]] = field(default_factory=list)

    async def send(
        self,
        contact: ContactRecord,
        text: str,
        language: Language,
        options: tuple[Option, ...] = (),
        *,
        relay_id: int | None = None,
    ) -> bool:
        self.sent.append((contact.platform_id, text, options))
        return True
