"""Messages Pana sends on Telegram outside a reply: to a user (a lawyer's answer) and to lawyers."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import CallbackQuery

from bot.channels.telegram.render import as_html, keyboard, split_text
from bot.core.messages import Option, Outcome, Reply, Turn
from bot.core.ports import ContactRecord, Dialogue
from bot.faults import crash_point
from bot.languages import Language

log = logging.getLogger(__name__)


async def send_parts(bot: Bot, chat_id: int | str, text: str, options: tuple[Option, ...]) -> tuple[str, ...]:
    """Send a text in as many messages as it needs, the options under the last; the ids sent."""
    parts = split_text(text)
    sent = []
    for index, part in enumerate(parts):
        markup = keyboard(options, token=bot.token, chat_id=chat_id) if index == len(parts) - 1 else None
        message = await bot.send_message(chat_id, as_html(part), reply_markup=markup)
        sent.append(str(message.message_id))
    return tuple(sent)


def turn_parts(turn: Turn) -> list[tuple[str, tuple[Option, ...]]]:
    """The messages a turn takes on Telegram, in order; each reply's options go under its last part."""
    parts: list[tuple[str, tuple[Option, ...]]] = []
    for reply in turn.replies:
        texts = split_text(reply.text)
        parts += [(text, reply.options if index == len(texts) - 1 else ()) for index, text in enumerate(texts)]
    return parts


async def send_turn(bot: Bot, conversation: Dialogue, chat_id: int | str, turn: Turn) -> None:
    """Send a stored turn's messages not sent yet, marking each as it goes; then confirm the turn.

    A part sent but not yet marked when the process dies is the one message that can come twice; Telegram
    offers no idempotency key to prevent it. On failure the message is let go at once for a retry.

    The last part is marked by confirming the whole turn: one commit where progress and then the confirmation
    took two, with the same window (between the send and the commit) for a duplicate.
    """
    if turn.outcome is Outcome.DUPLICATE:
        return
    parts = turn_parts(turn)
    try:
        for index, (text, options) in enumerate(parts):
            if index < turn.parts_sent:
                continue  # went out before a crash or a failed send
            await bot.send_message(
                chat_id, as_html(text), reply_markup=keyboard(options, token=bot.token, chat_id=chat_id)
            )
            if index == len(parts) - 1:
                break  # confirmed below, with the turn
            await conversation.progress(turn, index + 1)
            crash_point("after_part_sent")
    except BaseException:
        await conversation.unsent(turn)
        raise
    await conversation.delivered(turn)
    crash_point("after_part_sent")  # the last part: the kill the chain makes here finds it confirmed
    crash_point("before_answered")


async def acknowledge(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Stop the button's spinner. Telegram refuses a second or late answer (a redelivered update): no matter."""
    with contextlib.suppress(TelegramBadRequest):
        await query.answer(text, show_alert=alert)


class TelegramUserSender:
    """The `UserSender` of Telegram users: the chat id is the contact's platform id."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(
        self,
        contact: ContactRecord,
        text: str,
        language: Language,
        options: tuple[Option, ...] = (),
        *,
        relay_id: int | None = None,
    ) -> bool:
        try:
            return bool(await send_parts(self._bot, contact.platform_id, text, options))
        except TelegramAPIError as error:  # blocked, chat gone, Telegram away after the retries: try later
            log.warning("Telegram message to contact %d not delivered: %s", contact.id, type(error).__name__)
            return False


class TelegramLawyerNotifier:
    """The `LawyerNotifier`: lawyers' private chats and the lawyers' group."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(self, chat_id: int, reply: Reply) -> tuple[str, ...]:
        try:
            return await send_parts(self._bot, chat_id, reply.text, reply.options)
        except TelegramAPIError as error:  # e.g. the lawyer never pressed Start: Telegram forbids writing first
            log.warning("Telegram message to a lawyers' chat not delivered: %s", type(error).__name__)
            return ()

    async def delete(self, chat_id: int, message_id: str) -> bool:
        try:
            await self._bot.delete_message(chat_id, int(message_id))
        except TelegramBadRequest:  # already gone, or older than Telegram lets a bot delete: nothing more to do
            return True
        except TelegramAPIError as error:
            log.warning("Deleting a message in a lawyers' chat failed: %s", type(error).__name__)
            return False
        return True
