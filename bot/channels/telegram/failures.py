"""An update whose handling keeps failing is acknowledged after a few attempts, never redelivered forever.

Telegram redelivers an update until the webhook answers 2xx, and holds every later update of that chat
behind it. A failure that repeats (a bug, bad data) would loop and silence the person for good: after
`max_attempts` failures of the same update the person gets a polite note, the failure is logged with
the update id (never its text), and the update is acknowledged.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from aiogram import Bot
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Update

from bot.channels.telegram.render import as_html
from bot.i18n import N_, Translator
from bot.languages import FALLBACK_LANGUAGE, normalise_language_code

log = logging.getLogger(__name__)

COUNT_TTL_SECONDS = 24 * 3600  # Telegram stops redelivering long before this
GAVE_UP = N_(
    "Sorry, something went wrong with your last message and I could not answer it. "
    "Please write it again in other words, or press /menu."
)


class Counter(Protocol):
    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def set(self, key: str, value: dict[str, Any], ttl_seconds: int) -> None: ...


class RepeatedFailures:
    def __init__(self, counts: Counter, bot_id: int, max_attempts: int, translator: Translator) -> None:
        self._counts = counts
        self._prefix = f"telegram:failures:{bot_id}:"
        self.max_attempts = max_attempts
        self._translator = translator
        self.given_up = 0  # since start: reported by /healthz

    async def failed(self, update_id: int) -> bool:
        """Count one failed attempt; True when the update should now be acknowledged and given up."""
        key = f"{self._prefix}{update_id}"
        try:
            attempts = int(((await self._counts.get(key)) or {}).get("attempts", 0)) + 1
            await self._counts.set(key, {"attempts": attempts}, COUNT_TTL_SECONDS)
        except Exception:  # the count is a safeguard; without it, Telegram's own redelivery still applies
            log.warning("Could not count a failed attempt of Telegram update %d", update_id, exc_info=True)
            return False
        return attempts >= self.max_attempts

    async def give_up(self, bot: Bot, update: Update) -> None:
        """Tell the person (in a private chat only) and record that the update was dropped."""
        self.given_up += 1
        log.error(
            "Telegram update %d failed %d times; acknowledged without an answer", update.update_id, self.max_attempts
        )
        chat_id, language = _person(update)
        if chat_id is None:
            return
        text = self._translator.gettext(GAVE_UP, normalise_language_code(language) or FALLBACK_LANGUAGE)
        try:
            await bot.send_message(chat_id, as_html(text))
        except TelegramAPIError:
            log.warning("The note about update %d could not be sent", update.update_id)


def _person(update: Update) -> tuple[int | None, str | None]:
    """The private chat an update came from, and its sender's language; None for groups and the rest."""
    message = update.message or update.edited_message
    if message is not None and message.chat.type == ChatType.PRIVATE:
        return message.chat.id, message.from_user.language_code if message.from_user else None
    query = update.callback_query
    if query is not None and query.message is not None and query.message.chat.type == ChatType.PRIVATE:
        return query.message.chat.id, query.from_user.language_code
    return None, None
