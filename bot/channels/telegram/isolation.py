"""One update per chat at a time: the in-process lock, and the times of the shared one (`gate.py`).

aiogram's Redis lock would fail every update while Redis is unreachable; the shared one falls back to this
in-process lock (the same health flag as the state store: one warning, retried every few seconds).

aiogram's lock also holds a chat for 60 s: a process killed during an update kept that chat's next update
(Telegram's redelivery included) waiting for up to a minute. The shared lock is short and renewed while the
update runs, so a dead holder frees the chat within `LOCK_SECONDS`, and a wait is bounded.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from aiogram.dispatcher.middlewares.user_context import EVENT_CONTEXT_KEY, EventContext
from aiogram.fsm.storage.base import DEFAULT_DESTINY, BaseEventIsolation, StorageKey

from bot.channels.locks import KeyedLocks
from bot.errors import InFlight

log = logging.getLogger(__name__)

# As the person locks (bot/storage/locks.py): a turn takes far less; a dead holder frees the chat within this.
LOCK_SECONDS = 10.0
# Then the update fails with a 503 and Telegram delivers it again: PANA_PERSON_WAIT_SECONDS, one wait for every
# channel, kept under Twilio's 15 s webhook timeout (Telegram waits about 60 s).
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.1  # aiogram's own poll: waiting for a chat is rare


def chat_key(bot_id: int, data: dict[str, Any]) -> StorageKey | None:
    """The key aiogram's FSM middleware gave an update's chat (its default strategy, a user in a chat); None
    for an update without a user (a poll's answer, a channel post).

    aiogram's FSM is switched off (Pana keeps no state in it), and with it the middleware that named the chat
    and took its lock on every update: the lock's key is made here, the same as before, so the Redis lock's
    key does not change and processes of the previous version hold the same chats.
    """
    context = data.get(EVENT_CONTEXT_KEY)
    if not isinstance(context, EventContext):
        return None
    user_id = context.user_id
    chat_id = context.chat_id if context.chat_id is not None else user_id
    if chat_id is None or user_id is None:
        return None
    return StorageKey(
        bot_id=bot_id,
        chat_id=chat_id,
        user_id=user_id,
        thread_id=None,
        business_connection_id=context.business_connection_id,
        destiny=DEFAULT_DESTINY,
    )


def local_isolation(wait_seconds: float = WAIT_SECONDS) -> BaseEventIsolation:
    """One update per chat at a time within this process, waiting at most `wait_seconds`: one process, no Redis."""
    return LocalEventIsolation(wait_seconds)


class ChatBusy(InFlight):
    """The chat's previous update was still being handled after WAIT_SECONDS: a 503, Telegram delivers it again."""


class Availability(Protocol):
    def worth_trying(self) -> bool: ...

    def failed(self, error: BaseException) -> None: ...

    def succeeded(self) -> None: ...


class LocalEventIsolation(BaseEventIsolation):
    """One update per chat within this process, waiting at most `wait_seconds`, then `PersonBusy` (a 503).

    aiogram's SimpleEventIsolation waits as long as the chat's previous update takes.
    """

    def __init__(self, wait_seconds: float = WAIT_SECONDS) -> None:
        self._locks = KeyedLocks(wait_seconds)

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        async with self._locks.hold(repr(key)):  # in this process only: the chat id never leaves it
            yield

    async def close(self) -> None:
        """Nothing to close: the locks go with the process."""
