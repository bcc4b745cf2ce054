"""What the case queue needs from the channels: sending to a user, and writing to lawyers in Telegram.

Each channel that can reach its users outside a reply implements `UserSender`; the composition root
registers it under the channel's name (see `Outbox.register_sender`). Lawyers work in Telegram, so
`LawyerNotifier` has one implementation, in bot/channels/telegram/lawyers.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol

from bot.core.messages import Language, Option, Reply
from bot.core.ports import ContactRecord

Clock = Callable[[], dt.datetime]  # returns an aware UTC moment; tests move it forward


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UserSender(Protocol):
    async def send(
        self, contact: ContactRecord, text: str, language: Language, options: tuple[Option, ...] = ()
    ) -> bool:
        """Hand a text to the channel for this contact, whenever it is; False means "try again later".

        True means the channel accepted it for delivery: WhatsApp may hold it until the person writes
        again (the 24-hour window) and send the approved template meanwhile.
        """
        ...


class LawyerNotifier(Protocol):
    async def send(self, chat_id: int, reply: Reply) -> tuple[str, ...]:
        """Write to a lawyer's chat (or the lawyers' group): the ids of the messages sent, none on failure.

        A long text may take several messages; a lawyer may answer any of them.
        """
        ...
